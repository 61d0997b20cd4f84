// The ENOSYS stub against runc 1.1.5: under Docker's default profile (deny by default),
// a syscall number above every one the profile names gets ENOSYS, so that libc falls
// back to an older call; one the profile names and denies still gets EPERM. Warm (the
// program read back from the cache) as cold. Needs root, runc, dist/hako and the probe.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { Spec } from '../../src/oci/types.js';
import { makeBundle } from '../helpers/rootfs.js';
import { parseProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, differentialSkip, HAKO, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

const DOCKER_FIXTURE = path.join(FIXTURES_DIR, 'docker-plain-1.json');
const skip = asContainerTests(differentialSkip() || (existsSync(DOCKER_FIXTURE) ? false : `${DOCKER_FIXTURE} not found`));
const ABOVE = 1000; // above every x86_64 and aarch64 syscall number
const UNSHARE = process.arch === 'arm64' ? 97 : 272; // named by the profile (denied without CAP_SYS_ADMIN)

t.test("Docker's profile: a syscall above the profile's highest gets ENOSYS, as under runc", { skip }, async (t) => {
  const docker = JSON.parse(readFileSync(DOCKER_FIXTURE, 'utf8')) as Spec;
  const seen: Record<string, unknown[]> = {};
  for (const runtime of ['runc', HAKO]) {
    const bundle = await makeBundle(t, {
      args: ['/probe', '--syscall', String(ABOVE), '--syscall', String(UNSHARE)],
      edit: (spec) => {
        spec.linux!.seccomp = docker.linux!.seccomp;
        spec.process!.capabilities = docker.process!.capabilities;
      },
    });
    const root = await makeStateRoot(t, runtime);
    const dir = await scratchDir(t, 'enosys');
    seen[runtime] = [];
    for (const round of ['cold', 'warm']) {
      const r = await spawnRuntime(runtime, root, ['run', '--bundle', bundle.dir, containerId('enosys')], {
        stdoutFile: path.join(dir, 'out'),
        stderrFile: path.join(dir, 'err'),
      });
      t.equal(r.code, 0, `${runtime} ${round}: exit 0`, { stderr: r.stderr });
      const report = parseProbeReport(r.stdout);
      seen[runtime]!.push(report.syscall);
      t.equal(report.syscall?.[String(ABOVE)]?.error, 'ENOSYS', `${runtime} ${round}: syscall ${ABOVE}: ENOSYS`);
      t.equal(report.syscall?.[String(UNSHARE)]?.error, 'EPERM', `${runtime} ${round}: unshare (named, denied): EPERM`);
    }
    if (runtime === HAKO) await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
  }
  t.same(seen[HAKO], seen.runc, 'hako answers as runc');
});
