// The container lifecycle under dist/hako, as runc's callers drive it (RUNC-CONTRACT.md
// §1-3, §11): foreground run, create/start/state/list/kill/delete, stdio pass-through in
// detached mode, and the console socket. Needs root, dist/hako and the probe.
//
// This test process makes itself a child subreaper, as containerd-shim and conmon do, so
// a container's init is re-parented to it when the detached `hako create` exits: that is
// how the contract's "the init is a direct child of the runtime" is observed. It reaps
// those inits itself (checkNothingLeft), and counts any other zombie child as a leak.
import { constants as osConstants } from 'node:os';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle, type BundleOptions } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, runContainer } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  consoleReceiver,
  errorMessage,
  HAKO,
  hakoSkip,
  hk,
  isAlive,
  onTerminal,
  processesWith,
  procInfo,
  readIfExists,
  scratchDir,
  type SpawnOptions,
  type SpawnResult,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

const hkDetached = (root: string, args: string[], opts: SpawnOptions = {}): Promise<SpawnResult> =>
  spawnRuntime(HAKO, root, args, opts);

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

interface StateJson {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

async function stateOf(t: Test, root: string, id: string): Promise<StateJson> {
  const r = await hk(root, ['state', id]);
  t.equal(r.code, 0, `state ${id} exits 0`, { stderr: r.stderr });
  return JSON.parse(r.stdout) as StateJson;
}

async function waitStatus(root: string, id: string, status: string): Promise<StateJson> {
  let last = '';
  try {
    return await waitFor(`status ${status}`, async () => {
      const r = await hk(root, ['state', id]);
      last = r.stdout + r.stderr;
      if (r.code !== 0) return false;
      const s = JSON.parse(r.stdout) as StateJson;
      return s.status === status ? s : false;
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last state output: ${last}`);
  }
}


function expectError(t: Test, r: { code: number | null; stderr: string }, code: number, text: string | RegExp, what: string): void {
  t.equal(r.code, code, `${what}: exit ${code}`, { stderr: r.stderr });
  if (typeof text === 'string') t.ok(errorMessage(r).includes(text), `${what}: message has ${JSON.stringify(text)}`, { stderr: r.stderr });
  else t.match(errorMessage(r), text, `${what}: message`, { stderr: r.stderr });
}

/** A probe that prints its report and then sleeps, with `marker` in its argv. */
function sleepingProbe(marker: string, extra: string[] = []): string[] {
  return ['/probe', '--stat', `/${marker}`, ...extra, '--sleep', 'inf'];
}

interface Created {
  bundle: Bundle;
  root: string;
  id: string;
  pid: number;
  dir: string;
  stdoutFile: string;
  stderrFile: string;
  marker: string;
  create: SpawnResult;
}

/** A bundle, a state root and `hako create --pid-file` with stdio on files in a scratch dir. */
async function createContainer(t: Test, opts: BundleOptions & { marker?: string; createArgs?: string[] } = {}): Promise<Created> {
  const id = containerId('lc');
  const marker = opts.marker ?? `marker-${id}`;
  const bundle = await makeBundle(t, { args: sleepingProbe(marker), ...opts });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'lc');
  const stdoutFile = path.join(dir, 'stdout');
  const stderrFile = path.join(dir, 'stderr');
  const pidFile = path.join(dir, 'init.pid');
  const create = await hkDetached(
    root,
    ['create', '--bundle', bundle.dir, '--pid-file', pidFile, ...(opts.createArgs ?? []), id],
    { stdoutFile, stderrFile },
  );
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  const pid = Number(readIfExists(pidFile));
  return { bundle, root, id, pid, dir, stdoutFile, stderrFile, marker, create };
}

async function waitReport(file: string): Promise<ProbeReport> {
  const text = await waitFor(`a probe report in ${file}`, () => {
    const s = readIfExists(file);
    return s.endsWith('\n') ? s : false;
  });
  return parseProbeReport(text);
}

// ---------------------------------------------------------------------------------------
// 1. run in the foreground

t.test('run in the foreground: the probe report', { skip }, async (t) => {
  const id = containerId('fg');
  const marker = `marker-${id}`;
  const bundle = await makeBundle(t, {
    args: ['/probe', '--stat', `/${marker}`, '--stat', '/proc/kcore', '--stat', '/proc/keys', '--stat', '/proc/timer_list', '--write', '/proc/sys/kernel/domainname', '--write', '/proc/sysrq-trigger'],
    edit: (spec) => {
      spec.hostname = 'fg-host';
      spec.process!.cwd = '/tmp';
      spec.process!.env!.push('HAKO_TEST_VAR=a b,c');
    },
  });
  const res = await runContainer(HAKO, bundle, id);
  t.equal(res.code, 0, 'exit code 0', { stderr: res.stderr });
  t.equal(res.stderr, '', 'nothing on stderr');
  const report = parseProbeReport(res.stdout);

  t.equal(report.pid, 1, 'pid 1 in its pid namespace');
  t.equal(report.ppid, 0, 'parent outside the pid namespace');
  t.same(report.uid, { real: 0, effective: 0, saved: 0, fs: 0 }, 'uid 0');
  t.same(report.gid, { real: 0, effective: 0, saved: 0, fs: 0 }, 'gid 0');
  t.equal(report.hostname, 'fg-host', 'hostname from the config');
  t.equal(report.cwd, '/tmp', 'cwd from the config');
  // runc's init sets HOME from the image's /etc/passwd when the config has none (root: /root);
  // nothing else is added and the order is kept.
  t.same(report.env, [...bundle.spec.process!.env!, 'HOME=/root'], 'env: the config\'s, plus HOME from /etc/passwd (as runc)');
  t.same(report.rlimits.RLIMIT_NOFILE, { soft: 1024, hard: 1024 }, 'RLIMIT_NOFILE from the config');
  t.equal(report.umask_octal, '0022', 'umask 0022 by default');
  t.same(Object.keys(report.fds ?? {}).sort(), ['0', '1', '2'], 'only fds 0-2', { fds: report.fds });
  for (const fd of ['0', '1', '2']) t.match(report.fds?.[fd], /^pipe:\[\d+\]$/, `fd ${fd} is a pipe (foreground run)`);

  for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt']) {
    const host = statSync(`/proc/self/ns/${ns}`).ino;
    t.type(report.namespaces?.[ns], 'number', `${ns} namespace reported`);
    t.not(report.namespaces?.[ns], host, `${ns} namespace differs from the host's`);
  }
  const proc = report.mounts?.find((m) => m.mount_point === '/proc');
  t.equal(proc?.fs_type, 'proc', '/proc is a proc mount');

  // Masked paths: a file is covered by /dev/null, a directory by an empty read-only tmpfs.
  // /proc/kcore is not there on every kernel (this VM's has none): checked where it exists.
  for (const masked of bundle.spec.linux!.maskedPaths!) {
    if (!existsSync(masked)) continue;
    const isDir = statSync(masked).isDirectory();
    const mount = report.mounts?.filter((m) => m.mount_point === masked).at(-1);
    if (isDir) {
      t.equal(mount?.fs_type, 'tmpfs', `${masked} (dir) masked by a tmpfs`);
      t.ok(mount?.options.includes('ro'), `${masked} mask is read-only`);
    } else {
      t.ok(mount, `${masked} (file) has a mount on it`);
    }
  }
  for (const file of ['/proc/kcore', '/proc/keys', '/proc/timer_list']) {
    if (!existsSync(file)) {
      t.comment(`${file} does not exist on this host's kernel: its masking is not observable here`);
      continue;
    }
    t.match(report.stat[file], { type: 'char', rdev_major: 1, rdev_minor: 3 }, `${file} is /dev/null inside`);
  }
  t.same(report.stat[`/${marker}`], { error: 'ENOENT' }, 'stat of a missing file: ENOENT');
  const procSys = report.mounts?.filter((m) => m.mount_point === '/proc/sys').at(-1);
  t.ok(procSys?.options.includes('ro'), '/proc/sys is mounted read-only');
  t.same(report.write['/proc/sys/kernel/domainname'], { ok: false, error: 'EROFS' }, 'writing /proc/sys gives EROFS');
  if (existsSync('/proc/sysrq-trigger')) {
    t.same(report.write['/proc/sysrq-trigger'], { ok: false, error: 'EROFS' }, 'writing /proc/sysrq-trigger gives EROFS');
  }

  t.same(res.leftInStateRoot, [], 'hako removed its state after run');
  t.same(res.cleanupNotes, [], 'cleanup had nothing to complain about');
  await checkNothingLeft(t, { bundleDir: bundle.dir, markers: [marker] });
});

t.test('run in the foreground: exit codes', { skip }, async (t) => {
  t.test('/probe --exit 7 gives 7', async (t) => {
    const bundle = await makeBundle(t, { args: ['/probe', '--exit', '7'] });
    const res = await runContainer(HAKO, bundle, containerId('exit7'));
    t.equal(res.code, 7, 'exit code 7', { stderr: res.stderr });
    t.equal(parseProbeReport(res.stdout).pid, 1, 'the report was printed before exiting');
    await checkNothingLeft(t, { bundleDir: bundle.dir });
  });

  t.test("sh -c 'kill -9 $$' (no pid namespace, so sh is not an init) gives 137", async (t) => {
    // With a pid namespace sh would be pid 1 and immune to its own SIGKILL (runc: exit 0).
    const bundle = await makeBundle(t, {
      args: ['/bin/sh', '-c', 'kill -9 $$; echo survived'],
      edit: (spec) => {
        spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'pid');
      },
    });
    const res = await runContainer(HAKO, bundle, containerId('kill9'));
    t.equal(res.code, 137, 'exit code 128+9', { stderr: res.stderr });
    t.equal(res.stdout, '', 'the shell did not survive');
    await checkNothingLeft(t, { bundleDir: bundle.dir });
  });

  t.test('an init killed from outside with hako kill KILL gives 137', async (t) => {
    const id = containerId('fgkill');
    const marker = `marker-${id}`;
    const bundle = await makeBundle(t, { args: sleepingProbe(marker) });
    const root = await makeStateRoot(t, HAKO);
    const dir = await scratchDir(t, 'fgkill');
    const running = hkDetached(root, ['run', '--bundle', bundle.dir, id], {
      stdoutFile: path.join(dir, 'out'),
      stderrFile: path.join(dir, 'err'),
    });
    const st = await waitStatus(root, id, 'running');
    await waitFor('the probe to run', () => processesWith(marker).length > 0);
    const kill = await hk(root, ['kill', id, 'KILL']);
    t.equal(kill.code, 0, 'kill exits 0', { stderr: kill.stderr });
    const res = await running;
    t.equal(res.code, 137, 'run exits 128+9', { stderr: res.stderr });
    t.equal(parseProbeReport(res.stdout).pid, 1, 'the report came through before the kill');
    t.notOk(existsSync(path.join(root, id)), 'the foreground run removed its state dir');
    await checkNothingLeft(t, { bundleDir: bundle.dir, stateRoot: root, pids: [st.pid], markers: [marker], dirs: [dir] });
  });
  t.end();
});

t.test('run in the foreground: stdin is forwarded, stdout and stderr kept apart', { skip }, async (t) => {
  t.test('cat echoes stdin', async (t) => {
    const bundle = await makeBundle(t, { args: ['/bin/cat'] });
    const input = 'hello from the test\nsecond line\n';
    const res = await runContainer(HAKO, bundle, containerId('cat'), { input });
    t.equal(res.code, 0, 'exit 0 once stdin is closed', { stderr: res.stderr });
    t.equal(res.stdout, input, 'stdout is what was written on stdin');
    t.equal(res.stderr, '', 'nothing on stderr');
    await checkNothingLeft(t, { bundleDir: bundle.dir });
  });

  t.test('1 MiB through cat, unchanged', async (t) => {
    const bundle = await makeBundle(t, { args: ['/bin/cat'] });
    let input = '';
    for (let i = 0; input.length < 1 << 20; i++) input += `line ${i} ${'x'.repeat(i % 97)}\n`;
    const res = await runContainer(HAKO, bundle, containerId('catbig'), { input, timeoutMs: 60_000 });
    t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
    t.equal(res.stdout.length, input.length, 'as many bytes out as in');
    t.ok(res.stdout === input, 'the same bytes');
    await checkNothingLeft(t, { bundleDir: bundle.dir });
  });

  t.test('stdout and stderr are separate streams', async (t) => {
    const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', 'echo to-out; echo to-err >&2; echo more-out; exit 3'] });
    const res = await runContainer(HAKO, bundle, containerId('streams'));
    t.equal(res.code, 3, 'exit 3');
    t.equal(res.stdout, 'to-out\nmore-out\n', 'stdout has only stdout');
    t.equal(res.stderr, 'to-err\n', 'stderr has only stderr');
    await checkNothingLeft(t, { bundleDir: bundle.dir });
  });
  t.end();
});

t.test('run -t in the foreground on a real terminal: its size from the start, raw while running, given back', { skip }, async (t) => {
  const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', 'tty; stty size; sleep 0.5; exit 6'], edit: (s) => void (s.process!.terminal = true) });
  const root = await makeStateRoot(t, HAKO);
  const got = await onTerminal(t, [HAKO, '--root', root, 'run', '--bundle', bundle.dir, containerId('tty')]);
  t.equal(got.code, 6, 'the shell\'s status', got);
  t.match(got.out, /\/dev\/pts\/\d+\r?\n/, 'the shell\'s terminal is a pty');
  t.match(got.out, /\b33 101\r?\n/, 'of the size of hako\'s terminal when it starts');
  t.ok(got.rawSeen, 'hako\'s terminal was raw while the container ran');
  t.ok(got.restored, 'hako\'s terminal settings are as they were after it exits');
  await checkNothingLeft(t, { bundleDir: bundle.dir, stateRoot: root });
});

// ---------------------------------------------------------------------------------------
// 2. create / start / state / list / kill / delete

t.test('create, state, list, start, kill, delete', { skip }, async (t) => {
  const c = await createContainer(t);
  const { root, id, bundle, pid } = c;
  t.equal(c.create.stdout, '', 'create prints nothing on stdout');
  t.equal(c.create.stderr, '', 'create prints nothing on stderr (it would land in the container log)');

  // --pid-file
  const pidText = readFileSync(path.join(c.dir, 'init.pid'), 'utf8');
  t.match(pidText, /^[1-9]\d*$/, 'pid file: a decimal pid, no newline');
  t.same(readdirSync(c.dir).filter((f) => f.startsWith('.')), [], 'no temporary .init.pid left');
  const info = procInfo(pid);
  t.ok(info && isAlive(pid), 'the pid in the pid file is alive');
  t.not(info?.ppid, c.create.pid, 'its parent is not the (exited) hako process');
  t.equal(info?.ppid, process.pid, 're-parented to this test process, the subreaper: a direct child of hako');

  // state
  const stateRes = await hk(root, ['state', id]);
  t.equal(stateRes.code, 0, 'state exits 0');
  t.notOk(stateRes.stdout.endsWith('\n'), 'state: no trailing newline');
  const state = JSON.parse(stateRes.stdout) as StateJson;
  t.equal(stateRes.stdout, JSON.stringify(state, null, 2), 'state: 2-space indented JSON');
  t.same(Object.keys(state), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner'], "state: runc's fields in runc's order (no annotations)");
  t.equal(state.id, id, 'state: id');
  t.equal(state.pid, pid, 'state: pid equals the pid file');
  t.equal(state.status, 'created', 'state: created');
  t.equal(state.bundle, realpathSync(bundle.dir), 'state: bundle');
  t.equal(state.rootfs, realpathSync(bundle.rootfs), 'state: rootfs');
  t.match(state.created, RFC3339, 'state: created is RFC 3339 (UTC)');
  t.notOk(Number.isNaN(Date.parse(state.created)), 'state: created parses');
  t.equal(state.owner, '', 'state: owner is ""');

  // CVE-2019-5736: the created init must not run from a writable host file.
  const exe = readlinkSync(`/proc/${pid}/exe`);
  t.notOk(exe === HAKO || exe.endsWith('/hako-init') || exe.endsWith('/node'), `the init runs from a sealed copy (${exe})`);
  let exeWritable = false;
  try {
    closeSync(openSync(`/proc/${pid}/exe`, 'r+'));
    exeWritable = true;
  } catch {
    // ETXTBSY / EPERM: good
  }
  t.notOk(exeWritable, 'the init\'s executable cannot be opened for writing through /proc/<pid>/exe');

  // The user process has not run: its argv (with the marker) is nowhere, no report yet.
  t.same(processesWith(c.marker), [], 'the container process has not exec\'d yet');
  t.equal(readIfExists(c.stdoutFile), '', 'nothing written on its stdout yet');

  // list
  const table = await hk(root, ['list']);
  t.equal(table.code, 0, 'list exits 0');
  const lines = table.stdout.trimEnd().split('\n');
  t.same(lines[0]?.split(/\s+/), ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], 'list: header');
  t.same(lines[1]?.split(/\s+/), [id, String(pid), 'created', state.bundle, state.created, 'root'], 'list: the row');
  t.equal(lines.length, 2, 'list: one container');
  const json = await hk(root, ['list', '-f', 'json']);
  t.equal(json.code, 0, 'list -f json exits 0');
  t.ok(json.stdout.endsWith('\n') && !json.stdout.trimEnd().includes('\n'), 'list -f json: one line and a newline');
  t.same(JSON.parse(json.stdout), [{ ...state, owner: 'root' }], 'list -f json: the state with owner filled in');
  const quiet = await hk(root, ['list', '-q']);
  t.equal(quiet.stdout, `${id}\n`, 'list -q: the id');

  // start
  const start = await hk(root, ['start', id]);
  t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  t.equal(start.stdout + start.stderr, '', 'start prints nothing');
  t.equal((await stateOf(t, root, id)).status, 'running', 'running after start');
  const report = await waitReport(c.stdoutFile);
  t.equal(report.pid, 1, 'the probe ran (its report is in the stdout file)');
  t.same(report.fds, { '0': '/dev/null', '1': c.stdoutFile, '2': c.stderrFile }, 'its fds: exactly create\'s stdio, no internal fd (exec fifo, sync pipes) left open');
  t.same(processesWith(c.marker), [pid], 'the process with the marker is the init pid (exec in place)');
  t.equal((await hk(root, ['list', '-q'])).stdout, `${id}\n`, 'list -q after start');

  const again = await hk(root, ['start', id]);
  expectError(t, again, 1, 'cannot start an already running container', 'start of a running container');
  const dup = await hkDetached(root, ['create', '--bundle', bundle.dir, id]);
  expectError(t, dup, 1, 'container with given ID already exists', 'create with an existing id');
  t.equal((await stateOf(t, root, id)).status, 'running', 'the existing container is untouched');
  t.ok(isAlive(pid), 'and its process lives');

  const del = await hk(root, ['delete', id]);
  expectError(t, del, 1, `cannot delete container ${id} that is not stopped: running`, 'delete of a running container');
  t.ok(isAlive(pid), 'delete without -f left it running');

  // kill
  const kill = await hk(root, ['kill', id, 'KILL']);
  t.equal(kill.code, 0, 'kill KILL exits 0', { stderr: kill.stderr });
  const stopped = await waitStatus(root, id, 'stopped');
  t.equal(stopped.pid, 0, 'state: pid 0 when stopped');
  expectError(t, await hk(root, ['kill', id]), 1, 'container not running', 'kill of a stopped container');
  expectError(t, await hk(root, ['kill', id, 'KILL']), 1, 'container not running', 'kill KILL of a stopped container');
  const killAll = await hk(root, ['kill', '--all', id, 'KILL']);
  t.equal(killAll.code, 0, 'kill --all of a stopped container exits 0', { stderr: killAll.stderr });
  expectError(t, await hk(root, ['start', id]), 1, 'cannot start a container that has stopped', 'start of a stopped container');

  // delete
  const delStopped = await hk(root, ['delete', id]);
  t.equal(delStopped.code, 0, 'delete of a stopped container exits 0', { stderr: delStopped.stderr });
  expectError(t, await hk(root, ['state', id]), 1, 'container does not exist', 'state after delete');
  const empty = await hk(root, ['list', '-f', 'json']);
  t.equal(empty.stdout, 'null\n', 'list -f json with no containers: null and a newline');
  t.equal((await hk(root, ['list', '-q'])).stdout, '', 'list -q with no containers: nothing');
  expectError(t, await hk(root, ['delete', id]), 1, 'container does not exist', 'delete of a missing id');
  const delF = await hk(root, ['delete', '-f', id]);
  t.equal(delF.code, 0, 'delete -f of a missing id exits 0', { stderr: delF.stderr });
  expectError(t, await hk(root, ['kill', id]), 1, 'container does not exist', 'kill of a missing id');
  expectError(t, await hk(root, ['start', id]), 1, 'container does not exist', 'start of a missing id');

  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [pid], markers: [c.marker], dirs: [c.dir] });
});

