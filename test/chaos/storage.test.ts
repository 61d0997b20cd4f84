// Storage faults under the state root: a tiny tmpfs that fills up (create fails at its
// first write, or at its last, after the init exists), one remounted read-only, and one
// removed under a running container. Each create that fails says why (the file and the
// errno) and leaves nothing; an existing container can still be killed and deleted (once
// the root is writable again, when it is read-only). Needs root and dist/hako.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { containerId } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, errorMessage, hakoSkip, isAlive, scratchDir, waitFor } from '../helpers/lifecycle.js';
import { cgroupParent, cgroupsLeft, containersIn, hkSpawn, reapAsAShim } from '../helpers/chaos.js';

const skip = asContainerTests(hakoSkip());
// Longer than tap's 120 s default on a busy shared machine; test:chaos sets its own.
if (!process.env.HAKO_CHAOS) t.setTimeout(600_000);

/** A tmpfs of `size` at a new directory, unmounted at teardown. */
async function tinyRoot(t: Test, size: string): Promise<string> {
  const dir = path.join(await scratchDir(t, 'storage'), 'root');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'hako-chaos', dir]);
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', dir]);
    } catch {
      // removed by the test itself
    }
  });
  return dir;
}

async function bundleIn(t: Test, parent: string, id: string, env: string[] = []): Promise<Bundle> {
  const b = await makeBundle(t, { args: ['/bin/sleep', '1000'], edit: (s) => s.process!.env!.push(...env) });
  b.spec.linux!.cgroupsPath = `${parent}/${id}`;
  await b.writeConfig();
  return b;
}

const statusOf = async (root: string, id: string) => (JSON.parse((await hkSpawn(root, ['state', id])).stdout) as { status: string; pid: number });

/** Fills `root` until `keep` bytes are left free. */
function fill(root: string, keep: number): string {
  const file = path.join(root, 'filler');
  const st = statfsSync(root);
  const free = st.bavail * st.bsize;
  writeFileSync(file, Buffer.alloc(Math.max(0, free - keep)));
  return file;
}

t.test('the state root fills up', { skip }, async (t) => {
  const root = await tinyRoot(t, '256k');
  const parent = cgroupParent(t, 'storage-full');
  const stop = reapAsAShim();
  t.teardown(stop);
  const a = containerId('full-a');
  const ba = await bundleIn(t, parent, a);
  t.equal((await hkSpawn(root, ['run', '-d', '--bundle', ba.dir, a])).code, 0, 'a container runs');

  // No room at all: the first write (the record's early form) fails.
  fill(root, 0);
  const b = containerId('full-b');
  const bb = await bundleIn(t, parent, b);
  const r = await hkSpawn(root, ['create', '--bundle', bb.dir, b]);
  t.equal(r.code, 1, 'create fails');
  t.match(errorMessage(r), /no space left on device/, 'and says why', { stderr: r.stderr });
  t.match(errorMessage(r), new RegExp(root.replace(/[/.]/g, '\\$&')), 'naming the file');
  t.same(containersIn(root).filter((e) => e !== 'filler'), [a], 'no state dir of the failed create');
  t.same(cgroupsLeft(`${parent}/${b}`), [], 'no cgroup of the failed create');

  // Room for the early record but not the complete one (a config with 40 KB of env):
  // the init exists by then, and is killed and reaped.
  execFileSync('rm', [path.join(root, 'filler')]);
  const c = containerId('full-c');
  const bc = await bundleIn(t, parent, c, [`BIG=${'x'.repeat(40_000)}`]);
  fill(root, 3 * 4096);
  const rc = await hkSpawn(root, ['create', '--bundle', bc.dir, c]);
  t.equal(rc.code, 1, 'create fails at its last write');
  t.match(errorMessage(rc), /no space left on device/, 'and says why', { stderr: rc.stderr });
  t.same(containersIn(root).filter((e) => e !== 'filler'), [a], 'no state dir of the failed create');
  t.same(cgroupsLeft(`${parent}/${c}`), [], 'no cgroup of the failed create');

  // The running one, on a full root.
  t.equal((await statusOf(root, a)).status, 'running', 'state of the running one');
  t.equal((await hkSpawn(root, ['kill', a, 'KILL'])).code, 0, 'kill');
  await waitFor('it to stop', async () => (await statusOf(root, a)).status === 'stopped');
  const d = await hkSpawn(root, ['delete', a]);
  t.equal(d.code, 0, 'delete', { stderr: d.stderr });
  t.same(cgroupsLeft(`${parent}/${a}`), [], 'its cgroup is gone');
  await stop();
  await checkNothingLeft(t, { noChildren: true });
  t.same(containersIn(root).filter((e) => e !== 'filler'), [], 'nothing left in the root');
});

