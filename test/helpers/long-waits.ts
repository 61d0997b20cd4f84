// Long waits must not hold the engine's worker pool: nine of the addon's waits (recvFd,
// notifyRecv, eventfdWait; more than libuv's four threads and Bun's one per CPU) are
// pending while a file is read through fs.promises, which runs on that pool. Prints one
// JSON line: the order things finished in and what each wait got. Run by
// test/unit/long-waits.test.ts on this process's engine (Node) and under Bun.
import { closeSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { native } from '../../src/native.js';

export interface LongWaitsReport {
  order: string[];
  results: string[];
}

export async function longWaits(file: string): Promise<LongWaitsReport> {
  const addon = native();
  const order: string[] = [];
  const toClose: number[] = [];
  const release: (() => void)[] = [];
  const waits: Promise<string>[] = [];
  const WAIT_MS = 20_000;
  for (let i = 0; i < 3; i++) {
    const [a, b] = addon.socketpair();
    toClose.push(a, b);
    // the peer closes its end: recvmsg reads 0, which recvFd rejects as EBADMSG
    release.push(() => closeSync(b));
    waits.push(addon.recvFd(a).then(String, (e: NodeJS.ErrnoException) => `recvFd ${e.code}`));
  }
  for (let i = 0; i < 3; i++) {
    const name = `@hako-long-waits-${process.pid}-${i}`;
    const listening = addon.notifyListen(name);
    const out = addon.notifyConnect(name);
    toClose.push(listening, out);
    release.push(() => addon.notifySend(out, Buffer.from(`READY=${i}`)));
    waits.push(addon.notifyRecv(listening, WAIT_MS).then((b) => `notifyRecv ${b === null ? 'timeout' : b.toString()}`));
  }
  for (let i = 0; i < 3; i++) {
    const [r, w] = addon.pipe();
    toClose.push(r, w);
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(BigInt(i + 1));
    release.push(() => void writeSync(w, count));
    waits.push(addon.eventfdWait(r, WAIT_MS).then((n) => `eventfdWait ${n === 0 ? 'timeout' : n}`));
  }
  const settled = waits.map((p) => p.then((r) => (order.push('wait'), r)));
  // Released only after the read, or after WAIT_MS when the read never came (the old,
  // pool-bound waits): then every wait times out or fails, and the order shows it.
  const timer = setTimeout(() => release.splice(0).forEach((f) => f()), WAIT_MS + 1000);
  await readFile(file);
  order.push('read');
  release.splice(0).forEach((f) => f());
  const results = await Promise.all(settled);
  clearTimeout(timer);
  for (const fd of toClose) {
    try {
      closeSync(fd);
    } catch {
      // closed by its release
    }
  }
  return { order, results };
}

// Run directly (under Bun): print the report.
if (process.argv[2] === '--run') {
  longWaits(process.argv[3]!).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`));
}
