// NOTIFY_SOCKET under dist/hako (RUNC-CONTRACT.md §3.8, runc 1.1.5's behaviour): a python
// listener stands for systemd's socket; the probe in the container sends sd_notify
// datagrams to $NOTIFY_SOCKET. What the host socket receives, what the container sees,
// when start / run -d / run return, and what is left behind. Needs root, dist/hako, the
// probe and python3.
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { notifyListener, type NotifyListener } from '../helpers/notify-listener.js';
import {
  asContainerTests,
  checkNothingLeft,
  errorMessage,
  HAKO,
  hakoSkip,
  hk,
  readIfExists,
  scratchDir,
  type SpawnResult,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

/** The probe as a Type=notify service: a status line, then (after a delay) READY, then sleep. */
const NOTIFYING = ['/probe', '--notify-delay', '1', '--notify', 'STATUS=starting', '--notify', 'READY=1\nSTATUS=up', '--sleep', 'inf'];

function envWith(notifySocket: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  if (notifySocket !== undefined) env.NOTIFY_SOCKET = notifySocket;
  return env;
}

interface Setup {
  root: string;
  id: string;
  bundleDir: string;
  dir: string;
  listener: NotifyListener;
}

async function setup(t: Test, args: string[]): Promise<Setup> {
  const id = containerId('notify');
  const bundle = await makeBundle(t, { args });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'notify');
  const listener = await notifyListener(t, dir);
  return { root, id, bundleDir: bundle.dir, dir, listener };
}

/** Runs a hako command with stdio on files; notes when its exit was seen (CLOCK_MONOTONIC). */
async function timed(s: Setup, args: string[], notify: string | undefined, label: string): Promise<SpawnResult & { exitSeen: bigint }> {
  const r = await spawnRuntime(HAKO, s.root, args, {
    env: envWith(notify),
    stdoutFile: path.join(s.dir, `${label}.out`),
    stderrFile: path.join(s.dir, `${label}.err`),
  });
  return { ...r, exitSeen: process.hrtime.bigint() };
}

async function initReport(s: Setup, label: string): Promise<ProbeReport> {
  const file = path.join(s.dir, `${label}.out`);
  return parseProbeReport(await waitFor('init report', () => (readIfExists(file).endsWith('\n') ? readIfExists(file) : false)));
}

async function done(t: Test, s: Setup, pid: number): Promise<void> {
  const del = await hk(s.root, ['delete', '-f', s.id]);
  t.equal(del.code, 0, 'delete -f', { stderr: del.stderr });
  t.notOk(existsSync(path.join(s.root, s.id)), 'the state dir, notify/ with it, is gone');
  await checkNothingLeft(t, { stateRoot: s.root, bundleDir: s.bundleDir, pids: [pid] });
}

t.test('create + start: start waits for READY, forwards its first line and MAINPID=<init pid>', { skip }, async (t) => {
  const s = await setup(t, NOTIFYING);
  const pidFile = path.join(s.dir, 'pid');
  const create = await timed(s, ['create', '--bundle', s.bundleDir, '--pid-file', pidFile, s.id], s.listener.socketPath, 'init');
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  const pid = Number(readIfExists(pidFile));
  const notifyDir = path.join(s.root, s.id, 'notify');
  t.equal(statSync(notifyDir).mode & 0o7777, 0o755, 'create made <state>/notify, 0755');
  t.same(readdirSync(notifyDir), [], 'create binds no socket yet');

  const start = await timed(s, ['start', s.id], s.listener.socketPath, 'start');
  t.equal(start.code, 0, 'start', { stderr: readIfExists(path.join(s.dir, 'start.err')) });
  const got = await s.listener.waitFor(2);
  t.same(got, ['READY=1\n', `MAINPID=${pid}\n`], 'STATUS= dropped; READY= datagram cut to its first line; then MAINPID');
  t.ok(s.listener.receivedAt[0]! < start.exitSeen, 'READY reached the host before start returned (the probe waits 1 s before sending it)');
  t.equal(statSync(path.join(notifyDir, 'notify.sock')).mode & 0o777, 0o777, 'start bound notify.sock, 0777');

  const report = await initReport(s, 'init');
  t.same(report.env.filter((e) => e.startsWith('NOTIFY_SOCKET=')), ['NOTIFY_SOCKET=/run/notify/notify.sock'], 'the container sees its own socket');
  const mount = report.mounts?.find((m) => m.mount_point === '/run/notify');
  t.ok(mount, '/run/notify is mounted');
  t.ok(mount?.root.endsWith(`/${s.id}/notify`), 'from the state dir', { root: mount?.root });
  for (const opt of ['ro', 'nosuid', 'nodev', 'noexec']) t.ok(mount?.options.includes(opt), `/run/notify is ${opt}`);
  await done(t, s, pid);
});

