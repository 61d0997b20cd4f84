// The limits on what hako reads (src/input-limits.ts), through the functions that read
// config.json, process.json, --resources and container records: only regular files, at
// most 16 MiB, at most 512 nested arrays and objects; and huge values cut in messages.
// No root needed: FIFOs and symlinks to /dev/zero are made in a temp dir.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HakoError } from '../../src/errors.js';
import {
  MAX_INPUT_BYTES,
  MAX_JSON_DEPTH,
  clipMessage,
  excessDepthAt,
  parseJsonInput,
  readInputFd,
  readInputFile,
} from '../../src/input-limits.js';
import { checkBundleConfig, checkProcessFile } from '../../src/oci/load.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { formatProblem } from '../../src/oci/validate.js';
import { readContainer, writeContainer, type ContainerRecord } from '../../src/container/state-store.js';
import { resourcesFromFlags } from '../../src/cli/update.js';
import { reportFailure } from '../../src/cli/report.js';
import { Logger } from '../../src/cli/log.js';

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'hako-limits-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** A bundle whose config.json is made by `make` (given the path). */
function bundle(t: Test, make: (configPath: string) => void): string {
  const dir = scratch(t);
  mkdirSync(join(dir, 'rootfs'));
  make(join(dir, 'config.json'));
  return dir;
}

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** A valid config with `extra` (JSON text) as the value of an extension field. */
function configWith(extra: string): string {
  const text = JSON.stringify({ ...defaultSpec(), root: { path: 'rootfs' } });
  return `${text.slice(0, -1)},"org.example.deep":${extra}}`;
}

t.test('config.json: a symlink to /dev/zero is refused without reading it', async (t) => {
  const dir = bundle(t, (p) => symlinkSync('/dev/zero', p));
  t.throws(() => checkBundleConfig(dir), { message: /^config\.json: .*config\.json: not a regular file \(a character device\)$/ });
});

t.test('config.json: a FIFO is refused without blocking', async (t) => {
  const dir = bundle(t, (p) => fifo(p));
  t.throws(() => checkBundleConfig(dir), { message: /not a regular file \(a FIFO\)/ });
});

t.test('config.json: a directory is refused; a symlink to a regular file is read', async (t) => {
  t.throws(() => checkBundleConfig(bundle(t, (p) => mkdirSync(p))), { message: /not a regular file \(a directory\)/ });
  const dir = bundle(t, (p) => {
    writeFileSync(`${p}.real`, configWith('1'));
    symlinkSync(`${p}.real`, p);
  });
  t.same(checkBundleConfig(dir).problems, [], 'the config behind the symlink is read and valid');
});

t.test('config.json: a missing file says open, as runc', async (t) => {
  const dir = scratch(t);
  t.throws(() => checkBundleConfig(dir), { message: /^open .*config\.json: no such file or directory$/ });
});

t.test('config.json: larger than 16 MiB is refused, 16 MiB itself is read', async (t) => {
  t.equal(MAX_INPUT_BYTES, 16 * 1024 * 1024);
  const fits = configWith(`"${'a'.repeat(MAX_INPUT_BYTES - configWith('""').length)}"`);
  t.equal(Buffer.byteLength(fits), MAX_INPUT_BYTES);
  const ok = bundle(t, (p) => writeFileSync(p, fits));
  t.same(checkBundleConfig(ok).problems, [], 'exactly the limit is fine');
  const over = bundle(t, (p) => writeFileSync(p, fits + ' '));
  t.throws(() => checkBundleConfig(over), { message: /^config\.json: .*: larger than 16 MiB, the limit for config\.json$/ });
});

t.test('readInputFile/readInputFd: the limit holds for files that grow and for streams', async (t) => {
  const dir = scratch(t);
  writeFileSync(join(dir, 'small'), 'x'.repeat(100));
  t.equal(readInputFile(join(dir, 'small'), 'small', 100), 'x'.repeat(100));
  t.throws(() => readInputFile(join(dir, 'small'), 'small', 99), { message: /larger than 99 bytes/ });
  // /dev/zero as a stream (stdin of `update --resources -`): stops at the limit.
  const zero = openSync('/dev/zero', 'r');
  t.teardown(() => closeSync(zero));
  t.throws(() => readInputFd(zero, 'resources from stdin'), { message: 'resources from stdin: larger than 16 MiB, the limit for resources from stdin' });
  // /proc files are regular with size 0: read to their end.
  t.match(readInputFile('/proc/self/status', 'status'), /^Name:/);
});

