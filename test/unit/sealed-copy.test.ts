// sealedCopyOfFile: hako-init's sealed memfd copied by the kernel from the file beside the
// brain (or the development build). The copy holds the file's bytes, is executable and
// sealed against every change; no file is undefined (the caller falls back to the embedded
// bytes), anything but a regular file an error.
import t from 'tap';
import { closeSync, existsSync, fstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEALS, devBuildDir, native } from '../../src/native.js';

const skip = existsSync(join(devBuildDir(), 'hako.node')) ? false : 'addon not built (npm run build)';

t.test('a sealed copy of a file: its bytes, mode 0555, every seal', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-sealed-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // larger than one sendfile chunk of a pipe (64 KiB) and not a multiple of a page
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 12)) & 0xff;
  const file = join(dir, 'init');
  writeFileSync(file, bytes);
  const fd = native().sealedCopyOfFile('hako-init', file);
  t.type(fd, 'number');
  t.teardown(() => closeSync(fd!));
  t.ok(readFileSync(`/proc/self/fd/${fd}`).equals(bytes), 'the same bytes');
  t.equal(fstatSync(fd!).mode & 0o7777, 0o555);
  const seals = native().seals(fd!);
  for (const s of ['SEAL', 'SHRINK', 'GROW', 'WRITE'] as const) t.ok(seals & SEALS[s], `sealed: ${s}`);
  t.throws(() => writeFileSync(`/proc/self/fd/${fd}`, 'x'), 'not writable through /proc');
});

t.test('no file: undefined; a directory: an error naming the path', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-sealed-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(native().sealedCopyOfFile('hako-init', join(dir, 'missing')), undefined);
  t.throws(() => native().sealedCopyOfFile('hako-init', dir), { message: `open ${dir}: Invalid argument`, path: dir });
});
