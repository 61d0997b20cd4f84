// The chaos tests' cgroup parent (test/helpers/chaos.ts cgroupParent) is removed at
// teardown even when a trial failed and left a container's cgroup under it with a process
// in it (frozen, too), and so is one left by an earlier run killed before its teardown.
// Before, the teardown only tried rmdir of the parent: a failed fuzz run left
// /hako-fuzz-<pid> in every hierarchy. Needs root.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { asContainerTests, hakoSkip } from '../helpers/lifecycle.js';
import { cgroupMounts, cgroupParent, cgroupsLeft, spawnHelper } from '../helpers/chaos.js';

const skip = asContainerTests(hakoSkip());

t.test("what a failed trial left under the parent, and an earlier run's parent, are removed", { skip }, async (t) => {
  let parent = '';
  // An earlier run's parent: a pid that is not running (above the kernel's pid_max).
  const stale = '/hako-cleanup-99999999';
  const sleeper = spawnHelper('sleep', ['1000'], { stdio: 'ignore' });
  const exited = new Promise((res) => sleeper.once('exit', res));
  await t.test('a trial that leaves a process in its cgroup', async (t) => {
    parent = cgroupParent(t, 'cleanup');
    let joined = 0;
    for (const m of cgroupMounts()) {
      const dir = path.join(m, parent, 'left', 'deeper');
      mkdirSync(dir, { recursive: true });
      mkdirSync(path.join(m, stale, 'x'), { recursive: true });
      try {
        writeFileSync(path.join(dir, 'cgroup.procs'), String(sleeper.pid));
        joined++;
      } catch {
        // cpuset without cpus or mems; the empty cgroup2 mount's threaded rules
      }
      if (m.endsWith('/freezer')) writeFileSync(path.join(dir, 'freezer.state'), 'FROZEN');
    }
    t.ok(cgroupsLeft(`${parent}/left/deeper`).length > 0 && joined > 0, `the cgroup is there, a process in it (in ${joined} hierarchies)`);
  });
  t.same(cgroupsLeft(parent), [], 'the parent is gone from every hierarchy');
  t.same(cgroupsLeft(stale), [], "and the earlier run's");
  t.ok(await Promise.race([exited.then(() => true), new Promise((res) => setTimeout(() => res(false), 5_000))]), 'its process was killed');
});
