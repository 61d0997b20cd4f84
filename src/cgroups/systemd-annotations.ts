// The "org.systemd.property.<Name>" annotations, as runc 1.1.5 honours them with
// --systemd-cgroup: each one is a property of the container's new unit, its value in the
// GVariant text form (runc parses it with godbus's ParseVariant, with no expected type):
// "uint64 123456789", "'inactive-or-failed'", "true", "[1, 2]", "@as []", "{'a': <1>}",
// "b'bytes'". A name ending in lowercase + "Sec" (TimeoutStopSec) is given as its "USec"
// property with the number times a million. A name that is not 3 or more ASCII letters,
// or a value that does not parse, fails create before anything is made, in runc's words.
//
// The value grammar is godbus's as runc 1.1.5 vendors it, quirks included: only the first
// value is read (what follows it is ignored), an untyped integer is an int32 and one with
// a "." or "e" a double, a leading "0" is octal and "0x" hex, "double" is not a type that
// parses. No structs (there is no tuple syntax).
import { HakoError } from '../errors.js';
import type { DbusValue, UnitProperty } from '../native.js';

const PREFIX = 'org.systemd.property.';

/** The annotations' unit properties, in the order of the annotations; runc's errors. */
export function annotationProperties(annotations: Record<string, string> | undefined): UnitProperty[] {
  const props: UnitProperty[] = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(PREFIX)) continue;
    let name = key.slice(PREFIX.length);
    const nameError = checkPropertyName(name);
    if (nameError) throw new HakoError(`annotation ${key} name incorrect: ${nameError}`, { pointer: pointerOf(key) });
    const fail = (reason: string): HakoError =>
      new HakoError(`annotation ${key}=${text} value parse error: ${reason}`, { pointer: pointerOf(key) });
    let value: Typed;
    try {
      value = parseVariant(text);
    } catch (err) {
      if (err instanceof ParseError) throw fail(err.message);
      throw err;
    }
    const trimmed = name.slice(0, -'Sec'.length);
    if (name.endsWith('Sec') && /[a-z]$/.test(trimmed)) {
      name = `${trimmed}USec`;
      const usec = secondsToUsec(value);
      if (usec === undefined) throw fail('not a number');
      value = { sig: 't', value: usec };
    }
    props.push([name, value.sig, value.value]);
  }
  return props;
}