t.test('run -d: returns after READY was forwarded, with MAINPID=<init pid>', { skip }, async (t) => {
  const s = await setup(t, NOTIFYING);
  const pidFile = path.join(s.dir, 'pid');
  const run = await timed(s, ['run', '-d', '--bundle', s.bundleDir, '--pid-file', pidFile, s.id], s.listener.socketPath, 'init');
  t.equal(run.code, 0, 'run -d', { stderr: readIfExists(path.join(s.dir, 'init.err')) });
  const pid = Number(readIfExists(pidFile));
  t.same(await s.listener.waitFor(2), ['READY=1\n', `MAINPID=${pid}\n`]);
  t.ok(s.listener.receivedAt[0]! < run.exitSeen, 'READY reached the host before run -d returned');
  await done(t, s, pid);
});

t.test('foreground run: MAINPID is hako itself (the process systemd watches); exit status kept', { skip }, async (t) => {
  const s = await setup(t, ['/probe', '--notify', 'READY=1', '--exit', '7']);
  let hakoPid = 0;
  const r = await spawnRuntime(HAKO, s.root, ['run', '--bundle', s.bundleDir, s.id], {
    env: envWith(s.listener.socketPath),
    onSpawn: (pid) => (hakoPid = pid),
  });
  t.equal(r.code, 7, 'the container exit status', { stderr: r.stderr });
  t.same(await s.listener.waitFor(2), ['READY=1\n', `MAINPID=${hakoPid}\n`]);
  await s.listener.close();
  await checkNothingLeft(t, { stateRoot: s.root, bundleDir: s.bundleDir, noChildren: true });
});

t.test('foreground run of a container that exits without READY: its status, nothing forwarded (runc 1.1.5 hangs here)', { skip }, async (t) => {
  const s = await setup(t, ['/probe', '--exit', '5']);
  const r = await spawnRuntime(HAKO, s.root, ['run', '--bundle', s.bundleDir, s.id], { env: envWith(s.listener.socketPath), timeoutMs: 20_000 });
  t.equal(r.code, 5, 'the container exit status', { stderr: r.stderr });
  t.same(s.listener.received, [], 'nothing reached the host');
  await s.listener.close();
  await checkNothingLeft(t, { stateRoot: s.root, bundleDir: s.bundleDir, noChildren: true });
});

t.test('a container that exits without READY: start returns 0 and nothing is forwarded', { skip }, async (t) => {
  const s = await setup(t, ['/probe', '--sleep', '0.5']);
  const pidFile = path.join(s.dir, 'pid');
  const create = await timed(s, ['create', '--bundle', s.bundleDir, '--pid-file', pidFile, s.id], s.listener.socketPath, 'init');
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  const start = await timed(s, ['start', s.id], s.listener.socketPath, 'start');
  t.equal(start.code, 0, 'start', { stderr: readIfExists(path.join(s.dir, 'start.err')) });
  t.same(s.listener.received, [], 'nothing reached the host');
  await done(t, s, Number(readIfExists(pidFile)));
});