t.test('kill: signal names and numbers reach the init; unknown names are refused', { skip }, async (t) => {
  // sh traps TERM, HUP and USR1 and prints their names; `wait` returns at once on a trapped signal.
  const script = [
    "trap 'echo TERM' TERM",
    "trap 'echo HUP' HUP",
    "trap 'echo USR1' USR1",
    'echo ready',
    'while :; do sleep 1000 & wait $!; done',
  ].join('; ');
  const c = await createContainer(t, { args: ['/bin/sh', '-c', script] });
  const { root, id } = c;
  t.equal((await hk(root, ['start', id])).code, 0, 'start');
  await waitFor('the trap script to be ready', () => readIfExists(c.stdoutFile).includes('ready\n'));

  const sig = osConstants.signals;
  const cases: Array<[string[], string]> = [
    [[], 'TERM'],
    [['TERM'], 'TERM'],
    [['SIGTERM'], 'TERM'],
    [['sigterm'], 'TERM'],
    [['term'], 'TERM'],
    [[String(sig.SIGTERM)], 'TERM'],
    [['HUP'], 'HUP'],
    [['SigHup'], 'HUP'],
    [[String(sig.SIGHUP)], 'HUP'],
    [['usr1'], 'USR1'],
    [[String(sig.SIGUSR1)], 'USR1'],
  ];
  let expected = 'ready\n';
  for (const [args, name] of cases) {
    const r = await hk(root, ['kill', id, ...args]);
    t.equal(r.code, 0, `kill ${args.join(' ') || '(no signal)'} exits 0`, { stderr: r.stderr });
    expected += `${name}\n`;
    const got = await waitFor(`${name} to be trapped`, () => {
      const out = readIfExists(c.stdoutFile);
      return out.length >= expected.length ? out : false;
    }).catch(() => readIfExists(c.stdoutFile));
    t.equal(got, expected, `kill ${args.join(' ') || '(no signal: SIGTERM)'} delivered ${name}`);
  }
  const zero = await hk(root, ['kill', id, '0']);
  t.equal(zero.code, 0, 'kill 0 (liveness probe) exits 0', { stderr: zero.stderr });
  expectError(t, await hk(root, ['kill', id, 'FOO']), 1, 'unknown signal "FOO"', 'kill FOO');
  expectError(t, await hk(root, ['kill', id, 'SIGFOO']), 1, 'unknown signal "SIGFOO"', 'kill SIGFOO');
  t.equal(readIfExists(c.stdoutFile), expected, 'nothing else was delivered');
  t.equal((await stateOf(t, root, id)).status, 'running', 'still running');

  const del = await hk(root, ['delete', '-f', id]);
  t.equal(del.code, 0, 'delete -f of a running container exits 0', { stderr: del.stderr });
  t.notOk(isAlive(c.pid), 'delete -f killed the init');
  expectError(t, await hk(root, ['state', id]), 1, 'container does not exist', 'state after delete -f');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: c.bundle.dir, pids: [c.pid], dirs: [c.dir] });
});

