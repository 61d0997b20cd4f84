// The limits on what hako reads from its callers: config.json, process.json, --resources
// (a file or stdin) and the container records under --root. Each is read whole, so each
// is bounded before it can cost unbounded memory or time:
//
// - only a regular file is read (a FIFO would hang the command, /dev/zero would fill
//   memory until the OOM killer came); a symlink to a regular file is fine;
// - at most MAX_INPUT_BYTES (16 MiB). The configs managers write are 3-20 KB (the
//   shared fixture corpus: podman, containerd, CRI, Docker; a Docker seccomp profile is
//   most of the largest), Kubernetes caps a pod's annotations at 256 KiB and the kernel
//   a process's argv and environment at a few MiB: 16 MiB is far above any real input,
//   and bounded work (on Node 24 here: 20 ms to parse 16 MiB of strings; the worst shape,
//   16 MiB of tiny arrays, about 1 s and 400 MB);
// - at most MAX_JSON_DEPTH (512) nested arrays and objects. Real configs nest at most
//   7 deep (the fixture corpus); the engine walks parsed values recursively
//   (JSON.stringify of the container record, structuredClone), and on Node 24 that
//   overflows the stack near 1,600 nested objects: 512 leaves room for the frames
//   already on the stack. runc refuses at 10,000 (Go's "exceeded max depth").
//
// A container record, which holds the config, may be 32 MiB and nest 528 deep
// (MAX_RECORD_BYTES, MAX_RECORD_DEPTH); the native front reads records with these limits.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { HakoError, fromSystemError } from './errors.js';
import { describeJsonError } from './oci/json-syntax.js';

export const MAX_INPUT_BYTES = 16 * 1024 * 1024;
export const MAX_JSON_DEPTH = 512;
/**
 * A container record holds the config one level down and re-serialised (a number such as
 * 1e20 grows when written out again): its limits leave room for that, and a record that
 * would not fit them is refused when written, failing the create that wrote it.
 */
export const MAX_RECORD_DEPTH = MAX_JSON_DEPTH + 16;
export const MAX_RECORD_BYTES = 2 * MAX_INPUT_BYTES;

const CHUNK = 64 * 1024;

/**
 * The text of a regular file of at most `limit` bytes. `label` names the input in errors
 * ("config.json", "process.json", "resources", "state"). Never blocks on a FIFO and never
 * opens a device: the path is checked with stat before it is opened, the open is
 * non-blocking, and the opened fd is checked again (the path may have changed between).
 */
export function readInputFile(file: string, label: string, limit = MAX_INPUT_BYTES): string {
  // A path stat cannot follow fails the open below too, in open's words (as runc's).
  const st = statOrUndefined(file);
  if (st !== undefined && !st.isFile()) throw notRegular(file, label, st);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw fromSystemError(err);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw notRegular(file, label, opened);
    return readBounded(fd, file, label, limit, opened.size);
  } finally {
    closeSync(fd);
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * The text read from an open fd (stdin for `update --resources -`) until its end, failing
 * once more than `limit` bytes came. A non-blocking pipe is waited on, not given up.
 */
export function readInputFd(fd: number, label: string, limit = MAX_INPUT_BYTES): string {
  return readBounded(fd, undefined, label, limit, 0);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

function readBounded(fd: number, file: string | undefined, label: string, limit: number, sizeHint: number): string {
  // One buffer of the size fstat gave (plus one byte to see the end) for a regular file;
  // it grows only if the file grows meanwhile or is a pipe, never past limit + 1.
  let buf = Buffer.allocUnsafe(Math.min(Math.max(sizeHint + 1, CHUNK), limit + 1));
  let used = 0;
  for (;;) {
    if (used === buf.length) {
      if (used > limit) throw tooBig(file, label, limit);
      const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, limit + 1));
      buf.copy(bigger, 0, 0, used);
      buf = bigger;
    }
    let n: number;
    try {
      n = readSync(fd, buf, used, buf.length - used, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break;
      throw file !== undefined ? fromSystemError(err) : new HakoError(`reading ${label} from fd ${fd}: ${(err as Error).message}`);
    }
    if (n === 0) break;
    used += n;
    if (used > limit) throw tooBig(file, label, limit);
  }
  return buf.toString('utf8', 0, used);
}

function tooBig(file: string | undefined, label: string, limit: number): HakoError {
  const what = file !== undefined ? `${label}: ${file}` : label;
  return new HakoError(`${what}: larger than ${formatBytes(limit)}, the limit for ${label}`, file !== undefined ? { path: file } : {});
}

function notRegular(file: string, label: string, st: Stats): HakoError {
  return new HakoError(`${label}: ${file}: not a regular file (${fileType(st)})`, { path: file });
}

function fileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}

