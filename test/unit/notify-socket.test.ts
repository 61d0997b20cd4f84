// NOTIFY_SOCKET's logic without a container: the spec the container runs with, and the
// forwarding (the front's, through the addon) end to end: which datagram is forwarded and
// as what (no root: sockets in a temp dir, an init played by this process).
import t from 'tap';
import { closeSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { spawnSync } from 'node:child_process';
import {
  forwardReady,
  hostNotifySocket,
  listenNotifySocket,
  makeNotifyDir,
  notifySocketPath,
  withNotifySocket,
} from '../../src/container/notify-socket.js';
import { readProcStat } from '../../src/container/status.js';
import { devBuildDir, native } from '../../src/native.js';

const addonSkip = existsSync(join(devBuildDir(), 'hako.node')) ? false : 'addon not built (npm run build)';

t.test('hostNotifySocket: unset and empty mean none', async (t) => {
  t.equal(hostNotifySocket({}), undefined);
  t.equal(hostNotifySocket({ NOTIFY_SOCKET: '' }), undefined);
  t.equal(hostNotifySocket({ NOTIFY_SOCKET: '/run/systemd/notify' }), '/run/systemd/notify');
});

t.test('withNotifySocket: a read-only bind of <state>/notify at /run/notify after the bundle mounts, and the env', async (t) => {
  const spec = defaultSpec();
  spec.process!.env = ['PATH=/bin', 'NOTIFY_SOCKET=/somewhere/else', 'TERM=xterm'];
  const before = JSON.stringify(spec);
  const out = withNotifySocket(spec, '/run/hako/c1');
  t.equal(JSON.stringify(spec), before, 'the input spec is not changed');
  t.same(out.mounts!.slice(0, spec.mounts!.length), spec.mounts, 'the bundle mounts come first, unchanged');
  t.same(out.mounts!.at(-1), { destination: '/run/notify', source: '/run/hako/c1/notify', options: ['bind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  t.same(out.process!.env, ['PATH=/bin', 'TERM=xterm', 'NOTIFY_SOCKET=/run/notify/notify.sock'], "the bundle's NOTIFY_SOCKET is replaced");
  t.equal(notifySocketPath('/run/hako/c1'), '/run/hako/c1/notify/notify.sock');
});

t.test('listen, forward: READY with MAINPID reaches the host socket; other datagrams do not', { skip: addonSkip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-notify-'));
  const fds: number[] = [];
  t.teardown(() => {
    fds.forEach((fd) => closeSync(fd));
    rmSync(dir, { recursive: true, force: true });
  });
  const host = join(dir, 'host.sock');
  const hostFd = native().notifyListen(host);
  fds.push(hostFd);
  t.throws(() => listenNotifySocket(dir), /listen unixgram .*notify\/notify\.sock: bind .*No such file or directory/, 'no notify/ yet');
  makeNotifyDir(dir);
  t.equal(statSync(join(dir, 'notify')).mode & 0o7777, 0o755);
  const listening = listenNotifySocket(dir);
  fds.push(listening);
  t.equal(statSync(notifySocketPath(dir)).mode & 0o777, 0o777, 'anyone in the container may send');

  // The init: this process while it runs (its start time from /proc); gone: a child that exited.
  const alive = { pid: process.pid, initStartTime: readProcStat(process.pid)!.startTime };
  const gone = { pid: spawnSync('true').pid!, initStartTime: '1' };
  const container = native().notifyConnect(notifySocketPath(dir));
  fds.push(container);
  native().notifySend(container, Buffer.from('STATUS=starting'));
  native().notifySend(container, Buffer.from('STATUS=starting\nREADY=1'));
  native().notifySend(container, Buffer.from('READY=1\nSTATUS=up'));
  t.equal(await forwardReady(listening, host, 4242, alive), true);
  t.same((await native().notifyRecv(hostFd, 1000))?.toString(), 'READY=1\n', 'the first line of the datagram that starts with READY=; the others dropped');
  t.same((await native().notifyRecv(hostFd, 1000))?.toString(), 'MAINPID=4242\n');
  t.equal(await native().notifyRecv(hostFd, 50), null, 'nothing else');

  t.equal(await forwardReady(listening, host, 1, gone), false, 'an init gone before READY: nothing forwarded');
  t.equal(await native().notifyRecv(hostFd, 50), null);
  native().notifySend(container, Buffer.from('STATUS=bye'));
  native().notifySend(container, Buffer.from('READY=1'));
  t.equal(await forwardReady(listening, host, 7, gone), true, 'a READY queued when the init is found gone is still forwarded');
  t.same((await native().notifyRecv(hostFd, 1000))?.toString(), 'READY=1\n');
  t.same((await native().notifyRecv(hostFd, 1000))?.toString(), 'MAINPID=7\n');
  await t.rejects(forwardReady(listening, join(dir, 'none.sock'), 1, alive), /dial unixgram .*none\.sock: connect/);
});

t.test('abstract host sockets ("@name")', { skip: addonSkip }, async (t) => {
  const name = `@hako-notify-test-${process.pid}`;
  const hostFd = native().notifyListen(name);
  const out = native().notifyConnect(name);
  t.teardown(() => [hostFd, out].forEach((fd) => closeSync(fd)));
  native().notifySend(out, Buffer.from('READY=1\n'));
  t.same((await native().notifyRecv(hostFd, 1000))?.toString(), 'READY=1\n');
});
