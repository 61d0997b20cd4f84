// Time: what hako waits on is bounded, reported and cleaned up. A hook that hangs past its
// timeout (prestart in the brain, createContainer in hako-init, poststart in the front),
// also one whose child holds its output pipes open after it is killed; a console socket
// nobody accepts (its backlog full); the host's NOTIFY_SOCKET that never reads; a
// --pid-file in a directory of a frozen file system (fsfreeze: a hung file system's
// stand-in). Needs root and dist/hako.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, errorMessage, HAKO, hakoSkip, liveChildren, processesWith, scratchDir, uniqueMarker, waitFor, zombieChildren } from '../helpers/lifecycle.js';
import { FULL, cgroupParent, cgroupsLeft, containersIn, hkSpawn, reapAsAShim, spawnHelper } from '../helpers/chaos.js';

const skip = asContainerTests(hakoSkip());
// Longer than tap's 120 s default on a busy shared machine; test:chaos sets its own.
if (!process.env.HAKO_CHAOS) t.setTimeout(600_000);

for (const kind of ['prestart', 'createContainer', 'poststart'] as const) {
  for (const holder of FULL ? [false, true] : [false]) {
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
      if (kind === 'poststart') {
        // The runtime spec: a failed poststart hook is a warning, and start goes on.
        t.equal(r.code, 0, 'and went on', { stderr: r.stderr });
        t.match(r.stderr, /level=warning.*hook ran past specified timeout of 1\.0s/, 'warning why');
      } else {
        t.equal(r.code, 1, 'and failed');
        t.match(errorMessage(r), /hook ran past specified timeout of 1\.0s/, 'saying why', { stderr: r.stderr });
      }
      for (const p of processesWith(marker)) process.kill(p, 'SIGKILL');
      await hkSpawn(root, ['delete', '--force', id]);
      t.same(containersIn(root), [], 'no state dir left');
      t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup left');
      await stop();
      await checkNothingLeft(t, { noChildren: true });
    });
  }
}

// A console socket that listens but never accepts: with room in its backlog the connection
// is queued and create goes on (the pty master waits in the queue: bounded, nothing is
// waited for); with the backlog full, create fails at once saying so. Nothing is left.
t.test('a console socket nobody accepts', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const parent = cgroupParent(t, 'time-console');
  const dir = await scratchDir(t, 'console');
  const sock = path.join(dir, 'console.sock');
  const py = String.raw`
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(0)
fillers = []
if sys.argv[2] == 'full':
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(sys.argv[1]); fillers.append(c)
print('listening', flush=True)
time.sleep(60)
`;
  for (const backlog of ['room', 'full'] as const) {
    const listener = spawnHelper('python3', ['-c', py, sock, backlog], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => listener.kill('SIGKILL'));
    let out = '';
    listener.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor('the listener', () => out.includes('listening'));
    const bundle = await makeBundle(t, { args: ['/bin/sleep', '1000'], edit: (s) => (s.process!.terminal = true) });
    const id = containerId('console');
    bundle.spec.linux!.cgroupsPath = `${parent}/${id}`;
    await bundle.writeConfig();
    const stop = reapAsAShim();
    const r = await hkSpawn(root, ['create', '--console-socket', sock, '--bundle', bundle.dir, id], undefined, 25_000);
    t.notOk(r.timedOut, `${backlog}: create returned`);
    if (backlog === 'room') t.equal(r.code, 0, 'room in the backlog: create goes on', { stderr: r.stderr });
    else {
      t.equal(r.code, 1, 'backlog full: create fails');
      t.match(errorMessage(r), new RegExp(`^hako create failed: dial unix ${sock.replace(/[/.]/g, '\\$&')}: connect: resource temporarily unavailable$`), 'naming the socket and why', { stderr: r.stderr });
    }
    t.equal((await hkSpawn(root, ['delete', '--force', id])).code, 0, 'delete --force');
    listener.kill('SIGKILL');
    await new Promise((res) => listener.once('exit', res));
    await stop();
    t.same(containersIn(root), [], 'no state dir left');
    t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup left');
    await checkNothingLeft(t, { noChildren: true });
    rmSync(sock, { force: true });
  }
});