t.test('kill: every spelling of SIGKILL stops the container', { skip }, async (t) => {
  for (const spelling of ['KILL', 'SIGKILL', 'kill', 'sigKill', String(osConstants.signals.SIGKILL)]) {
    await t.test(`kill ${spelling}`, async (t) => {
      const c = await createContainer(t);
      t.equal((await hk(c.root, ['start', c.id])).code, 0, 'start');
      const r = await hk(c.root, ['kill', c.id, spelling]);
      t.equal(r.code, 0, 'kill exits 0', { stderr: r.stderr });
      await waitStatus(c.root, c.id, 'stopped');
      t.pass('stopped');
      t.equal((await hk(c.root, ['delete', c.id])).code, 0, 'delete');
      await checkNothingLeft(t, { stateRoot: c.root, bundleDir: c.bundle.dir, pids: [c.pid], markers: [c.marker], dirs: [c.dir] });
    });
  }
});

t.test('a created container can be signalled and deleted without -f', { skip }, async (t) => {
  await t.test('delete of a created container (no -f)', async (t) => {
    const c = await createContainer(t);
    t.equal((await stateOf(t, c.root, c.id)).status, 'created', 'created');
    const del = await hk(c.root, ['delete', c.id]);
    t.equal(del.code, 0, 'delete exits 0', { stderr: del.stderr });
    t.notOk(isAlive(c.pid), 'the init is gone');
    t.same(processesWith(c.marker), [], 'the user process never ran');
    t.equal(readIfExists(c.stdoutFile), '', 'and wrote nothing');
    await checkNothingLeft(t, { stateRoot: c.root, bundleDir: c.bundle.dir, pids: [c.pid], markers: [c.marker], dirs: [c.dir] });
  });

  await t.test('kill (SIGTERM) of a created container stops it, as under runc', async (t) => {
    // runc's init is still runc (Go, which handles SIGTERM and dies of it) until start; a
    // manager stopping a container that was never started (CRI: TERM, grace period, KILL)
    // relies on it going away on the TERM.
    const c = await createContainer(t);
    const r = await hk(c.root, ['kill', c.id]);
    t.equal(r.code, 0, 'kill exits 0', { stderr: r.stderr });
    const stopped = await waitStatus(c.root, c.id, 'stopped').then(
      () => true,
      () => false,
    );
    t.ok(stopped, 'the created container stopped on SIGTERM');
    t.same(processesWith(c.marker), [], 'the user process never ran');
    t.equal((await hk(c.root, ['delete', '-f', c.id])).code, 0, 'delete -f');
    await checkNothingLeft(t, { stateRoot: c.root, bundleDir: c.bundle.dir, pids: [c.pid], markers: [c.marker], dirs: [c.dir] });
  });

  await t.test('kill KILL of a created container: stopped, start refused', async (t) => {
    const c = await createContainer(t);
    const r = await hk(c.root, ['kill', c.id, 'KILL']);
    t.equal(r.code, 0, 'kill exits 0', { stderr: r.stderr });
    await waitStatus(c.root, c.id, 'stopped');
    expectError(t, await hk(c.root, ['start', c.id]), 1, 'cannot start a container that has stopped', 'start after the init died');
    t.same(processesWith(c.marker), [], 'the user process never ran');
    t.equal((await hk(c.root, ['delete', c.id])).code, 0, 'delete');
    await checkNothingLeft(t, { stateRoot: c.root, bundleDir: c.bundle.dir, pids: [c.pid], markers: [c.marker], dirs: [c.dir] });
  });
});

