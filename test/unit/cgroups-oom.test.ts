// The v2 OOM watch (inotify on memory.events) against a throwaway directory standing in for
// a cgroup: an event for each growth of oom_kill, none for other counters, stop() ends it.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { V2Cgroup } from '../../src/cgroups/v2.js';

const events = (oomKill: number, high = 0): string => `low 0\nhigh ${high}\nmax 0\noom ${oomKill}\noom_kill ${oomKill}\n`;
const settle = (ms = 150): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('v2: memory.events modified with a larger oom_kill is an OOM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-oom-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'memory.events'), events(0));
  const cg = new V2Cgroup({ '': dir });
  let ooms = 0;
  const w = cg.watchOom({ oom: () => ooms++ });
  t.ok(w, 'a watch on a cgroup with memory.events');
  await settle();
  writeFileSync(join(dir, 'memory.events'), events(0, 5));
  await settle();
  t.equal(ooms, 0, 'another counter growing is no OOM');
  writeFileSync(join(dir, 'memory.events'), events(1, 5));
  await settle();
  t.equal(ooms, 1, 'oom_kill 0 -> 1: one event');
  writeFileSync(join(dir, 'memory.events'), events(3, 5));
  await settle();
  t.equal(ooms, 2, 'oom_kill 1 -> 3: one more');
  w!.stop();
  writeFileSync(join(dir, 'memory.events'), events(9, 5));
  await settle();
  t.equal(ooms, 2, 'nothing after stop()');
});

t.test('v2: no memory controller, no watch', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-oom-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(new V2Cgroup({ '': dir }).watchOom({ oom: () => undefined }), undefined);
});
