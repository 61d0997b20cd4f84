// findJsonSyntaxError: hako's own line and column of a JSON syntax error (Bun's JSON.parse
// gives no position). Checked against the engine's JSON.parse: the same texts fail, and
// where V8 names a position ("at position N"), it is ours too.
import t from 'tap';
import { describeJsonError, findJsonSyntaxError } from '../../src/oci/json-syntax.js';
import { defaultSpec } from '../../src/oci/default-spec.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

t.test('known errors: reason, line, column', async (t) => {
  const cases: [string, string, number, number][] = [
    ['{\n  "ociVersion": "1.3.0",\n  }', "expected a property name in double quotes, found '}'", 3, 3],
    ['{"a" 1}', "expected ':' after a property name, found '1'", 1, 6],
    ['', 'expected a value, found the end of the input', 1, 1],
    ['{"a": tru}', "expected 'true', found '}'", 1, 10],
    ['[1,2', "expected ',' or ']' after an array element, found the end of the input", 1, 5],
    ['{"a":"x\n"}', "control character in a string (escape it), found '\n'", 1, 8],
    ['{} x', "unexpected text after the JSON value, found 'x'", 1, 4],
    ['{"a": 01}', "expected ',' or '}' after a property value, found '1'", 1, 8],
    ['{"a": "\\x"}', "invalid escape in a string, found 'x'", 1, 9],
    ['{"a": "\\u12g4"}', "expected 4 hex digits after \\u, found 'g'", 1, 12],
    ['{"a": 1.}', "expected a digit after the decimal point, found '}'", 1, 9],
    ['{"a": -}', "expected a digit, found '}'", 1, 8],
    ['{"a": 1e}', "expected a digit in the exponent, found '}'", 1, 9],
    ['{"a": "b', 'unterminated string, found the end of the input', 1, 9],
    ['\r\n\t[\n\n  1,\n  ,\n]', "expected a value, found ','", 5, 3],
  ];
  for (const [text, reason, line, column] of cases) {
    t.notOk(parses(text), `JSON.parse refuses ${JSON.stringify(text)}`);
    t.same(findJsonSyntaxError(text), { reason, line, column, offset: findJsonSyntaxError(text)?.offset }, JSON.stringify(text));
  }
  t.equal(describeJsonError('{\n  "ociVersion": "1.3.0",\n  }', new SyntaxError('no position')), "expected a property name in double quotes, found '}' at line 3 column 3");
});

t.test('valid JSON has no error', async (t) => {
  for (const text of ['0', '-0.5e+10', '"\\u00e9\\n"', ' [ ] ', '{}', '[true,false,null,{"a":[1,{"b":"c"}]}]', JSON.stringify(defaultSpec(), null, 2)]) {
    t.equal(findJsonSyntaxError(text), undefined, text.slice(0, 40));
  }
});

// A seeded generator: reproducible mutations of a real config.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

t.test('mutated configs: an error exactly when JSON.parse fails, at V8\'s position when it gives one', async (t) => {
  const base = JSON.stringify(defaultSpec(), null, 2);
  const rand = rng(12);
  const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', '\n', ' ', 'a', '1', '-', '.', 'e', 't', '\u0001'];
  let failed = 0;
  let positioned = 0;
  for (let n = 0; n < 3000; n++) {
    let text = base;
    for (let k = 1 + Math.floor(rand() * 2); k > 0; k--) {
      const at = Math.floor(rand() * text.length);
      const op = rand();
      if (op < 0.4) text = text.slice(0, at) + text.slice(at + 1);
      else if (op < 0.8) text = text.slice(0, at) + alphabet[Math.floor(rand() * alphabet.length)] + text.slice(at);
      else text = text.slice(0, at) + alphabet[Math.floor(rand() * alphabet.length)] + text.slice(at + 1);
    }
    let v8: string | undefined;
    try {
      JSON.parse(text);
    } catch (err) {
      v8 = (err as Error).message;
    }
    const ours = findJsonSyntaxError(text);
    if ((v8 === undefined) !== (ours === undefined)) {
      t.fail(`JSON.parse ${v8 === undefined ? 'accepts' : 'refuses'} what hako says ${ours ? `fails at ${ours.offset}` : 'is valid'}: ${JSON.stringify(text)}`);
      continue;
    }
    if (v8 === undefined) continue;
    failed++;
    const m = /at position (\d+)/.exec(v8);
    if (!m) continue;
    positioned++;
    if (Number(m[1]) !== ours!.offset) t.fail(`V8 says position ${m[1]}, hako ${ours!.offset} (${ours!.reason}): ${JSON.stringify(text.slice(Math.max(0, ours!.offset - 20), ours!.offset + 20))}`);
  }
  t.ok(failed > 1000, `${failed} broken texts`);
  t.ok(positioned > 500, `${positioned} with V8's position`);
});