t.test('run -d: returns once the process runs, pid file written', { skip }, async (t) => {
  const id = containerId('rund');
  const marker = `marker-${id}`;
  const bundle = await makeBundle(t, { args: sleepingProbe(marker) });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'rund');
  const pidFile = path.join(dir, 'pid');
  const stdoutFile = path.join(dir, 'out');
  const r = await hkDetached(root, ['run', '-d', '--bundle', bundle.dir, '--pid-file', pidFile, id], {
    stdoutFile,
    stderrFile: path.join(dir, 'err'),
  });
  t.equal(r.code, 0, 'run -d exits 0', { stderr: r.stderr });
  t.equal(r.stderr, '', 'nothing on stderr');
  const pidText = readIfExists(pidFile);
  t.match(pidText, /^[1-9]\d*$/, 'pid file written, no newline');
  const pid = Number(pidText);
  const st = await stateOf(t, root, id);
  t.equal(st.status, 'running', 'running');
  t.equal(st.pid, pid, 'state pid = pid file');
  t.equal(procInfo(pid)?.ppid, process.pid, 're-parented to the subreaper');
  t.equal((await waitReport(stdoutFile)).pid, 1, 'the probe ran; its stdout is run -d\'s stdout');
  t.same(processesWith(marker), [pid], 'the marker process is the init');
  t.equal((await hk(root, ['kill', id, 'KILL'])).code, 0, 'kill');
  await waitStatus(root, id, 'stopped');
  t.equal((await hk(root, ['delete', id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [pid], markers: [marker], dirs: [dir] });
});

// ---------------------------------------------------------------------------------------
// 3. detached stdio pass-through

t.test('create: the container inherits hako\'s fds 0-2 (files here)', { skip }, async (t) => {
  const id = containerId('stdio');
  const bundle = await makeBundle(t, {
    args: ['/bin/sh', '-c', 'echo to-out; echo to-err >&2; read line; echo "in:$line"; ls -l /proc/self/fd/ >&2'],
  });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'stdio');
  const inFile = path.join(dir, 'in');
  const outFile = path.join(dir, 'out');
  const errFile = path.join(dir, 'err');
  writeFileSync(inFile, 'from-the-file\n');
  const pidFile = path.join(dir, 'pid');
  const create = await hkDetached(root, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id], {
    stdin: inFile,
    stdoutFile: outFile,
    stderrFile: errFile,
  });
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  t.equal(create.stdout + create.stderr, '', 'create itself printed nothing');
  const pid = Number(readIfExists(pidFile));
  t.equal(readlinkSync(`/proc/${pid}/fd/0`), inFile, 'the init holds the stdin file as fd 0');
  t.equal(readlinkSync(`/proc/${pid}/fd/1`), outFile, 'the init holds the stdout file as fd 1');
  t.equal(readlinkSync(`/proc/${pid}/fd/2`), errFile, 'the init holds the stderr file as fd 2');
  t.equal((await hk(root, ['start', id])).code, 0, 'start');
  await waitStatus(root, id, 'stopped');
  t.equal(readFileSync(outFile, 'utf8'), 'to-out\nin:from-the-file\n', 'stdout file: the container\'s stdout, stdin read from the file');
  t.match(readFileSync(errFile, 'utf8'), /^to-err\n/, 'stderr file: the container\'s stderr');
  t.equal((await hk(root, ['delete', id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [pid], dirs: [dir] });
});

// ---------------------------------------------------------------------------------------
// 4. console socket

t.test('console socket: one pty master over SCM_RIGHTS, working once started', { skip }, async (t) => {
  const id = containerId('tty');
  const bundle = await makeBundle(t, {
    args: ['/bin/sh'],
    edit: (spec) => {
      spec.process!.terminal = true;
      spec.process!.consoleSize = { height: 40, width: 100 };
    },
  });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'tty');
  const receiver = await consoleReceiver(t, dir);
  const pidFile = path.join(dir, 'pid');
  const create = await hkDetached(root, ['create', '--bundle', bundle.dir, '--console-socket', receiver.socketPath, '--pid-file', pidFile, id]);
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  t.equal(create.stdout + create.stderr, '', 'create printed nothing');
  const pid = Number(readIfExists(pidFile));
  const got = await receiver.received;
  t.equal(got.nfds, 1, 'exactly one fd');
  t.notOk(got.ctrunc, 'control data not truncated');
  t.ok(got.payload.length > 0, `a non-empty payload (${JSON.stringify(got.payload)})`);
  t.match(got.link, /^\/dev\/(pts\/)?ptmx$/, 'the fd is a pty master');
  t.type(got.ptn, 'number', 'TIOCGPTN works on it', { error: got.ptn_error });
  t.same([got.rows, got.cols], [40, 100], 'consoleSize applied before sending');
  t.notOk(got.extra, 'nothing else sent on the socket', { extra: got.extra });
  t.equal((await stateOf(t, root, id)).status, 'created', 'created');

  t.equal((await hk(root, ['start', id])).code, 0, 'start');
  const out = await receiver.interact('echo hi-$((40+2))\n', 'hi-42');
  t.match(out, /hi-42/, 'the shell on the pty ran the command');
  const tty = await receiver.interact('tty; echo tty-$((1+1))\n', 'tty-2');
  t.match(tty, /\/dev\/(pts\/\d+|console)/, 'stdin is a terminal in the container');
  t.equal((await hk(root, ['kill', id, 'KILL'])).code, 0, 'kill');
  await waitStatus(root, id, 'stopped');
  await receiver.close();
  t.equal((await hk(root, ['delete', id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [pid] });
});

t.test('console socket: the terminal rules', { skip }, async (t) => {
  await t.test('terminal=true without --console-socket under create', async (t) => {
    const id = containerId('notty');
    const marker = `marker-${id}`;
    const bundle = await makeBundle(t, { args: sleepingProbe(marker), edit: (s) => void (s.process!.terminal = true) });
    const root = await makeStateRoot(t, HAKO);
    for (const cmd of [['create'], ['run', '-d']]) {
      const r = await hkDetached(root, [...cmd, '--bundle', bundle.dir, id]);
      expectError(t, r, 1, 'cannot allocate tty if runc will detach without setting console socket', cmd.join(' '));
    }
    await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, markers: [marker] });
  });

  await t.test('--console-socket without terminal', async (t) => {
    const id = containerId('sock');
    const marker = `marker-${id}`;
    const bundle = await makeBundle(t, { args: sleepingProbe(marker) });
    const root = await makeStateRoot(t, HAKO);
    const dir = await scratchDir(t, 'sock');
    const receiver = await consoleReceiver(t, dir);
    for (const cmd of [['create'], ['run', '-d']]) {
      const r = await hkDetached(root, [...cmd, '--bundle', bundle.dir, '--console-socket', receiver.socketPath, id]);
      expectError(t, r, 1, 'cannot use console socket if runc will not detach or allocate tty', cmd.join(' '));
    }
    await receiver.close();
    await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, markers: [marker] });
  });
});

