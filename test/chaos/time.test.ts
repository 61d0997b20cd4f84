// Time: what hako waits on is bounded, reported and cleaned up. A hook that hangs past its
// timeout (prestart in the brain, createContainer in hako-init, poststart in the front),
// also one whose child holds its output pipes open after it is killed; a console socket
// nobody accepts (its backlog full); the host's NOTIFY_SOCKET that never reads; a
// --pid-file in a directory of a frozen file system (fsfreeze: a hung file system's
// stand-in). Needs root and dist/hako.
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, errorMessage, HAKO, hakoSkip, processesWith, uniqueMarker } from '../helpers/lifecycle.js';
import { cgroupParent, cgroupsLeft, containersIn, hkSpawn, reapAsAShim } from '../helpers/chaos.js';

const skip = asContainerTests(hakoSkip());

for (const kind of ['prestart', 'createContainer', 'poststart'] as const) {
  for (const holder of [false, true]) {
    t.test(`a ${kind} hook past its timeout${holder ? ', its child holding the output pipes' : ''}`, { skip }, async (t) => {
      const root = await makeStateRoot(t, HAKO);
      const parent = cgroupParent(t, 'time-hook');
      const marker = uniqueMarker('hook');
      // The hook runs on the host (prestart, poststart) or in the container (createContainer, from /bin/sh of the rootfs).
      const script = holder ? `sleep 30 & echo ${marker} >/dev/null; sleep 30; : ${marker}` : `sleep 30; : ${marker}`;
      const bundle = await makeBundle(t, {
        args: ['/bin/sleep', '1000'],
        edit: (s) => {
          s.hooks = { [kind]: [{ path: '/bin/sh', args: ['sh', '-c', script], timeout: 1 }] };
        },
      });
      const id = containerId('hook');
      bundle.spec.linux!.cgroupsPath = `${parent}/${id}`;
      await bundle.writeConfig();
      const stop = reapAsAShim();
      t.teardown(stop);
      const started = Date.now();
      const r = kind === 'poststart' ? await hkSpawn(root, ['run', '-d', '--bundle', bundle.dir, id], undefined, 25_000) : await hkSpawn(root, ['create', '--bundle', bundle.dir, id], undefined, 25_000);
      t.notOk(r.timedOut, `hako returned (after ${Date.now() - started} ms; the hook sleeps 30 s)`);
      t.equal(r.code, 1, 'and failed');
      t.match(errorMessage(r), /hook ran past specified timeout of 1\.0s/, 'saying why', { stderr: r.stderr });
      for (const p of processesWith(marker)) process.kill(p, 'SIGKILL');
      await hkSpawn(root, ['delete', '--force', id]);
      t.same(containersIn(root), [], 'no state dir left');
      t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup left');
      await stop();
      await checkNothingLeft(t, { noChildren: true });
    });
  }
}