t.test('process.json (exec -p, validate --process): a FIFO and /dev/zero are refused', async (t) => {
  const dir = scratch(t);
  t.throws(() => checkProcessFile(fifo(join(dir, 'process.json'))), { message: /not a regular file \(a FIFO\)/ });
  symlinkSync('/dev/zero', join(dir, 'zero.json'));
  t.throws(() => checkProcessFile(join(dir, 'zero.json')), { message: /not a regular file \(a character device\)/ });
});

t.test('update --resources: a FIFO, /dev/zero and deep nesting are refused', async (t) => {
  const dir = scratch(t);
  t.throws(() => resourcesFromFlags({ resources: fifo(join(dir, 'r.json')) }), { message: /not a regular file \(a FIFO\)/ });
  symlinkSync('/dev/zero', join(dir, 'zero.json'));
  t.throws(() => resourcesFromFlags({ resources: join(dir, 'zero.json') }), { message: /not a regular file \(a character device\)/ });
  writeFileSync(join(dir, 'deep.json'), `{"x":${nested(100_000)}}`);
  t.throws(() => resourcesFromFlags({ resources: join(dir, 'deep.json') }), { message: /invalid resources JSON: exceeded max depth/ });
});

t.test('state records: a FIFO or /dev/zero in place of state.json is an error, not a hang', async (t) => {
  const root = scratch(t);
  mkdirSync(join(root, 'a'));
  fifo(join(root, 'a', 'state.json'));
  t.throws(() => readContainer(root, 'a'), { message: /^\/.*state\.json: corrupt state: not a regular file \(a FIFO\)$/ });
  mkdirSync(join(root, 'b'));
  symlinkSync('/dev/zero', join(root, 'b', 'state.json'));
  t.throws(() => readContainer(root, 'b'), { message: /corrupt state: not a regular file \(a symbolic link\)/ }, 'never read through a link (as the front)');
  mkdirSync(join(root, 'c'));
  writeFileSync(join(root, 'c', 'state.json'), `{"version":1,"x":${nested(100_000)}}`);
  t.throws(() => readContainer(root, 'c'), { message: /corrupt state: exceeded max depth/ });
  t.throws(() => readContainer(root, 'missing'), { message: 'container does not exist' });
});

t.test('state records: a config nested to the limit is written and read back; an oversized record is not written', async (t) => {
  const root = scratch(t);
  mkdirSync(join(root, 'deep'));
  const config = parseJsonInput(configWith(nested(MAX_JSON_DEPTH - 1)), 'config.json');
  const rec = { version: 1, ociVersion: '1.3.0', id: 'deep', pid: 1, initStartTime: '1', bundle: '/b', rootfs: '/b/rootfs', created: 'now', config } as ContainerRecord;
  writeContainer(root, rec);
  t.equal(readContainer(root, 'deep').id, 'deep', 'the record holds the config one level deeper, and reads back');
  mkdirSync(join(root, 'big'));
  // 1e20 is 4 bytes in config.json and 21 in the record: 16 MiB of them would not fit.
  const big = { ...rec, id: 'big', annotations: { a: 'x'.repeat(2 * MAX_INPUT_BYTES) } };
  t.throws(() => writeContainer(root, big), { message: /^container record of \d+ bytes: larger than the limit of 33554432 bytes$/ });
  t.throws(() => readContainer(root, 'big'), { message: 'container does not exist' }, 'nothing was written');
});

t.test('nesting: 100,000 arrays are refused before parsing, with where', async (t) => {
  const dir = bundle(t, (p) => writeFileSync(p, configWith(nested(100_000))));
  const err = t.throws(() => checkBundleConfig(dir)) as HakoError;
  t.type(err, HakoError);
  t.match(err.message, /^config\.json: invalid JSON: exceeded max depth: more than 512 nested arrays and objects at line 1 column \d+$/);
  const column = Number(/column (\d+)/.exec(err.message)![1]);
  const text = configWith(nested(100_000));
  t.equal(text[column - 1], '[', 'the column is the bracket that opens level 513');
  t.equal(excessDepthAt(text.slice(0, column - 1)), -1, 'no level 513 before it');
  t.match(err.where.path, /config\.json$/);
});

