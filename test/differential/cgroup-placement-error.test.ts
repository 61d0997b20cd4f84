// A process that cannot be placed in its cgroup, against runc 1.1.5: `exec --cgroup
// cpuset:sub` into a sub-cgroup whose cpuset.cpus is empty (the kernel refuses the pid
// with ENOSPC). Both say "error adding pid N to cgroups: failed to write N: write
// <dir>/cgroup.procs: no space left on device". Needs root, runc, dist/hako, the probe
// and a cgroup v1 cpuset hierarchy.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, differentialSkip, errorMessage, HAKO, readIfExists, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const CPUSET = '/sys/fs/cgroup/cpuset';
const skip = asContainerTests(differentialSkip() || (existsSync(path.join(CPUSET, 'cpuset.cpus')) ? false : `no cgroup v1 cpuset hierarchy at ${CPUSET}`));

t.test('exec into a sub-cgroup that refuses the pid: runc\'s words, the path and the errno', { skip }, async (t) => {
  const seen: Record<string, string> = {};
  for (const runtime of ['runc', HAKO]) {
    const id = containerId('cgerr');
    const cgroup = `/${id}`;
    const bundle = await makeBundle(t, { args: ['/bin/sleep', '1000'], edit: (spec) => void (spec.linux!.cgroupsPath = cgroup) });
    const root = await makeStateRoot(t, runtime);
    const dir = await scratchDir(t, 'cgerr');
    const pidFile = path.join(dir, 'pid');
    const sub = path.join(CPUSET, cgroup, 'sub');
    t.teardown(() => {
      try {
        rmdirSync(sub);
      } catch {
        // removed with the container's cgroup, or never made
      }
    });
    const run = await spawnRuntime(runtime, root, ['run', '-d', '--pid-file', pidFile, '--bundle', bundle.dir, id], {
      stdoutFile: path.join(dir, 'out'),
      stderrFile: path.join(dir, 'err'),
    });
    t.equal(run.code, 0, `${runtime}: run -d`, { stderr: run.stderr });
    mkdirSync(sub); // cpuset.cpus and cpuset.mems empty: no task may join
    const r = await runtimeCommand(runtime, root, ['exec', '--cgroup', 'cpuset:sub', id, '/bin/true']);
    t.equal(r.code, 255, `${runtime}: exec fails with 255`);
    const msg = errorMessage(r);
    t.match(msg, new RegExp(`error adding pid (\\d+) to cgroups: failed to write \\1: write ${sub}/cgroup.procs: no space left on device$`), `${runtime}: the message`);
    seen[runtime] = msg.replaceAll(id, 'ID').replace(/\d+/g, 'N');
    rmdirSync(sub);
    t.equal((await runtimeCommand(runtime, root, ['delete', '-f', id])).code, 0, `${runtime}: delete -f`);
    await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [Number(readIfExists(pidFile))] });
    if (runtime !== HAKO) {
      try {
        rmdirSync(path.join(CPUSET, cgroup)); // runc may leave an emptied cgroup of a killed container
      } catch {
        // gone
      }
    }
  }
  t.equal(seen[HAKO], seen.runc, 'the same words as runc\'s, the id and numbers aside');
});
