// copyFd: the addon's copy on a thread of its own (a foreground container's stdio).
// Pipes made here, no container: every byte arrives, the fds it owns are closed at the
// end, a reader that went away ends it quietly, and the event loop runs while it blocks.
import t from 'tap';
import { closeSync, existsSync, fstatSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { devBuildDir, native } from '../../src/native.js';

const skip = existsSync(join(devBuildDir(), 'hako.node')) ? false : 'addon not built (npm run build)';

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

t.test('1 MiB through a full pipe: the loop keeps running, every byte arrives, owned fds closed', { skip }, async (t) => {
  const addon = native();
  const [inR, inW] = addon.pipe();
  const [outR, outW] = addon.pipe();
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 0xff;
  const copy = addon.copyFd(inR, outW, { closeFrom: true, closeTo: true });
  // The copy blocks on outW (64 KiB of pipe) while this thread fills inW in slices and
  // timers keep firing: nothing here waits for the copy.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const got: Buffer[] = [];
  let written = 0;
  while (written < data.length) {
    written += writeSync(inW, data.subarray(written, Math.min(written + 32768, data.length)));
    const buf = Buffer.alloc(65536);
    got.push(buf.subarray(0, readSync(outR, buf)));
    await new Promise((r) => setImmediate(r));
  }
  closeSync(inW);
  for (;;) {
    const buf = Buffer.alloc(65536);
    const n = readSync(outR, buf);
    if (n === 0) break;
    got.push(buf.subarray(0, n));
  }
  clearInterval(timer);
  const r = await copy;
  t.equal(r.bytes, data.length, 'bytes counted');
  t.notOk(r.error, 'no error');
  t.ok(Buffer.concat(got).equals(data), 'the same bytes, in order');
  t.ok(ticks > 0, 'timers fired while the copy ran');
  t.ok(!isOpen(inR) && !isOpen(outW), 'the copy closed the ends it owned');
  closeSync(outR);
});

t.test('a reader that went away (EPIPE) ends the copy without an error; fds not owned stay open', { skip }, async (t) => {
  const addon = native();
  const [inR, inW] = addon.pipe();
  const [outR, outW] = addon.pipe();
  closeSync(outR);
  const copy = addon.copyFd(inR, outW);
  writeSync(inW, 'hello');
  const r = await copy;
  t.equal(r.bytes, 0);
  t.notOk(r.error, 'EPIPE is an end, not a failure (and no SIGPIPE killed us)');
  t.ok(isOpen(inR) && isOpen(outW), 'not owned: left open');
  for (const fd of [inR, inW, outW]) closeSync(fd);
});

t.test('a failing read is reported with its syscall and errno', { skip }, async (t) => {
  const addon = native();
  const [r, w] = addon.pipe();
  const res = await addon.copyFd(w, r); // reading a pipe's write end: EBADF
  t.match(res.error, { code: 'EBADF', syscall: 'read' });
  closeSync(r);
  closeSync(w);
});