function pointerOf(key: string): string {
  return `/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** runc's checkPropertyName: ASCII letters only, at least 3. */
function checkPropertyName(name: string): string | undefined {
  if (name.length < 3) return 'too short';
  if (!/^[A-Za-z]+$/.test(name)) return 'contains non-alphabetic character';
  return undefined;
}

const U64 = 64;
const M = 1_000_000n;

/** runc's convertSecToUSec: a number of seconds as microseconds (uint64, wrapping as Go's conversions do). */
function secondsToUsec(v: Typed): bigint | undefined {
  switch (v.sig) {
    case 'y':
    case 'n':
    case 'q':
    case 'i':
    case 'u':
    case 'x':
    case 't':
      return BigInt.asUintN(U64, BigInt.asUintN(U64, BigInt(v.value as number | bigint)) * M);
    case 'd': {
      const us = Math.trunc((v.value as number) * 1e6);
      return Number.isFinite(us) ? BigInt.asUintN(U64, BigInt(us)) : 0n;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- the parser

/** A value and its D-Bus signature. */
export interface Typed {
  sig: string;
  value: DbusValue;
}

class ParseError extends Error {}

type TokenType = 'eof' | 'error' | 'number' | 'string' | 'bool' | '[' | ']' | '{' | '}' | '<' | '>' | ',' | ':' | 'type' | 'bytestring';
interface Token {
  type: TokenType;
  text: string;
}

const TYPE_NAMES: Record<string, string> = {
  boolean: 'b',
  byte: 'y',
  int16: 'n',
  uint16: 'q',
  int32: 'i',
  uint32: 'u',
  int64: 'x',
  uint64: 't',
  double: 'f', // as godbus has it: no value parses as "f"
  string: 's',
  objectpath: 'o',
  signature: 'g',
};

const isSpace = (c: string): boolean => /^\s$/u.test(c);
const isLetter = (c: string | undefined): boolean => c !== undefined && /^\p{L}$/u.test(c);

/** The tokens of `input`, up to the first error (which ends them, as a token). */
function tokenize(input: string): Token[] {
  const chars = [...input];
  const tokens: Token[] = [];
  let i = 0;
  const slice = (from: number, to: number): string => chars.slice(from, to).join('');
  const quoted = (type: 'string' | 'bytestring', from: number, openAt: number): boolean => {
    const q = chars[openAt];
    let j = openAt + 1;
    for (;;) {
      const c = chars[j];
      if (c === undefined) {
        tokens.push({ type: 'error', text: type === 'string' ? 'unterminated string' : 'unterminated bytestring' });
        return false;
      }
      j++;
      if (c === '\\') {
        if (chars[j] === undefined) {
          tokens.push({ type: 'error', text: type === 'string' ? 'unterminated string' : 'unterminated bytestring' });
          return false;
        }
        j++;
      } else if (c === q) {
        break;
      }
    }
    tokens.push({ type, text: slice(from, j) });
    i = j;
    return true;
  };
  while (i < chars.length) {
    const c = chars[i]!;
    const single: Record<string, TokenType> = { '[': '[', ']': ']', '{': '{', '}': '}', '<': '<', '>': '>', ':': ':', ',': ',' };
    if (single[c]) {
      tokens.push({ type: single[c]!, text: c });
      i++;
    } else if (c === "'" || c === '"') {
      if (!quoted('string', i, i)) return tokens;
    } else if (isSpace(c)) {
      i++;
    } else if (/^[0-9+-]$/.test(c)) {
      const from = i;
      if (chars[i] === '+' || chars[i] === '-') i++;
      let digits = '0123456789';
      if (chars[i] === '0') {
        i++;
        if (chars[i] === 'x') {
          i++;
          digits = '0123456789abcdefABCDEF';
        } else {
          digits = '01234567';
        }
      }
      while (chars[i] !== undefined && digits.includes(chars[i]!)) i++;
      if (chars[i] === '.') {
        i++;
        while (chars[i] !== undefined && digits.includes(chars[i]!)) i++;
      }
      if (chars[i] === 'e' || chars[i] === 'E') {
        i++;
        if (chars[i] === '+' || chars[i] === '-') i++;
        while (chars[i] !== undefined && '0123456789'.includes(chars[i]!)) i++;
      }
      if (isLetter(chars[i])) {
        tokens.push({ type: 'error', text: `bad number syntax: ${goQuote(slice(from, i + 1))}` });
        return tokens;
      }
      tokens.push({ type: 'number', text: slice(from, i) });
    } else if (c === 'b' && (chars[i + 1] === '"' || chars[i + 1] === "'")) {
      if (!quoted('bytestring', i, i + 1)) return tokens;
    } else if (slice(i, i + 4) === 'true') {
      tokens.push({ type: 'bool', text: 'true' });
      i += 4;
    } else if (slice(i, i + 5) === 'false') {
      tokens.push({ type: 'bool', text: 'false' });
      i += 5;
    } else {
      // a type: up to the next space
      const from = i;
      while (chars[i] !== undefined && !isSpace(chars[i]!)) i++;
      const word = slice(from, i);
      if (word.startsWith('@')) {
        const bad = signatureError(word.slice(1));
        if (bad) {
          tokens.push({ type: 'error', text: bad });
          return tokens;
        }
      } else if (!(word in TYPE_NAMES)) {
        tokens.push({ type: 'error', text: `unrecognized type ${goQuote(word)}` });
        return tokens;
      }
      tokens.push({ type: 'type', text: word });
    }
  }
  tokens.push({ type: 'eof', text: '' });
  return tokens;
}

/** godbus's ParseSignature check, with its reasons: complete types, nothing left over. */
function signatureError(sig: string): string | undefined {
  if (sig === '') return undefined;
  if (sig.length > 255) return `dbus: invalid signature: ${goQuote(sig)} (too long)`;
  let rest = sig;
  while (rest !== '') {
    const r = validSingle(rest, { array: 0, struct: 0, dict: 0 });
    if ('error' in r) return `dbus: invalid signature: ${goQuote(r.at)} (${r.error})`;
    rest = r.rest;
  }
  return undefined;
}

interface Depth {
  array: number;
  struct: number;
  dict: number;
}

type Single = { rest: string } | { error: string; at: string };

/** One complete type at the start of `s` (godbus's validSingle): what follows it, or why not and where. */
function validSingle(s: string, depth: Depth): Single {
  if (s === '') return { error: 'empty signature', at: s };
  if (depth.array > 32 || depth.struct > 32 || depth.dict > 32) return { error: 'container nesting too deep', at: s };
  const c = s[0]!;
  if ('ybnqiuxtdsogvh'.includes(c)) return { rest: s.slice(1) };
  if (c === 'a' && s[1] === '{') {
    const close = matching(s.slice(1), '{', '}');
    if (close === -1) return { error: "unmatched '{'", at: s };
    const rest = s.slice(close + 2);
    const inner = s.slice(2, close + 1);
    const inDict = { ...depth, array: depth.array + 1, dict: depth.dict + 1 };
    const key = validSingle(inner.slice(0, 1), inDict);
    if ('error' in key) return key;
    const value = validSingle(inner.slice(1), inDict);
    if ('error' in value) return value;
    if (value.rest !== '') return { error: 'too many types in dict', at: inner };
    return { rest };
  }
  if (c === 'a') return validSingle(s.slice(1), { ...depth, array: depth.array + 1 });
  if (c === '(') {
    const close = matching(s, '(', ')');
    if (close === -1) return { error: "unmatched ')'", at: s };
    let inner = s.slice(1, close);
    while (inner !== '') {
      const r = validSingle(inner, { ...depth, struct: depth.struct + 1 });
      if ('error' in r) return r;
      inner = r.rest;
    }
    return { rest: s.slice(close + 1) };
  }
  return { error: 'invalid type character', at: s };
}

/** The index of the bracket that closes the one `s` starts with, or -1. */
function matching(s: string, left: string, right: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === left) n++;
    else if (s[i] === right) n--;
    if (n === 0) return i;
  }
  return -1;
}

/** A string as Go's %q prints it (for the common cases: quotes, backslashes, controls). */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, '\\x$1');
}

/** godbus's varTypeError */
const typeError = (text: string, sig: string): ParseError => new ParseError(`dbus: can't parse ${goQuote(text)} as type ${goQuote(sig)}`);

interface Node {
  /** the signatures the node can have */
  sigs(): Set<string>;
  infer(): string;
  str(): string;
  value(sig: string): DbusValue;
}

const NUMBER_SIGS = ['y', 'n', 'q', 'i', 'u', 'x', 't', 'd'];

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  next(): Token {
    return this.tokens[this.i++] ?? { type: 'eof', text: '' };
  }

  backup(): void {
    this.i--;
  }

  node(): Node {
    let sig = '';
    for (;;) {
      const t = this.next();
      switch (t.type) {
        case 'eof':
          throw new ParseError('unexpected EOF');
        case 'error':
          throw new ParseError(t.text);
        case 'number':
          return numberNode(t.text, sig);
        case 'string':
          return stringNode(t.text, sig);
        case 'bool': {
          if (sig !== '' && sig !== 'b') throw typeError(t.text, sig);
          const b = t.text === 'true';
          return { sigs: () => new Set(['b']), infer: () => 'b', str: () => t.text, value: (s) => (s === 'b' ? b : fail(typeError(t.text, s))) };
        }
        case '[':
          return this.array(sig);
        case '<':
          return this.variant(sig);
        case '{':
          return this.dict(sig);
        case 'type':
          if (sig !== '') throw new ParseError('unexpected type annotation');
          sig = t.text.startsWith('@') ? t.text.slice(1) : TYPE_NAMES[t.text]!;
          break;
        case 'bytestring': {
          if (sig !== '' && sig !== 'ay') throw typeError(t.text, sig);
          const bytes = parseByteString(t.text);
          const text = String.fromCharCode(...bytes);
          return { sigs: () => new Set(['ay']), infer: () => 'ay', str: () => text, value: (s) => (s === 'ay' ? bytes : fail(typeError(text, s))) };
        }
        default:
          throw new ParseError(`unexpected ${goQuote(t.text)}`);
      }
    }
  }

  /** the token after an item: "]" / "}" ends, "," goes on */
  private separator(end: ']' | '}'): boolean {
    const t = this.next();
    if (t.type === 'eof') throw new ParseError('unexpected EOF');
    if (t.type === 'error') throw new ParseError(t.text);
    if (t.type === end) return false;
    if (t.type === ',') return true;
    throw new ParseError(`unexpected ${goQuote(t.text)}`);
  }

  /** before an item: EOF and errors are reported as such */
  private peekItem(): void {
    const t = this.next();
    if (t.type === 'eof') throw new ParseError('unexpected EOF');
    if (t.type === 'error') throw new ParseError(t.text);
    this.backup();
  }

  array(sig: string): Node {
    let set = new Set<string>(sig !== '' ? [sig] : []);
    const children: Node[] = [];
    if (this.next().type !== ']') {
      this.backup();
      do {
        this.peekItem();
        const child = this.node();
        const childSigs = [...child.sigs()].map((s) => `a${s}`);
        if (childSigs.length > 0) {
          if (set.size === 0) set = new Set(childSigs);
          else {
            set = new Set(childSigs.filter((s) => set.has(s)));
            if (set.size === 0) throw new ParseError(`can't parse ${goQuote(child.str())} with given type information`);
          }
        }
        children.push(child);
      } while (this.separator(']'));
    }
    const str = (): string => `[${children.map((c) => c.str()).join(', ')}]`;
    return {
      sigs: () => set,
      infer: () => {
        for (const c of children) {
          try {
            return `a${inferOf(c)}`;
          } catch {
            // the next child may tell
          }
        }
        throw new ParseError(`can't infer type for ${goQuote(str())}`);
      },
      str,
      value: (s) => {
        if (set.size === 0) return [];
        if (!set.has(s)) throw typeError(str(), s);
        return children.map((c) => c.value(s.slice(1)));
      },
    };
  }

  variant(sig: string): Node {
    const inner = this.node();
    const t = this.next();
    if (t.type !== '>') throw new ParseError(`unexpected ${goQuote(t.text)}`);
    const str = (): string => `<${inner.str()}>`;
    if (sig !== '' && sig !== 'v') throw typeError(str(), sig);
    return {
      sigs: () => new Set(['v']),
      infer: () => 'v',
      str,
      value: (s) => {
        if (s !== 'v') throw typeError(str(), s);
        const innerSig = inferOf(inner);
        return { signature: innerSig, value: inner.value(innerSig) };
      },
    };
  }

  dict(sig: string): Node {
    let keys = new Set<string>();
    let values = new Set<string>();
    if (sig !== '') {
      if (sig.length < 5) throw new ParseError(`invalid signature ${goQuote(sig)} for dict type`);
      keys = new Set([sig[2]!]);
      values = new Set([sig.slice(3, -1)]);
    }
    const entries: [Node, Node][] = [];
    if (this.next().type !== '}') {
      this.backup();
      do {
        this.peekItem();
        const k = this.node();
        const ks = k.sigs();
        if (ks.size > 0) {
          keys = keys.size === 0 ? ks : new Set([...ks].filter((s) => keys.has(s)));
          if (keys.size === 0) throw new ParseError(`can't parse ${goQuote(k.str())} with given type information`);
        }
        const colon = this.next();
        if (colon.type === 'eof') throw new ParseError('unexpected EOF');
        if (colon.type === 'error') throw new ParseError(colon.text);
        if (colon.type !== ':') throw new ParseError(`unexpected ${goQuote(colon.text)}`);
        this.peekItem();
        const v = this.node();
        const vs = v.sigs();
        if (vs.size > 0) {
          values = values.size === 0 ? vs : new Set([...values].filter((s) => vs.has(s)));
          if (values.size === 0) throw new ParseError(`can't parse ${goQuote(v.str())} with given type information`);
        }
        entries.push([k, v]);
      } while (this.separator('}'));
    }
    const str = (): string => `{${entries.map(([k, v]) => `${k.str()}: ${v.str()}`).join(', ')}}`;
    const sigs = (): Set<string> => new Set([...keys].flatMap((k) => [...values].map((v) => `a{${k}${v}}`)));
    return {
      sigs,
      infer: () => {
        for (const [k, v] of entries) {
          try {
            return `a{${inferOf(k)}${inferOf(v)}}`;
          } catch {
            // the next entry may tell
          }
        }
        throw new ParseError(`can't infer type for ${goQuote(str())}`);
      },
      str,
      value: (s) => {
        const set = sigs();
        if (set.size === 0) return [];
        if (!set.has(s)) throw typeError(str(), s);
        const ksig = s.slice(2, 3);
        const vsig = s.slice(3, -1);
        // a Go map: one entry per key, the last one's value
        const byKey = new Map<string, [DbusValue, DbusValue]>();
        for (const [k, v] of entries) {
          const kv = k.value(ksig);
          byKey.set(`${typeof kv}:${String(kv)}`, [kv, v.value(vsig)]);
        }
        return [...byKey.values()];
      },
    };
  }
}

