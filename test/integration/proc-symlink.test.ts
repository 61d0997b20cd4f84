// A rootfs whose /proc or /sys (or the destination of any other procfs or sysfs mount)
// is a symlink: runc refuses it, "must be mounted on ordinary directory" (its fix for
// CVE-2019-16884), where the mount would land at the link's target. hako refuses the
// same, and leaves nothing behind. Needs root, dist/hako, runc and the probe.
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, differentialSkip, errorMessage, HAKO } from '../helpers/lifecycle.js';

const skip = asContainerTests(differentialSkip());

const CASES = [
  { name: '/proc', type: 'proc', dest: '/proc', extra: false },
  { name: '/sys', type: 'sysfs', dest: '/sys', extra: false },
  { name: 'a second procfs at /proc2', type: 'proc', dest: '/proc2', extra: true },
  { name: 'a second sysfs at /sys2', type: 'sysfs', dest: '/sys2', extra: true },
] as const;

for (const c of CASES) {
  t.test(`${c.name} is a symlink in the rootfs: refused as runc refuses it`, { skip }, async (t) => {
    for (const runtime of ['runc', HAKO]) {
      const bundle = await makeBundle(t, {
        edit: (spec) => {
          if (c.extra) spec.mounts!.push({ destination: c.dest, type: c.type, source: c.type });
        },
      });
      const link = path.join(bundle.rootfs, c.dest);
      rmSync(link, { recursive: true, force: true });
      mkdirSync(path.join(bundle.rootfs, 'elsewhere'));
      symlinkSync('/elsewhere', link);
      const root = await makeStateRoot(t, runtime);
      const r = await runtimeCommand(runtime, root, ['run', '--bundle', bundle.dir, containerId('symproc')]);
      t.equal(r.code, 1, `${runtime}: exit 1`);
      t.match(errorMessage(r), `filesystem "${c.type}" must be mounted on ordinary directory`, `${runtime}: the reason`, { stderr: r.stderr });
      t.match(errorMessage(r), `"${c.dest}"`, `${runtime}: names the destination`);
      if (runtime === HAKO) await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
    }
  });
}
