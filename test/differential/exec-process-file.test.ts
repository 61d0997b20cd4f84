// exec -p process.json without `user`: runc 1.1.5 runs the process as uid 0, gid 0;
// hako does the same. Needs root, runc, dist/hako and the probe.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { parseProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, differentialSkip, HAKO, readIfExists, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(differentialSkip());

t.test('exec -p with a process without user: uid 0, gid 0, as runc', { skip }, async (t) => {
  for (const runtime of ['runc', HAKO]) {
    const bundle = await makeBundle(t, {
      args: ['/bin/sleep', '1000'],
      edit: (spec) => void (spec.process!.user = { uid: 1000, gid: 1000 }),
    });
    const root = await makeStateRoot(t, runtime);
    const dir = await scratchDir(t, 'execp');
    const id = containerId('execp');
    const pidFile = path.join(dir, 'pid');
    const run = await spawnRuntime(runtime, root, ['run', '-d', '--pid-file', pidFile, '--bundle', bundle.dir, id], {
      stdoutFile: path.join(dir, 'out'),
      stderrFile: path.join(dir, 'err'),
    });
    t.equal(run.code, 0, `${runtime}: run -d`, { stderr: run.stderr });
    const file = path.join(dir, 'process.json');
    writeFileSync(file, JSON.stringify({ args: ['/probe'], cwd: '/', env: ['PATH=/bin'] }));
    const r = await runtimeCommand(runtime, root, ['exec', '-p', file, id]);
    t.equal(r.code, 0, `${runtime}: exec -p exits 0`, { stderr: r.stderr });
    const report = r.code === 0 ? parseProbeReport(r.stdout) : undefined;
    t.same(report?.uid, { real: 0, effective: 0, saved: 0, fs: 0 }, `${runtime}: uid 0`);
    t.same(report?.gid, { real: 0, effective: 0, saved: 0, fs: 0 }, `${runtime}: gid 0`);
    t.equal((await runtimeCommand(runtime, root, ['delete', '-f', id])).code, 0, `${runtime}: delete -f`);
    await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [Number(readIfExists(pidFile))] });
  }
});