function fail(err: Error): never {
  throw err;
}

function inferOf(n: Node): string {
  const sigs = n.sigs();
  if (sigs.size === 1) return [...sigs][0]!;
  return n.infer();
}

function numberNode(text: string, sig: string): Node {
  const fixed = sig !== '' ? numberAs(text, sig) : undefined;
  const isFloat = /[.e]/.test(text);
  return {
    sigs: () => new Set(sig !== '' ? [sig] : isFloat ? ['d'] : NUMBER_SIGS),
    infer: () => (isFloat ? 'd' : 'i'),
    // godbus keeps no text for a typed number
    str: () => (sig !== '' ? '' : text),
    value: (s) => {
      if (sig !== '' && sig !== s) throw typeError('', s);
      return fixed ?? numberAs(text, s);
    },
  };
}

/** godbus's varNumAs, with Go's strconv errors. */
function numberAs(text: string, sig: string): DbusValue {
  if (sig === 'd') {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new ParseError(`strconv.ParseFloat: parsing ${goQuote(text)}: invalid syntax`);
    const d = Number(text);
    if (!Number.isFinite(d)) throw new ParseError(`strconv.ParseFloat: parsing ${goQuote(text)}: value out of range`);
    return d;
  }
  const sizes: Record<string, [number, boolean]> = { n: [16, false], i: [32, false], x: [64, false], y: [8, true], q: [16, true], u: [32, true], t: [64, true] };
  const size = sizes[sig];
  if (!size) throw typeError(text, sig);
  const [bits, unsigned] = size;
  let s = text;
  let base = 10;
  if (s.startsWith('0x')) {
    base = 16;
    s = s.slice(2);
  }
  if (s.startsWith('0') && s.length !== 1) {
    base = 8;
    s = s.slice(1);
  }
  const fn = unsigned ? 'strconv.ParseUint' : 'strconv.ParseInt';
  const syntax = (): ParseError => new ParseError(`${fn}: parsing ${goQuote(s)}: invalid syntax`);
  let body = s;
  let negative = false;
  if (!unsigned && (body.startsWith('+') || body.startsWith('-'))) {
    negative = body.startsWith('-');
    body = body.slice(1);
  }
  const digits = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(body)) throw syntax();
  let n = [...body].reduce((acc, ch) => acc * BigInt(base) + BigInt(parseInt(ch, 16)), 0n);
  if (negative) n = -n;
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  if (n > max || n < min) throw new ParseError(`${fn}: parsing ${goQuote(s)}: value out of range`);
  return bits === 64 ? n : Number(n);
}

