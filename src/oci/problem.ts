// One fault in a config or process document: where (a JSON pointer) and what.

export interface Problem {
  /** RFC 6901 JSON pointer into the document, e.g. "/process/args"; "" is the root. */
  pointer: string;
  /** What is wrong, naming the rule: "must be an integer", "is required", ... */
  message: string;
}

/** Escapes one reference token of a JSON pointer ("~" -> "~0", "/" -> "~1"). */
export function escapeToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Builds a JSON pointer from tokens: pointer('linux', 'namespaces', 2) -> "/linux/namespaces/2". */
export function pointer(...tokens: (string | number)[]): string {
  return tokens.map((t) => '/' + escapeToken(t)).join('');
}

export function problem(ptr: string, message: string): Problem {
  return { pointer: ptr, message };
}

function tokens(ptr: string): string[] {
  return ptr === '' ? [] : ptr.slice(1).split('/');
}

const INDEX = /^(0|[1-9][0-9]*)$/;

/** Orders pointers token by token, array indices numerically: /a/2 < /a/10 < /b. */
export function comparePointers(a: string, b: string): number {
  const ta = tokens(a);
  const tb = tokens(b);
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x === y) continue;
    if (INDEX.test(x) && INDEX.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}

/** Sorts problems by pointer (stable: problems at one pointer keep their order). */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((x, y) => comparePointers(x.p.pointer, y.p.pointer) || x.i - y.i)
    .map(({ p }) => p);
}
