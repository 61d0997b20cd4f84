// Where a JSON text stops being JSON (RFC 8259), found by hako itself: the engines' own
// JSON.parse errors differ (V8 gives a position, JavaScriptCore under Bun none), and
// `validate` must name the line and column either way. Used only once JSON.parse failed.

export interface JsonSyntaxError {
  /** what is wrong, e.g. "expected ',' or '}' after a property value, found '\"'" */
  reason: string;
  /** UTF-16 offset of the offending character (text.length at the end of input) */
  offset: number;
  /** 1-based */
  line: number;
  /** 1-based, in characters from the start of the line */
  column: number;
}

class Stop {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {}
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** The first syntax error in text, or undefined when text is one valid JSON value. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const found = (ch: string | undefined): string => (ch === undefined ? 'the end of the input' : `'${ch}'`);
  const fail = (what: string): never => {
    throw new Stop(`${what}, found ${found(text[i])}`, i);
  };
  const skipWs = (): void => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) fail(`expected '${word}'`);
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      const ch = text[i];
      if (ch === undefined) fail('unterminated string');
      if (ch === '"') {
        i++;
        return;
      }
      if (ch! < ' ') fail('control character in a string (escape it)');
      if (ch === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail('expected 4 hex digits after \\u');
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail('invalid escape in a string');
      }
      i++;
    }
  };
  const digits = (what: string): void => {
    if (!/[0-9]/.test(text[i] ?? '')) fail(what);
    while (/[0-9]/.test(text[i] ?? '')) i++;
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits('expected a digit');
    if (text[i] === '.') {
      i++;
      digits('expected a digit after the decimal point');
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits('expected a digit in the exponent');
    }
  };
  const value = (): void => {
    skipWs();
    const ch = text[i];
    if (ch === '{') return object();
    if (ch === '[') return array();
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    fail('expected a value');
  };
  const object = (): void => {
    i++;
    skipWs();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      skipWs();
      if (text[i] !== '"') fail('expected a property name in double quotes');
      string();
      skipWs();
      if (text[i] !== ':') fail("expected ':' after a property name");
      i++;
      value();
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return;
      }
      fail("expected ',' or '}' after a property value");
    }
  };
  const array = (): void => {
    i++;
    skipWs();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (;;) {
      value();
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return;
      }
      fail("expected ',' or ']' after an array element");
    }
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) fail('a byte order mark is not JSON');
    value();
    skipWs();
    if (i < text.length) fail('unexpected text after the JSON value');
    return undefined;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    const before = text.slice(0, err.offset);
    const lineStart = before.lastIndexOf('\n') + 1;
    return { reason: err.reason, offset: err.offset, line: before.split('\n').length, column: err.offset - lineStart + 1 };
  }
}

/** "<reason> at line L column C", or the engine's own message when no position is found. */
export function describeJsonError(text: string, err: unknown): string {
  let found: JsonSyntaxError | undefined;
  try {
    found = findJsonSyntaxError(text);
  } catch {
    // nesting too deep for this scanner: the engine's words alone
  }
  if (found) return `${found.reason} at line ${found.line} column ${found.column}`;
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
}