t.test('console socket: the master is sent before create exits, accepted only afterwards (containerd)', { skip }, async (t) => {
  const id = containerId('ttylate');
  const bundle = await makeBundle(t, { args: ['/bin/sh'], edit: (s) => void (s.process!.terminal = true) });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'ttylate');
  const receiver = await consoleReceiver(t, dir, { acceptLater: true });
  const pidFile = path.join(dir, 'pid');
  const create = await hkDetached(root, ['create', '--bundle', bundle.dir, '--console-socket', receiver.socketPath, '--pid-file', pidFile, id], {
    timeoutMs: 20_000,
  });
  t.notOk(create.timedOut, 'create did not wait for the receiver to accept');
  t.equal(create.code, 0, 'create exits 0 with the connection still in the backlog', { stderr: create.stderr });
  receiver.accept();
  const got = await receiver.received;
  t.equal(got.nfds, 1, 'the master was waiting in the socket');
  t.match(got.link, /^\/dev\/(pts\/)?ptmx$/, 'a pty master');
  t.equal((await hk(root, ['start', id])).code, 0, 'start');
  t.match(await receiver.interact('echo late-$((3*3))\n', 'late-9'), /late-9/, 'the terminal works');
  t.equal((await hk(root, ['kill', id, 'KILL'])).code, 0, 'kill');
  await waitStatus(root, id, 'stopped');
  await receiver.close();
  t.equal((await hk(root, ['delete', id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [Number(readIfExists(pidFile))] });
});

t.test('relative paths: --pid-file from the caller\'s cwd, --console-socket from the bundle', { skip }, async (t) => {
  const id = containerId('rel');
  const bundle = await makeBundle(t, { args: ['/bin/sh'], edit: (s) => void (s.process!.terminal = true) });
  const root = await makeStateRoot(t, HAKO);
  const cwd = await scratchDir(t, 'relcwd');
  // The socket lives in the bundle; the caller names it relative to the bundle, from another cwd.
  const receiver = await consoleReceiver(t, bundle.dir, { name: 'rel-console.sock' });
  const create = await hkDetached(root, ['create', '--bundle', bundle.dir, '--console-socket', 'rel-console.sock', '--pid-file', 'rel.pid', id], { cwd });
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  t.match(readIfExists(path.join(cwd, 'rel.pid')), /^[1-9]\d*$/, 'the pid file is in the caller\'s cwd');
  t.notOk(existsSync(path.join(bundle.dir, 'rel.pid')), 'not in the bundle');
  t.equal((await receiver.received).nfds, 1, 'the relative console socket was found in the bundle');
  const pid = Number(readIfExists(path.join(cwd, 'rel.pid')));
  await receiver.close();
  t.equal((await hk(root, ['delete', id])).code, 0, 'delete of the created container');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [pid], dirs: [cwd] });
});