t.test('NOTIFY_SOCKET absent: nothing mounted, no env, no notify/ in the state dir', { skip }, async (t) => {
  const s = await setup(t, ['/probe', '--sleep', 'inf']);
  const pidFile = path.join(s.dir, 'pid');
  const create = await timed(s, ['create', '--bundle', s.bundleDir, '--pid-file', pidFile, s.id], undefined, 'init');
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  t.notOk(existsSync(path.join(s.root, s.id, 'notify')), 'no notify/');
  const start = await timed(s, ['start', s.id], undefined, 'start');
  t.equal(start.code, 0, 'start');
  const report = await initReport(s, 'init');
  t.same(report.env.filter((e) => e.startsWith('NOTIFY_SOCKET=')), [], 'no NOTIFY_SOCKET');
  t.same(report.mounts?.filter((m) => m.mount_point.startsWith('/run/notify')), [], 'no /run/notify mount');
  await done(t, s, Number(readIfExists(pidFile)));
});

t.test('NOTIFY_SOCKET only at start: start fails before releasing the process (no notify/ to bind in)', { skip }, async (t) => {
  const s = await setup(t, ['/probe', '--sleep', 'inf']);
  const pidFile = path.join(s.dir, 'pid');
  const create = await timed(s, ['create', '--bundle', s.bundleDir, '--pid-file', pidFile, s.id], undefined, 'init');
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  const start = await spawnRuntime(HAKO, s.root, ['start', s.id], { env: envWith(s.listener.socketPath) });
  t.equal(start.code, 1, 'start fails');
  t.match(errorMessage(start), `listen unixgram ${path.join(s.root, s.id, 'notify', 'notify.sock')}: bind`);
  const state = await hk(s.root, ['state', s.id]);
  t.equal((JSON.parse(state.stdout) as { status: string }).status, 'created', 'still created');
  await done(t, s, Number(readIfExists(pidFile)));
});

t.test('an unreachable host socket: start fails once the process runs; run -d still returns 0', { skip }, async (t) => {
  const s = await setup(t, ['/probe', '--sleep', 'inf']);
  const missing = path.join(s.dir, 'nobody-listens.sock');
  const pidFile = path.join(s.dir, 'pid');
  const create = await timed(s, ['create', '--bundle', s.bundleDir, '--pid-file', pidFile, s.id], missing, 'init');
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  const start = await spawnRuntime(HAKO, s.root, ['start', s.id], { env: envWith(missing) });
  t.equal(start.code, 1, 'start fails');
  t.match(errorMessage(start), `dial unixgram ${missing}: connect`);
  const state = await hk(s.root, ['state', s.id]);
  t.equal((JSON.parse(state.stdout) as { status: string }).status, 'running', 'the process was released');
  await done(t, s, Number(readIfExists(pidFile)));

  const id2 = containerId('notify');
  const pidFile2 = path.join(s.dir, 'pid2');
  const run = await spawnRuntime(HAKO, s.root, ['run', '-d', '--bundle', s.bundleDir, '--pid-file', pidFile2, id2], { env: envWith(missing) });
  t.equal(run.code, 0, 'run -d', { stderr: run.stderr });
  await done(t, { ...s, id: id2 }, Number(readIfExists(pidFile2)));
});

t.test('a failed create with NOTIFY_SOCKET leaves nothing behind', { skip }, async (t) => {
  const s = await setup(t, ['/no-such-binary']);
  const create = await spawnRuntime(HAKO, s.root, ['create', '--bundle', s.bundleDir, s.id], { env: envWith(s.listener.socketPath) });
  t.equal(create.code, 1, 'create fails');
  await checkNothingLeft(t, { stateRoot: s.root, bundleDir: s.bundleDir });
  const run = await spawnRuntime(HAKO, s.root, ['run', '-d', '--bundle', s.bundleDir, s.id], { env: envWith(s.listener.socketPath) });
  t.equal(run.code, 1, 'run -d fails');
  await checkNothingLeft(t, { stateRoot: s.root, bundleDir: s.bundleDir });
  t.same(s.listener.received, [], 'nothing reached the host');
});
