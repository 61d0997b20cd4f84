// Who owns the container's pty, against runc 1.1.5: `run -t` and `exec -t` chown it to
// the process's uid and leave its group the tty group (gid=5 of the devpts mount), with
// and without a user namespace. Needs root, dist/hako, runc, the probe and python3.
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, chownTree, differentialSkip, HAKO, onTerminal, readIfExists, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(differentialSkip());
const STAT = ['/bin/sh', '-c', 'stat -L -c "pty=%u:%g" /proc/self/fd/0; stat -L -c "out=%u:%g" /proc/self/fd/1'];

async function bundleFor(t: Test, userns: boolean, args: string[], terminal: boolean): Promise<Bundle> {
  const bundle = await makeBundle(t, {
    args,
    edit: (spec) => {
      spec.process!.terminal = terminal;
      spec.process!.user = { uid: 1000, gid: 1000 };
      if (userns) {
        spec.linux!.namespaces!.push({ type: 'user' });
        spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
    },
  });
  if (userns) await chownTree(bundle.rootfs, 100000, 100000);
  return bundle;
}

const owners = (out: string): string[] => out.split('\n').map((l) => l.trim()).filter((l) => /^(pty|out)=/.test(l));

for (const userns of [false, true]) {
  const label = userns ? ' (user namespace)' : '';
  t.test(`run -t: the pty is the process's uid, the tty group's${label}`, { skip }, async (t) => {
    const seen: Record<string, string[]> = {};
    for (const runtime of ['runc', HAKO]) {
      const bundle = await bundleFor(t, userns, STAT, true);
      const root = await makeStateRoot(t, runtime);
      const got = await onTerminal(t, [runtime, '--root', root, 'run', '--bundle', bundle.dir, containerId('ttyown')]);
      t.equal(got.code, 0, `${runtime}: exit 0`, { out: got.out });
      seen[runtime] = owners(got.out);
      if (runtime === HAKO) await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
    }
    t.same(seen.runc, ['pty=1000:5', 'out=1000:5'], 'runc: uid 1000, gid 5');
    t.same(seen[HAKO], seen.runc, 'hako: as runc');
  });

  t.test(`exec -t: the pty is the process's uid, the tty group's${label}`, { skip }, async (t) => {
    const seen: Record<string, string[]> = {};
    for (const runtime of ['runc', HAKO]) {
      const bundle = await bundleFor(t, userns, ['/bin/sleep', '1000'], false);
      const root = await makeStateRoot(t, runtime);
      const dir = await scratchDir(t, 'ttyown');
      const id = containerId('ttyown');
      const pidFile = path.join(dir, 'pid');
      const run = await spawnRuntime(runtime, root, ['run', '-d', '--pid-file', pidFile, '--bundle', bundle.dir, id], {
        stdoutFile: path.join(dir, 'out'),
        stderrFile: path.join(dir, 'err'),
      });
      t.equal(run.code, 0, `${runtime}: run -d`, { stderr: run.stderr });
      const got = await onTerminal(t, [runtime, '--root', root, 'exec', '-t', '--user', '1000:1000', id, ...STAT]);
      t.equal(got.code, 0, `${runtime}: exec exits 0`, { out: got.out });
      seen[runtime] = owners(got.out);
      t.equal((await runtimeCommand(runtime, root, ['delete', '-f', id])).code, 0, `${runtime}: delete -f`);
      await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [Number(readIfExists(pidFile))] });
    }
    t.same(seen.runc, ['pty=1000:5', 'out=1000:5'], 'runc: uid 1000, gid 5');
    t.same(seen[HAKO], seen.runc, 'hako: as runc');
  });
}