function stringNode(token: string, sig: string): Node {
  if (sig !== '' && sig !== 's' && sig !== 'g' && sig !== 'o') throw new ParseError(`invalid type ${goQuote(sig)} for string`);
  const s = parseString(token);
  return {
    sigs: () => new Set(sig !== '' ? [sig] : ['s', 'g', 'o']),
    infer: () => 's',
    str: () => s,
    value: (want) => {
      if (sig !== '' && sig !== want) throw typeError(s, want);
      if (want === 's' || want === 'o' || want === 'g') return s;
      throw typeError(s, want);
    },
  };
}

/** A quoted string's text: godbus's escapes (\n \t ... \uXXXX \UXXXXXXXX, others the character). */
function parseString(token: string): string {
  const chars = [...token.slice(1, -1)];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = chars[++i];
    if (e === undefined) break;
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '\n': '' };
    if (e in simple) out += simple[e];
    else if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const hex = chars.slice(i + 1, i + 1 + len).join('');
      if (hex.length < len) throw new ParseError('short unicode escape');
      if (!/^[0-9a-fA-F]+$/.test(hex)) throw new ParseError(`strconv.ParseUint: parsing ${goQuote(hex)}: invalid syntax`);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += len;
    } else out += e;
  }
  return out;
}

/** A b'...' byte string's bytes (with the trailing NUL godbus adds). */
function parseByteString(token: string): number[] {
  const s = Buffer.from(token.slice(2, -1), 'utf8');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const e = String.fromCharCode(s[++i]!);
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9 };
    if (e in simple) out.push(simple[e]!);
    else if (e === 'x' || e === '0') {
      const len = e === 'x' ? 2 : 3;
      const digits = s.subarray(i + 1, i + 1 + len).toString('latin1');
      if (digits.length < len) throw new ParseError('short escape');
      const n = parseInt(digits, e === 'x' ? 16 : 8);
      if (!(e === 'x' ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/).test(digits) || n > 255) {
        throw new ParseError(`strconv.ParseUint: parsing ${goQuote(digits)}: ${n > 255 ? 'value out of range' : 'invalid syntax'}`);
      }
      out.push(n);
      i += len;
    } else out.push(s[i]!);
  }
  out.push(0);
  return out;
}

/** A GVariant text value as godbus's ParseVariant reads it (no expected type). */
export function parseVariant(text: string): Typed {
  const n = new Parser(tokenize(text)).node();
  const sig = inferOf(n);
  return { sig, value: n.value(sig) };
}