/**
 * JSON.parse, after checking that arrays and objects nest at most `maxDepth` deep (the
 * parse itself copes, but what walks the value afterwards recurses). `label` names the
 * input in errors; `file` goes into the error's path.
 */
export function parseJsonInput(text: string, label: string, file?: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const where = file !== undefined ? { path: file } : {};
  const deep = excessDepthAt(text, maxDepth);
  if (deep >= 0) {
    throw new HakoError(
      `${label}: invalid JSON: exceeded max depth: more than ${maxDepth} nested arrays and objects at ${lineColumn(text, deep)}`,
      where,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HakoError(`${label}: invalid JSON: ${clipMessage(describeJsonError(text, err))}`, where);
  }
}

/**
 * The index of the first bracket that opens level maxDepth + 1, or -1. Brackets inside
 * strings do not count. Malformed JSON is scanned as far as it goes and left to JSON.parse
 * to describe. A real config has about a hundred brackets in all, so they are counted
 * first (indexOf is fast): with no more than maxDepth of them, none can be too deep, and
 * the scan proper is skipped (1-2 µs instead of 30-60 on a 20 KB config).
 */
export function excessDepthAt(text: string, maxDepth = MAX_JSON_DEPTH): number {
  if (countUpTo(text, '[', maxDepth + 1) + countUpTo(text, '{', maxDepth + 1) <= maxDepth) return -1;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i = stringEnd(text, i + 1);
      if (i < 0) return -1;
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > maxDepth) return i;
    } else if (c === 93 /* ] */ || c === 125 /* } */) {
      depth--;
    }
  }
  return -1;
}

// How often ch occurs in text, counting no further than limit.
function countUpTo(text: string, ch: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0 && n < limit; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

// The index of the quote that closes a string whose contents start at `from`, or -1.
function stringEnd(text: string, from: number): number {
  for (let i = text.indexOf('"', from); i >= 0; i = text.indexOf('"', i + 1)) {
    let backslashes = 0;
    for (let j = i - 1; j >= from && text.charCodeAt(j) === 92; j--) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
  return -1;
}

function lineColumn(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `line ${line} column ${column}`;
}

/** A value (whitespace-free run) longer than this is cut in messages: longer than any path (PATH_MAX) or mount data (a page). */
export const MAX_SHOWN_VALUE = 4096;
/** What is left of a cut value. */
export const SHOWN_PREFIX = 256;
/** A whole message is cut beyond this. */
export const MAX_MESSAGE = 64 * 1024;

/**
 * A message made readable: every run of more than MAX_SHOWN_VALUE characters without
 * whitespace or quotes (a value hako echoes: an argument, a path, a key) becomes its first
 * SHOWN_PREFIX characters and its length, "... (52428800 bytes)"; a message still longer
 * than MAX_MESSAGE is cut there and says how long it was. Short messages are returned as
 * they are.
 */
export function clipMessage(message: string): string {
  if (message.length <= MAX_SHOWN_VALUE) return message;
  const parts: string[] = [];
  let size = 0;
  let i = 0;
  // Run by run, as cpp/init/sys.cc's clip_message; stops once the message is long enough.
  while (i < message.length && size <= MAX_MESSAGE) {
    let end = i;
    while (end < message.length && !isSeparator(message.charCodeAt(end))) end++;
    if (end === i) end = i + 1;
    let run = message.slice(i, end);
    // Punctuation after a value (`stat /x: ...`) is not part of it.
    const tail = /[:;,]$/.test(run) ? run.slice(-1) : '';
    const value = tail ? run.slice(0, -1) : run;
    if (value.length > MAX_SHOWN_VALUE) run = `${prefix(value, SHOWN_PREFIX)}... (${Buffer.byteLength(value)} bytes)${tail}`;
    parts.push(run);
    size += run.length;
    i = end;
  }
  let out = parts.join('');
  if (out.length > MAX_MESSAGE) out = `${prefix(out, MAX_MESSAGE)}... (message of ${Buffer.byteLength(message)} bytes cut)`;
  return out;
}

// Whitespace and the double quote end a value.
function isSeparator(c: number): boolean {
  return c === 0x20 || c === 0x22 || (c >= 0x09 && c <= 0x0d);
}

// The first n UTF-16 units of s, not ending between the two halves of a surrogate pair.
function prefix(s: string, n: number): string {
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}