// The host's NOTIFY_SOCKET never reads (its queue full, as a hung systemd's would be):
// start used to wait for room for ever; it gives up after 10 s and says so. The container
// runs on (it was started); delete --force removes it.
t.test('a NOTIFY_SOCKET that never reads', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const parent = cgroupParent(t, 'time-notify');
  const dir = await scratchDir(t, 'notify');
  const sock = path.join(dir, 'host.sock');
  const py = String.raw`
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
# Fillers until a fresh one cannot send: the receiver's queue is full (not a sender's buffer).
fillers = []
while True:
    f = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    f.setblocking(False)
    fillers.append(f)
    sent = 0
    try:
        while True:
            f.sendto(b'x', sys.argv[1])
            sent += 1
    except BlockingIOError:
        pass
    if sent == 0:
        break
print('full', flush=True)
time.sleep(120)
`;
  const listener = spawnHelper('python3', ['-c', py, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => listener.kill('SIGKILL'));
  let out = '';
  listener.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor('the host socket to fill', () => out.includes('full'));
  const bundle = await makeBundle(t, { args: ['/probe', '--notify', 'READY=1', '--sleep', 'inf'] });
  const id = containerId('notify');
  bundle.spec.linux!.cgroupsPath = `${parent}/${id}`;
  await bundle.writeConfig();
  const stop = reapAsAShim();
  t.equal((await hkSpawn(root, ['create', '--bundle', bundle.dir, id], { NOTIFY_SOCKET: sock })).code, 0, 'create');
  const r = await hkSpawn(root, ['start', id], { NOTIFY_SOCKET: sock }, 40_000);
  t.notOk(r.timedOut, 'start returned');
  t.equal(r.code, 1, 'and failed');
  t.match(errorMessage(r), new RegExp(`write unixgram ${sock.replace(/[/.]/g, '\\$&')}: send: .*nothing read the socket for 10 s`), 'saying why', { stderr: r.stderr });
  t.equal((await hkSpawn(root, ['delete', '--force', id])).code, 0, 'delete --force');
  listener.kill('SIGKILL');
  await new Promise((res) => listener.once('exit', res));
  await stop();
  t.same(containersIn(root), [], 'no state dir left');
  t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup left');
  await checkNothingLeft(t, { noChildren: true });
});

/**
 * A small ext4 file system on a loop device, mounted in a scratch dir; frozen with fsfreeze
 * (a hung file system's stand-in: every write to it sleeps, uninterruptibly, until it is
 * thawed). Thawed, unmounted and its loop device detached at teardown, whatever happened.
 */