t.test('nesting: the limit itself is accepted, and the engine copes with the parsed value', async (t) => {
  t.equal(MAX_JSON_DEPTH, 512);
  // The config object is level 1: 511 more levels inside it.
  const text = configWith(nested(MAX_JSON_DEPTH - 1));
  t.equal(excessDepthAt(text), -1);
  const deepAt = text.indexOf('"org.example.deep":') + '"org.example.deep":'.length;
  t.equal(excessDepthAt(configWith(nested(MAX_JSON_DEPTH))), deepAt + MAX_JSON_DEPTH - 1, 'the bracket opening level 513');
  const value = parseJsonInput(text, 'config.json');
  // What create does with it: the container record (JSON.stringify) and structuredClone (exec).
  t.doesNotThrow(() => JSON.stringify(value));
  t.doesNotThrow(() => structuredClone(value));
  const objects = '{"a":'.repeat(MAX_JSON_DEPTH) + '1' + '}'.repeat(MAX_JSON_DEPTH);
  t.doesNotThrow(() => JSON.stringify(structuredClone(parseJsonInput(objects, 'x'))), '512 nested objects too');
});

t.test('nesting: brackets in strings do not count, escapes are followed', async (t) => {
  t.equal(excessDepthAt(`["${'['.repeat(5000)}"]`, 4), -1);
  t.equal(excessDepthAt(`["\\"${'['.repeat(10)}\\\\", [[[[]]]]]`, 4), 22, 'the fifth level, after the string');
  t.equal(excessDepthAt('["\\\\"]', 1), -1, 'an escaped backslash ends before the quote');
  t.equal(excessDepthAt('["unterminated [[[[[[', 2), -1, 'malformed JSON is left to JSON.parse');
  t.throws(() => parseJsonInput('["unterminated', 'x.json'), { message: /^x\.json: invalid JSON: / });
});

t.test('clipMessage: a huge value is cut and its length given; ordinary messages stay', async (t) => {
  const arg = '/' + 'a'.repeat(50 * 1024 * 1024 - 1);
  const msg = clipMessage(`exec: "${arg}": stat ${arg}: no such file or directory`);
  t.ok(msg.length < 1024, `${msg.length} characters`);
  t.equal(msg, `exec: "/${'a'.repeat(255)}... (52428800 bytes)": stat /${'a'.repeat(255)}... (52428800 bytes): no such file or directory`);
  const path = '/' + 'p'.repeat(4095);
  t.equal(clipMessage(`open ${path}: no such file or directory`), `open ${path}: no such file or directory`, 'a PATH_MAX path is shown whole');
  t.equal(clipMessage('ordinary'), 'ordinary');
  const spaced = 'a '.repeat(1024 * 1024);
  const cut = clipMessage(`x: ${spaced}`);
  t.ok(cut.length < 70 * 1024 && cut.endsWith('... (message of 2097155 bytes cut)'), 'a long message of short words is cut whole');
  const utf8 = clipMessage('é'.repeat(5000));
  t.ok(utf8.startsWith('é'.repeat(256)) && utf8.endsWith('... (10000 bytes)'), 'lengths in bytes');
});

t.test('formatProblem and the reporter cut huge keys and values', async (t) => {
  const key = 'k'.repeat(10 * 1024 * 1024);
  const line = formatProblem('config.json', { pointer: `/annotations/${key}`, message: 'must be a string' });
  t.equal(line, `config.json: /annotations/${'k'.repeat(256 - 13)}... (10485773 bytes): must be a string`);
  const dir = scratch(t);
  const logFile = join(dir, 'log');
  const log = new Logger({ path: logFile, format: 'json' });
  try {
    // (with --log, the bare message goes to stderr too: a short line in the test's output)
    reportFailure(log, `exec failed: exec: "${key}": executable file not found in $PATH`, 255);
  } finally {
    log.close();
  }
  const logged = readFileSync(logFile, 'utf8');
  t.ok(logged.length < 1024, `the log line is ${logged.length} bytes`);
  t.match(logged, /exec: \\"k{256}\.\.\. \(10485760 bytes\)\\": executable file not found/);
});
