// Filesystem options (mode=, size=) on a bind mount, as the OCI conformance suite sends
// them on every mount: runc 1.1.5 runs the container (the kernel ignores them), hako
// too; `hako validate` and `hako --debug run` warn that they have no effect.
// Needs root, dist/hako, runc and the probe.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { parseProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, differentialSkip, HAKO, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(differentialSkip());

t.test('bind mount with mode=755 and size=1k: runs under runc and hako; validate and --debug warn', { skip }, async (t) => {
  const src = await scratchDir(t, 'binddata');
  mkdirSync(path.join(src, 'dir'));
  writeFileSync(path.join(src, 'dir', 'seen'), 'yes\n');
  const bind = { destination: '/data', type: 'bind', source: path.join(src, 'dir'), options: ['rbind', 'mode=755', 'size=1k', 'ro'] };
  for (const runtime of ['runc', HAKO]) {
    const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', 'cat /data/seen; exec /probe'], edit: (spec) => spec.mounts!.push(bind) });
    const root = await makeStateRoot(t, runtime);
    const dir = await scratchDir(t, 'binddata');
    const args = runtime === HAKO ? ['--debug', 'run'] : ['run'];
    const r = await spawnRuntime(runtime, root, [...args, '--bundle', bundle.dir, containerId('binddata')], {
      stdoutFile: path.join(dir, 'out'),
      stderrFile: path.join(dir, 'err'),
    });
    t.equal(r.code, 0, `${runtime}: exit 0`, { stderr: r.stderr });
    const lines = r.stdout.trim().split('\n');
    t.equal(lines[0], 'yes', `${runtime}: the bind is there`);
    const data = parseProbeReport(lines.at(-1) ?? '').mounts?.find((m) => m.mount_point === '/data');
    t.ok(data?.options.includes('ro'), `${runtime}: read-only, as asked`);
    if (runtime !== HAKO) continue;
    for (const [k, o] of [[1, 'mode=755'], [2, 'size=1k']] as const) {
      const pointer = `/mounts/${bundle.spec.mounts!.length - 1}/options/${k}`;
      t.match(r.stderr, new RegExp(`level=warning msg=".*${pointer}: \\\\"${o}\\\\" is a filesystem option: it has no effect on a bind mount`), `--debug: ${o} warned about`);
    }
    const v = await runtimeCommand(HAKO, root, ['validate', '--bundle', bundle.dir]);
    t.equal(v.code, 0, 'validate: exit 0', { stdout: v.stdout });
    t.match(v.stdout, /: warning: "mode=755" is a filesystem option: it has no effect on a bind mount\n/, 'validate warns');
    const quiet = await spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, containerId('binddata')]);
    t.equal(quiet.code, 0, 'without --debug: exit 0');
    t.notMatch(quiet.stderr, /filesystem option/, 'without --debug: no warning');
    await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
  }
});