async function frozenFileSystem(t: Test): Promise<{ mnt: string; thaw: () => void }> {
  // Its own scratch dir, removed after the umount (never while mounted).
  const dir = mkdtempSync(path.join(tmpdir(), 'hako-frozen-'));
  const image = path.join(dir, 'fs.img');
  const mnt = path.join(dir, 'mnt');
  let frozen = false;
  const thaw = () => {
    if (frozen) execFileSync('fsfreeze', ['-u', mnt]);
    frozen = false;
  };
  t.teardown(() => {
    if (frozen) spawnSync('fsfreeze', ['-u', mnt]);
    const loop = spawnSync('findmnt', ['-n', '-o', 'SOURCE', mnt], { encoding: 'utf8' }).stdout.trim();
    if (loop) spawnSync('umount', [mnt]);
    // mount -o loop detaches its device on umount (autoclear); once more in case it did not
    if (loop.startsWith('/dev/loop')) spawnSync('losetup', ['-d', loop]);
    if (spawnSync('mountpoint', ['-q', mnt]).status !== 0) rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(mnt);
  execFileSync('truncate', ['-s', '32M', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  execFileSync('mount', ['-o', 'loop', image, mnt]);
  execFileSync('fsfreeze', ['-f', mnt]);
  frozen = true;
  return { mnt, thaw };
}

/** The container's processes with marker in their command line (the pid-file writer hako abandoned, a fork of hako's, has it too until the thaw). */
function running(marker: string): number[] {
  return processesWith(marker).filter((p) => {
    try {
      return ['sh', 'sleep'].includes(readFileSync(`/proc/${p}/comm`, 'utf8').trim());
    } catch {
      return false;
    }
  });
}

// A --pid-file in a frozen file system: runc 1.1.5 blocks in open(2) of the pid file for as
// long as it is frozen; SIGKILL leaves it a zombie whose thread sleeps in the kernel
// (percpu_rwsem_wait, in mnt_want_write) until the thaw, with its container left
// 'created' and, after the thaw, an empty .pid beside the pid file. hako gives the file
// system 10 s: the command fails naming the file and why, and the container (create,
// run -d) or the process (exec -d) is gone with everything it had; once thawed, nothing
// is left in the file system either.
for (const verb of FULL ? (['create', 'run -d', 'exec -d'] as const) : (['create'] as const)) {
  t.test(`${verb} --pid-file in a frozen file system`, { skip }, async (t) => {
    const root = await makeStateRoot(t, HAKO);
    const parent = cgroupParent(t, 'time-pidfile');
    const marker = uniqueMarker('pidfile');
    const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', `sleep 1000; : ${marker}`] });
    const id = containerId('pidfile');
    bundle.spec.linux!.cgroupsPath = `${parent}/${id}`;
    await bundle.writeConfig();
    const stop = reapAsAShim();
    t.teardown(stop);
    if (verb === 'exec -d') t.equal((await hkSpawn(root, ['run', '-d', '--bundle', bundle.dir, id])).code, 0, 'the container runs');
    const { mnt, thaw } = await frozenFileSystem(t);
    const pidFile = path.join(mnt, 'pid');
    const args =
      verb === 'create'
        ? ['create', '--pid-file', pidFile, '--bundle', bundle.dir, id]
        : verb === 'run -d'
          ? ['run', '-d', '--pid-file', pidFile, '--bundle', bundle.dir, id]
          : ['exec', '-d', '--pid-file', pidFile, id, '/bin/sh', '-c', `sleep 1000; : ${marker}-exec`];
    const started = Date.now();
    // A hako that blocks in the kernel outlives even SIGKILL: thawed at 45 s, it can end
    // (and this test fail) instead of hanging until the file system is thawed at teardown.
    const watchdog = setTimeout(thaw, 45_000);
    const r = await hkSpawn(root, args, undefined, 60_000);
    clearTimeout(watchdog);
    const took = Date.now() - started;
    t.ok(took < 45_000 && !r.timedOut, `hako returned while the file system was frozen (after ${took} ms)`);
    // exec's failures exit 255, as runc's
    t.equal(r.code, verb === 'exec -d' ? 255 : 1, 'and failed', { stderr: r.stderr });
    const tmp = path.join(mnt, '.pid').replace(/[/.]/g, '\\$&');
    t.match(errorMessage(r), new RegExp(`open ${tmp}: the file system did not answer in 10 s \\(frozen or hung\\?\\); pid file ${pidFile.replace(/[/.]/g, '\\$&')} not written`), 'naming the file and why');
    if (verb === 'exec -d') {
      t.same(running(`${marker}-exec`), [], "the exec'd process is gone");
      t.equal(JSON.parse((await hkSpawn(root, ['state', id])).stdout).status, 'running', 'the container runs on');
      t.equal((await hkSpawn(root, ['delete', '--force', id])).code, 0, 'delete --force');
    } else {
      t.same(containersIn(root), [], 'no state dir left');
      t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup left');
    }
    t.same(running(marker), [], 'no container process left');
    // The writer hako gave up on sleeps in the kernel until the thaw, then removes what it made and exits.
    thaw();
    // It was re-parented to this subreaper when hako exited: gone once it has exited and the reaper reaped it.
    await waitFor('the abandoned pid-file writer to finish', () => liveChildren().length === 0 && zombieChildren().length === 0, 10_000).catch(() => undefined);
    t.same(readdirSync(mnt).filter((e) => e !== 'lost+found'), [], 'thawed: no pid file, no .pid left in the file system');
    t.same(containersIn(root), [], 'no state dir left');
    t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup left');
    await stop();
    await checkNothingLeft(t, { noChildren: true, markers: [marker] });
  });
}