t.test('the state root read-only', { skip }, async (t) => {
  const root = await tinyRoot(t, '1m');
  const parent = cgroupParent(t, 'storage-ro');
  const stop = reapAsAShim();
  t.teardown(stop);
  const a = containerId('ro-a');
  const ba = await bundleIn(t, parent, a);
  t.equal((await hkSpawn(root, ['run', '-d', '--bundle', ba.dir, a])).code, 0, 'a container runs');
  const pid = (await statusOf(root, a)).pid;
  execFileSync('mount', ['-o', 'remount,ro', root]);
  t.teardown(() => execFileSync('mount', ['-o', 'remount,rw', root]));
  const b = containerId('ro-b');
  const bb = await bundleIn(t, parent, b);
  const r = await hkSpawn(root, ['create', '--bundle', bb.dir, b]);
  t.equal(r.code, 1, 'create fails');
  t.match(errorMessage(r), new RegExp(`read-only file system.*${b}|${b}.*read-only file system`), 'and says why, naming the directory', { stderr: r.stderr });
  t.same(cgroupsLeft(`${parent}/${b}`), [], 'no cgroup of the failed create');
  t.equal((await statusOf(root, a)).status, 'running', 'state of the running one');
  const d = await hkSpawn(root, ['delete', '--force', a]);
  t.equal(d.code, 1, 'delete --force cannot remove the state dir');
  t.match(errorMessage(d), /read-only file system/, 'and says so', { stderr: d.stderr });
  t.notOk(isAlive(pid), 'but the container was killed');
  t.same(cgroupsLeft(`${parent}/${a}`), [], 'and its cgroup removed');
  t.equal((await statusOf(root, a)).status, 'stopped', 'state: stopped');
  execFileSync('mount', ['-o', 'remount,rw', root]);
  t.equal((await hkSpawn(root, ['delete', a])).code, 0, 'writable again: delete');
  t.same(containersIn(root), [], 'nothing left in the root');
  await stop();
  await checkNothingLeft(t, { noChildren: true });
});

t.test('the state root removed under a running container', { skip }, async (t) => {
  const dir = await scratchDir(t, 'storage-rm');
  const root = path.join(dir, 'root');
  const parent = cgroupParent(t, 'storage-rm');
  const stop = reapAsAShim();
  t.teardown(stop);
  const a = containerId('rm-a');
  const ba = await bundleIn(t, parent, a);
  t.equal((await hkSpawn(root, ['run', '-d', '--bundle', ba.dir, a])).code, 0, 'a container runs');
  const pid = (await statusOf(root, a)).pid;
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  execFileSync('rm', ['-rf', root]);
  t.match(errorMessage(await hkSpawn(root, ['state', a])), /container does not exist/, 'state: the container does not exist (its record is gone)');
  const b = containerId('rm-b');
  const bb = await bundleIn(t, parent, b);
  t.equal((await hkSpawn(root, ['run', '-d', '--bundle', bb.dir, b])).code, 0, 'a new container is created (the root is made again)');
  t.equal((await hkSpawn(root, ['delete', '--force', b])).code, 0, 'and deleted');
  t.ok(existsSync(`/proc/${pid}`), 'the first container runs on, out of hako\'s sight (see RELIABILITY.md)');
  process.kill(pid, 'SIGKILL');
  await waitFor('it to die', () => !isAlive(pid));
  for (const d of cgroupsLeft(`${parent}/${a}`)) execFileSync('rmdir', [d]);
  await stop();
  await checkNothingLeft(t, { noChildren: true });
});