t.test('run in the foreground forwards signals to the init', { skip }, async (t) => {
  const id = containerId('fwd');
  const script = [
    "trap 'echo HUP' HUP",
    "trap 'echo USR2' USR2",
    "trap 'echo TERM; exit 3' TERM",
    'echo ready',
    'while :; do sleep 1000 & wait $!; done',
  ].join('; ');
  const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', script] });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'fwd');
  const out = path.join(dir, 'out');
  let hakoPid = -1;
  const running = hkDetached(root, ['run', '--bundle', bundle.dir, id], {
    stdoutFile: out,
    stderrFile: path.join(dir, 'err'),
    onSpawn: (p) => (hakoPid = p),
  });
  await waitFor('the trap script to be ready', () => readIfExists(out).includes('ready\n'));
  const st = await stateOf(t, root, id);
  for (const [sig, expected] of [
    ['SIGHUP', 'ready\nHUP\n'],
    ['SIGUSR2', 'ready\nHUP\nUSR2\n'],
  ] as const) {
    process.kill(hakoPid, sig);
    await waitFor(`${sig} to arrive`, () => readIfExists(out) === expected).catch(() => undefined);
    t.equal(readIfExists(out), expected, `${sig} sent to hako reached the container`);
  }
  process.kill(hakoPid, 'SIGTERM');
  const res = await running;
  t.equal(res.code, 3, 'SIGTERM was forwarded, the trap exited 3, and run returned that', { stderr: res.stderr });
  t.equal(res.stdout, 'ready\nHUP\nUSR2\nTERM\n', 'in order');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [st.pid], dirs: [dir] });
});

t.test('delete of a stray state dir (an aborted create, no state.json)', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  for (const force of [false, true]) {
    const id = containerId('stray');
    mkdirSync(path.join(root, id), { mode: 0o711 });
    const r = await hk(root, ['delete', ...(force ? ['-f'] : []), id]);
    if (force) t.equal(r.code, 0, 'delete -f: exit 0', { stderr: r.stderr });
    else expectError(t, r, 1, 'container does not exist', 'delete without -f');
    t.notOk(existsSync(path.join(root, id)), `the stray dir is removed either way (${force ? 'with' : 'without'} -f)`);
  }
  await checkNothingLeft(t, { stateRoot: root });
});
