// A seeded mutator of JSON documents for the fuzz tests (test/chaos/fuzz.test.ts): the
// same seed gives the same mutants, so a failure is replayed with HAKO_FUZZ_SEED=<seed>.
// Mutations of the tree (a value of another type, huge numbers, long strings, deep
// nesting, NUL bytes, path traversal, keys removed or added, long arrays) and of the
// text (invalid UTF-8, truncation, a flipped byte, a byte-order mark).

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** mulberry32: a small seeded PRNG, [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Path = (string | number)[];

function nodes(v: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((c, i) => nodes(c, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) nodes(v[k]!, [...at, k], out);
  return out;
}

function get(root: Json, p: Path): Json {
  let v = root;
  for (const k of p) v = (v as Record<string | number, Json>)[k]!;
  return v;
}

function set(root: Json, p: Path, value: Json | undefined): Json {
  if (p.length === 0) return value === undefined ? null : value;
  const parent = get(root, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const k = p[p.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete (parent as Record<string, Json>)[k as string];
  } else (parent as Record<string | number, Json>)[k] = value;
  return root;
}

const TRAVERSALS = ['../../../../etc/passwd', '/../../..', '..', 'a/../../b', '/proc/self/root/etc', '/', '', '.', './../x', '/sys/fs/cgroup', '/dev/sda'];
const NUMBERS = [1e308, -1e308, 2 ** 53 + 1, -2147483649, 4294967296, 2147483648, -1, 0, 0.5, -0.5, 1e-300, 18446744073709551616];

export interface Mutant {
  /** what was done, for the report */
  what: string[];
  bytes: Buffer;
}

export interface MutateOptions {
  /** allow a 50 MB string now and then */
  huge?: boolean;
}

/** One mutant of `base`: one to three mutations. */
export function mutate(base: Json, rand: () => number, opts: MutateOptions = {}): Mutant {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let doc = JSON.parse(JSON.stringify(base)) as Json;
  const what: string[] = [];
  const count = 1 + Math.floor(rand() * 3);
  let textual: string | undefined;
  const deep: { token: string; text: string }[] = [];
  for (let i = 0; i < count; i++) {
    const all = nodes(doc);
    const p = pick(all);
    const where = '/' + p.join('/');
    const v = get(doc, p);
    const kind = pick(['type', 'number', 'string', 'deep', 'nul', 'traversal', 'delete', 'add', 'empty', 'repeat', 'text'] as const);
    switch (kind) {
      case 'type': {
        const values: Json[] = [null, true, 0, -1, 'x', [], {}, [v], { v }];
        doc = set(doc, p, pick(values));
        break;
      }
      case 'number':
        doc = set(doc, p, pick(NUMBERS));
        break;
      case 'string': {
        const big = opts.huge && rand() < 0.02 ? 50 << 20 : pick([300, 5000, 70_000, 1 << 20]);
        doc = set(doc, p, 'A'.repeat(big));
        what.push(`string of ${big} at ${where}`);
        continue;
      }
      case 'deep': {
        // Spliced into the text at the end: the tree walks here would overflow on it.
        const depth = pick([50, 513, 600, 5000, 100_000]);
        const open = rand() < 0.5 ? '[' : '{"a":';
        deep.push({ token: `\u0001deep${deep.length}\u0001`, text: open.repeat(depth) + '"x"' + (open === '[' ? ']' : '}').repeat(depth) });
        doc = set(doc, p, deep[deep.length - 1]!.token);
        what.push(`nested ${depth} deep at ${where}`);
        continue;
      }
      case 'nul':
        doc = set(doc, p, typeof v === 'string' ? `${v.slice(0, 3)}\u0000${v.slice(3)}` : '\u0000');
        break;
      case 'traversal':
        doc = set(doc, p, pick(TRAVERSALS));
        break;
      case 'delete':
        if (p.length > 0) doc = set(doc, p, undefined);
        break;
      case 'add':
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) v[pick(['x', '', '__proto__', 'constructor', 'ociVersion'])] = pick([1, 'y', null, {}]);
        else if (Array.isArray(v)) v.push(pick([1, 'y', null, {}, []]));
        break;
      case 'empty':
        doc = set(doc, p, Array.isArray(v) ? [] : v !== null && typeof v === 'object' ? {} : '');
        break;
      case 'repeat':
        if (Array.isArray(v) && v.length > 0) doc = set(doc, p, Array.from({ length: pick([100, 10_000]) }, () => JSON.parse(JSON.stringify(v[0]!)) as Json));
        break;
      case 'text':
        textual = pick(['utf8', 'truncate', 'flip', 'bom']);
        break;
    }
    what.push(`${kind} at ${where}`);
  }
  let text = JSON.stringify(doc);
  for (const d of deep) text = text.replace(JSON.stringify(d.token), () => d.text);
  let bytes = Buffer.from(text);
  if (textual) {
    const at = Math.floor(rand() * bytes.length);
    if (textual === 'utf8') {
      // invalid UTF-8 inside a string if there is one near, else anywhere
      const quote = bytes.indexOf(0x22, at);
      const i = quote >= 0 ? quote + 1 : at;
      bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), bytes.subarray(i)]);
    } else if (textual === 'truncate') bytes = bytes.subarray(0, at);
    else if (textual === 'flip') bytes[at] = (bytes[at]! ^ (1 << Math.floor(rand() * 8))) & 0xff;
    else bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    what.push(`text: ${textual}`);
  }
  return { what, bytes };
}
