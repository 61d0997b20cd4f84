// hako exec under dist/hako (RUNC-CONTRACT.md §4, §9): a process joins a created or
// running container (its namespaces, its cgroup), with the flags applied over the
// config's process or a -p process.json; exit statuses; -d with --pid-file; -t with a
// console socket; refusals; the helper that joins runs from a sealed memfd.
// Needs root, dist/hako and the probe. Every container is deleted (-f) at teardown.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { SEALS, native } from '../../src/native.js';
import { makeBundle, type Bundle, type BundleOptions } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  chownTree,
  consoleReceiver,
  errorMessage,
  HAKO,
  hakoSkip,
  hk,
  isAlive,
  onTerminal,
  procInfo,
  readIfExists,
  reapIfOurs,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());



interface Container {
  bundle: Bundle;
  root: string;
  id: string;
  pid: number;
  dir: string;
  marker: string;
  /** the init's probe report (running containers only) */
  initReport?: ProbeReport;
}

/** A container whose init is a probe that reports, then sleeps; started unless `created`. */
async function container(t: Test, opts: BundleOptions & { created?: boolean; chown?: boolean; createArgs?: string[] } = {}): Promise<Container> {
  const id = containerId('ex');
  const marker = `marker-${id}`;
  const bundle = await makeBundle(t, { args: ['/probe', '--stat', `/${marker}`, '--sleep', 'inf'], ...opts });
  if (opts.chown) await chownTree(bundle.rootfs, 100000, 100000); // the image belongs to the mapped root
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'ex');
  const stdoutFile = path.join(dir, 'init.out');
  const pidFile = path.join(dir, 'init.pid');
  const create = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, ...(opts.createArgs ?? []), id], {
    stdoutFile,
    stderrFile: path.join(dir, 'init.err'),
  });
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  const pid = Number(readIfExists(pidFile));
  t.teardown(async () => {
    await hk(root, ['delete', '-f', id]);
    await reapIfOurs(pid, 2000);
  });
  const c: Container = { bundle, root, id, pid, dir, marker };
  if (opts.created) return c;
  const start = await hk(root, ['start', id]);
  t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  const text = await waitFor('the init report', () => {
    const s = readIfExists(stdoutFile);
    return s.endsWith('\n') ? s : false;
  });
  c.initReport = parseProbeReport(text);
  return c;
}

const NAMESPACES = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup'];

function hostNamespaces(pid: number): Record<string, number> {
  return Object.fromEntries(NAMESPACES.map((ns) => [ns, statSync(`/proc/${pid}/ns/${ns}`).ino]));
}

async function finish(t: Test, c: Container): Promise<void> {
  await hk(c.root, ['delete', '-f', c.id]);
  await reapIfOurs(c.pid, 2000);
  await checkNothingLeft(t, { bundleDir: c.bundle.dir, markers: [c.marker], stateRoot: c.root, pids: [c.pid] });
}

t.test('exec into a running container: namespaces, cgroup, user, env, cwd, caps', { skip }, async (t) => {
  const c = await container(t);
  const r = await hk(c.root, ['exec', '-u', '1000:1000', '-g', '10', '-e', 'EXEC_VAR=x y', '--cwd', '/tmp', '--cap', 'CAP_SYS_ADMIN', c.id, '/probe']);
  t.equal(r.code, 0, 'exec exits 0', { stderr: r.stderr });
  t.equal(r.stderr, '', 'nothing on stderr');
  const report = parseProbeReport(r.stdout);
  const init = c.initReport!;
  for (const ns of NAMESPACES) t.equal(report.namespaces?.[ns], init.namespaces?.[ns], `same ${ns} namespace as the init`);
  t.not(report.namespaces?.pid, statSync('/proc/self/ns/pid').ino, 'not the host pid namespace');
  t.not(report.pid, 1, 'not pid 1 in the container');
  t.equal(report.ppid, 0, 'its parent is outside the pid namespace (hako)');
  t.same(report.cgroup, init.cgroup, 'the container\'s cgroup, as the init sees it');
  t.same(report.uid, { real: 1000, effective: 1000, saved: 1000, fs: 1000 }, 'uid from -u');
  t.same(report.gid, { real: 1000, effective: 1000, saved: 1000, fs: 1000 }, 'gid from -u');
  t.same(report.groups, [10], 'additional gids from -g');
  const configEnv = c.bundle.spec.process!.env!;
  t.same(report.env.slice(0, configEnv.length + 1), [...configEnv, 'EXEC_VAR=x y'], 'env: the config\'s, then -e');
  t.same(report.env.slice(configEnv.length + 1).filter((e) => !e.startsWith('HOME=')), [], 'nothing else but HOME');
  t.equal(report.cwd, '/tmp', 'cwd from --cwd');
  t.ok(report.capabilities.bounding?.names.includes('CAP_SYS_ADMIN'), '--cap adds to the bounding set');
  t.same(Object.keys(report.fds ?? {}).sort(), ['0', '1', '2'], 'only fds 0-2');
  const root = await hk(c.root, ['exec', '--cap', 'CAP_SYS_ADMIN', c.id, '/probe']);
  t.equal(root.code, 0, 'exec as root exits 0', { stderr: root.stderr });
  const rootReport = parseProbeReport(root.stdout);
  for (const set of ['bounding', 'effective', 'permitted'] as const) {
    t.ok(rootReport.capabilities[set]?.names.includes('CAP_SYS_ADMIN'), `--cap adds to the ${set} set`);
    t.notOk(init.capabilities[set]?.names.includes('CAP_SYS_ADMIN'), `the init has no CAP_SYS_ADMIN in ${set}`);
  }
  t.equal(rootReport.uid?.effective, 0, 'uid 0 from the config');
  t.equal(rootReport.cwd, c.bundle.spec.process!.cwd, 'cwd from the config');
  await finish(t, c);
});

t.test('exec into a created container', { skip }, async (t) => {
  const c = await container(t, { created: true });
  const r = await hk(c.root, ['exec', c.id, '/probe']);
  t.equal(r.code, 0, 'exec exits 0', { stderr: r.stderr });
  const report = parseProbeReport(r.stdout);
  const host = hostNamespaces(c.pid);
  for (const ns of NAMESPACES) t.equal(report.namespaces?.[ns], host[ns], `same ${ns} namespace as the created init`);
  const state = JSON.parse((await hk(c.root, ['state', c.id])).stdout) as { status: string };
  t.equal(state.status, 'created', 'the container is still created');
  await finish(t, c);
});

t.test('exit statuses', { skip }, async (t) => {
  const c = await container(t);
  const seven = await hk(c.root, ['exec', c.id, '/probe', '--exit', '7']);
  t.equal(seven.code, 7, 'the process\'s own status', { stderr: seven.stderr });
  const killed = await hk(c.root, ['exec', c.id, '/bin/sh', '-c', 'kill -9 $$']);
  t.equal(killed.code, 137, '128 + SIGKILL', { stderr: killed.stderr });
  const missing = await hk(c.root, ['exec', c.id, 'nope']);
  t.equal(missing.code, 255, 'a missing binary: 255');
  t.equal(errorMessage(missing), 'exec failed: unable to start container process: exec: "nope": executable file not found in $PATH', 'runc\'s message');
  const cwd = await hk(c.root, ['exec', '--cwd', '/nowhere', c.id, '/probe']);
  t.equal(cwd.code, 255, 'a missing cwd: 255');
  t.match(errorMessage(cwd), 'chdir to cwd ("/nowhere") set in config.json failed: no such file or directory', 'runc\'s cwd message');
  const nothing = await hk(c.root, ['exec', 'no-such-container', '/probe']);
  t.equal(nothing.code, 255, 'no such container: 255');
  t.match(errorMessage(nothing), /^exec failed: container does not exist/, 'the cause');
  const stdin = await hk(c.root, ['exec', c.id, '/bin/cat'], 'through stdin\n');
  t.equal(stdin.stdout, 'through stdin\n', 'stdin and stdout are proxied');
  await finish(t, c);
});

t.test('a lone -- after the id is dropped', { skip }, async (t) => {
  const c = await container(t);
  const r = await hk(c.root, ['exec', c.id, '--', '/bin/echo', '--', 'a']);
  t.equal(r.code, 0, 'exec exits 0', { stderr: r.stderr });
  t.equal(r.stdout, '-- a\n', 'the command\'s own -- is kept');
  const flags = await hk(c.root, ['exec', c.id, '/bin/sh', '-c', 'echo "$@"', 'sh', '-u', '5', '-d']);
  t.equal(flags.code, 0, 'flags after the command are not hako\'s', { stderr: flags.stderr });
  t.equal(flags.stdout, '-u 5 -d\n', 'flags after the id belong to the command');
  await finish(t, c);
});

t.test('-d with --pid-file: the process runs on, re-parented to the caller', { skip }, async (t) => {
  const c = await container(t);
  const pidFile = path.join(c.dir, 'exec.pid');
  const outFile = path.join(c.dir, 'exec.out');
  const mark = `${c.marker}-exec`;
  const r = await spawnRuntime(HAKO, c.root, ['exec', '-d', '--pid-file', pidFile, c.id, '/probe', '--stat', `/${mark}`, '--sleep', 'inf'], {
    stdoutFile: outFile,
    stderrFile: path.join(c.dir, 'exec.err'),
  });
  t.equal(r.code, 0, 'exec -d exits 0', { stderr: r.stderr });
  const text = readFileSync(pidFile, 'utf8');
  t.match(text, /^[1-9]\d*$/, 'the pid file holds a decimal pid, no newline');
  const pid = Number(text);
  t.ok(isAlive(pid), 'the process runs after hako exited');
  t.equal(procInfo(pid)?.ppid, process.pid, 'its parent is the caller (a subreaper), not hako');
  t.equal(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), 'in the container\'s cgroup');
  t.same(hostNamespaces(pid), hostNamespaces(c.pid), 'in the container\'s namespaces');
  await waitFor('the exec report', () => readIfExists(outFile).endsWith('\n'));
  t.equal(parseProbeReport(readIfExists(outFile)).pid > 1, true, 'its stdout is the caller\'s (inherited)');
  const ps = JSON.parse((await hk(c.root, ['ps', '-f', 'json', c.id])).stdout) as number[];
  t.ok(ps.includes(pid), 'ps lists it');
  process.kill(pid, 'SIGKILL');
  await reapIfOurs(pid);
  await finish(t, c);
});

t.test('-p process.json: a complete process, the flags ignored', { skip }, async (t) => {
  const c = await container(t);
  const file = path.join(c.dir, 'process.json');
  writeFileSync(file, JSON.stringify({ args: ['/probe'], cwd: '/dev', user: { uid: 2, gid: 3 }, env: ['ONLY=this', 'PATH=/bin'] }));
  const r = await hk(c.root, ['exec', '-p', file, '-e', 'IGNORED=1', '--cwd', '/tmp', '-u', '5', c.id]);
  t.equal(r.code, 0, 'exec -p exits 0', { stderr: r.stderr });
  const report = parseProbeReport(r.stdout);
  t.equal(report.cwd, '/dev', 'cwd from the file');
  t.equal(report.uid?.effective, 2, 'uid from the file');
  t.equal(report.gid?.effective, 3, 'gid from the file');
  t.same(report.env.filter((e) => !e.startsWith('HOME=')), ['ONLY=this', 'PATH=/bin'], 'env from the file only');
  writeFileSync(file, JSON.stringify({ args: [], cwd: 'relative', user: { uid: 0, gid: 0 } }));
  const bad = await hk(c.root, ['exec', '-p', file, c.id]);
  t.equal(bad.code, 255, 'an invalid process.json: 255');
  t.match(errorMessage(bad), /^exec failed: /, 'exec failed: and the problems');
  await finish(t, c);
});

t.test('-t with --console-socket: the pty master is sent', { skip }, async (t) => {
  const c = await container(t);
  const receiver = await consoleReceiver(t, c.dir);
  const pidFile = path.join(c.dir, 'exec.pid');
  const r = await spawnRuntime(HAKO, c.root, ['exec', '-t', '-d', '--console-socket', receiver.socketPath, '--pid-file', pidFile, c.id, '/bin/sh']);
  t.equal(r.code, 0, 'exec -t -d exits 0', { stderr: r.stderr });
  const got = await receiver.received;
  t.equal(got.nfds, 1, 'one fd');
  t.match(got.link, /^\/dev\/(pts\/)?ptmx$/, 'a pty master');
  const out = await receiver.interact('echo hello-$((6*7))\n', 'hello-42');
  t.match(out, 'hello-42', 'the shell answers through the pty');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  t.equal(Number(stat[3]), pid, 'a session leader (setsid with a terminal)');
  const noTty = await hk(c.root, ['exec', '-d', '--console-socket', receiver.socketPath, c.id, '/bin/true']);
  t.equal(noTty.code, 255, 'a console socket without -t: refused');
  t.match(errorMessage(noTty), 'cannot use console socket if runc will not detach or allocate tty');
  const noSock = await hk(c.root, ['exec', '-d', '-t', c.id, '/bin/true']);
  t.match(errorMessage(noSock), 'cannot allocate tty if runc will detach without setting console socket');
  process.kill(pid, 'SIGKILL');
  await reapIfOurs(pid);
  await receiver.close();
  await finish(t, c);
});

t.test('refused in stopped and paused containers', { skip }, async (t) => {
  const c = await container(t);
  t.equal((await hk(c.root, ['pause', c.id])).code, 0, 'paused');
  const paused = await hk(c.root, ['exec', c.id, '/bin/true']);
  t.equal(paused.code, 255, 'paused: 255');
  t.equal(errorMessage(paused), 'exec failed: cannot exec in a paused container', 'runc\'s message');
  t.equal((await hk(c.root, ['resume', c.id])).code, 0, 'resumed');
  t.equal((await hk(c.root, ['kill', c.id, 'KILL'])).code, 0, 'killed');
  await reapIfOurs(c.pid);
  const stopped = await hk(c.root, ['exec', c.id, '/bin/true']);
  t.equal(stopped.code, 255, 'stopped: 255');
  t.equal(errorMessage(stopped), 'exec failed: cannot exec in a stopped container', 'runc\'s message');
  await finish(t, c);
});

t.test('CVE-2019-5736: the process that joins runs from a sealed memfd', { skip }, async (t) => {
  // In a paused container (--ignore-paused) hako-init is frozen in the container's cgroup:
  // stage 0 before it has read its plan (moved into the v1 freezer), or on a v2 host the
  // process it cloned into the frozen cgroup2 directory, not yet exec'd. Either way its
  // executable can be looked at from outside.
  const c = await container(t);
  t.equal((await hk(c.root, ['pause', c.id])).code, 0, 'paused');
  const pidFile = path.join(c.dir, 'exec.pid');
  let hakoPid = 0;
  let frozenPid = 0;
  // Runs before the container's own teardown (tap runs them last-in first-out): should the
  // test fail while paused, the frozen hako-init and its hako would keep the cgroup busy.
  t.teardown(async () => {
    for (const pid of [frozenPid, hakoPid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await hk(c.root, ['resume', c.id]);
  });
  const running = spawnRuntime(HAKO, c.root, ['exec', '-d', '--ignore-paused', '--pid-file', pidFile, c.id, '/bin/sleep', '1000'], {
    onSpawn: (pid) => (hakoPid = pid),
  });
  // The freezing hierarchy: the v1 freezer where there is one, else cgroup2.
  const initLines = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8').split('\n');
  const frozenBy = initLines.find((l) => /^\d+:freezer:/.test(l)) ?? initLines.find((l) => l.startsWith('0::'))!;
  const stage0 = await waitFor('hako-init frozen in the container\'s cgroup', () => {
    for (const task of hakoPid ? readdirSync(`/proc/${hakoPid}/task`) : []) {
      for (const child of readIfExists(`/proc/${hakoPid}/task/${task}/children`).split(' ').filter(Boolean)) {
        if (readIfExists(`/proc/${child}/cgroup`).split('\n').includes(frozenBy)) return Number(child);
      }
    }
    return false;
  });
  frozenPid = stage0;
  const exe = readlinkSync(`/proc/${stage0}/exe`);
  t.match(exe, /^\/memfd:/, 'its executable is a memfd', { exe });
  const fd = openSync(`/proc/${stage0}/exe`, 'r');
  try {
    const seals = native().seals(fd);
    for (const seal of ['SEAL', 'SHRINK', 'GROW', 'WRITE'] as const) t.ok(seals & SEALS[seal], `F_SEAL_${seal} is set`);
  } finally {
    closeSync(fd);
  }
  let error = '';
  try {
    const w = openSync(`/proc/${stage0}/exe`, 'r+');
    try {
      writeSync(w, 'x');
    } finally {
      closeSync(w);
    }
  } catch (err) {
    error = (err as NodeJS.ErrnoException).code ?? String(err);
  }
  t.match(error, /^(EPERM|EACCES|ETXTBSY)$/, 'it cannot be written through /proc/<pid>/exe', { error });
  t.equal((await hk(c.root, ['resume', c.id])).code, 0, 'resumed');
  const r = await running;
  t.equal(r.code, 0, 'exec -d goes on once resumed', { stderr: r.stderr });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  t.ok(readlinkSync(`/proc/${pid}/exe`).endsWith('busybox') || readlinkSync(`/proc/${pid}/exe`).includes('sleep'), 'the process runs the container\'s sleep');
  process.kill(pid, 'SIGKILL');
  await reapIfOurs(pid);
  await finish(t, c);
});

t.test('exec into a container with a user namespace: joined first, ids mapped', { skip }, async (t) => {
  const c = await container(t, {
    edit: (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
    chown: true,
  });
  const r = await hk(c.root, ['exec', '-u', '1000:1000', c.id, '/probe']);
  t.equal(r.code, 0, 'exec exits 0', { stderr: r.stderr });
  const report = parseProbeReport(r.stdout);
  for (const ns of [...NAMESPACES, 'user']) t.equal(report.namespaces?.[ns], c.initReport!.namespaces?.[ns], `same ${ns} namespace as the init`);
  t.equal(report.uid?.effective, 1000, 'uid 1000 inside');
  const pidFile = path.join(c.dir, 'exec.pid');
  const d = await spawnRuntime(HAKO, c.root, ['exec', '-d', '-u', '1000:1000', '--pid-file', pidFile, c.id, '/bin/sleep', '1000']);
  t.equal(d.code, 0, 'exec -d exits 0', { stderr: d.stderr });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  t.match(status, /^Uid:\s+101000\s+101000\s+101000\s+101000$/m, 'host uid 101000 (container 1000 mapped)');
  process.kill(pid, 'SIGKILL');
  await reapIfOurs(pid);
  await finish(t, c);
});

t.test('--preserve-fds passes fds 3.. to the process', { skip }, async (t) => {
  const c = await container(t);
  const file = path.join(c.dir, 'passed');
  writeFileSync(file, 'x');
  const fd = openSync(file, 'r');
  try {
    const out = path.join(c.dir, 'pf.out');
    const r = await spawnRuntime(HAKO, c.root, ['exec', '--preserve-fds', '1', c.id, '/probe'], { extraFds: [fd], stdoutFile: out, stderrFile: path.join(c.dir, 'pf.err') });
    t.equal(r.code, 0, 'exec exits 0', { stderr: r.stderr });
    const report = parseProbeReport(readIfExists(out));
    t.same(Object.keys(report.fds ?? {}).sort(), ['0', '1', '2', '3'], 'fds 0-3');
    t.equal(report.fds?.['3'], file, 'fd 3 is the file passed');
  } finally {
    closeSync(fd);
  }
  await finish(t, c);
});

t.test('foreground exec: signals are forwarded to the process', { skip }, async (t) => {
  const c = await container(t);
  const mark = `${c.marker}-sig`;
  let hakoPid = 0;
  const running = spawnRuntime(HAKO, c.root, ['exec', c.id, '/bin/sh', '-c', `trap 'exit 42' TERM; echo ${mark}; while :; do sleep 0.1; done`], {
    onSpawn: (pid) => (hakoPid = pid),
    stdoutFile: path.join(c.dir, 'sig.out'),
    stderrFile: path.join(c.dir, 'sig.err'),
  });
  await waitFor('the shell to run', () => readIfExists(path.join(c.dir, 'sig.out')).includes(mark));
  process.kill(hakoPid, 'SIGTERM');
  const r = await running;
  t.equal(r.code, 42, 'SIGTERM reached the shell, whose status is hako\'s', { stderr: r.stderr });
  await finish(t, c);
});

t.test('foreground -t: a pty from the container, proxied to our stdout', { skip }, async (t) => {
  const c = await container(t);
  const r = await hk(c.root, ['exec', '-t', c.id, '/bin/sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; exit 3']);
  t.equal(r.code, 3, 'the shell\'s status', { stderr: r.stderr });
  t.match(r.stdout, /^\/dev\/pts\/\d+\r?\n/, 'its terminal is a pty of the container\'s devpts');
  t.match(r.stdout, 'all-ttys', 'fds 0-2 are the pty');
  await finish(t, c);
});

t.test('foreground -t on a real terminal: its size, raw mode while running, the terminal given back', { skip }, async (t) => {
  const c = await container(t);
  const got = await onTerminal(t, [HAKO, '--root', c.root, 'exec', '-t', c.id, '/bin/sh', '-c', 'tty; stty size; sleep 0.5; exit 4']);
  t.equal(got.code, 4, 'the shell\'s status', got);
  t.match(got.out, /\/dev\/pts\/\d+\r?\n/, 'the shell\'s terminal is a pty');
  t.match(got.out, /\b33 101\r?\n/, 'of the size of hako\'s terminal');
  t.ok(got.rawSeen, 'hako\'s terminal was raw (no echo) while the process ran');
  t.ok(got.restored, 'hako\'s terminal settings are as they were after it exits');
  await finish(t, c);
});

t.test('runc\'s words for a file that cannot be executed', { skip }, async (t) => {
  const c = await container(t);
  const r = await hk(c.root, ['exec', c.id, '/etc/passwd']);
  t.equal(r.code, 255, '255');
  t.equal(errorMessage(r), 'exec failed: unable to start container process: exec: "/etc/passwd": permission denied', 'runc\'s message');
  const dir = await hk(c.root, ['exec', c.id, '/nope/x']);
  t.equal(errorMessage(dir), 'exec failed: unable to start container process: exec: "/nope/x": stat /nope/x: no such file or directory', 'a missing path');
  await finish(t, c);
});

t.test('--cgroup: the process goes into an existing sub-cgroup', { skip }, async (t) => {
  const c = await container(t);
  const state = JSON.parse(readFileSync(path.join(c.root, c.id, 'state.json'), 'utf8')) as { cgroup: { paths: Record<string, string> } };
  const dirs = [...new Set(Object.values(state.cgroup.paths))];
  for (const d of dirs) {
    mkdirSync(path.join(d, 'sub'));
    // A v1 cpuset cgroup takes no process before it has cpus and mems (the caller's job, as under runc).
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(path.join(d, f))) writeFileSync(path.join(d, 'sub', f), readFileSync(path.join(d, f)));
    }
  }
  const pidFile = path.join(c.dir, 'exec.pid');
  const r = await spawnRuntime(HAKO, c.root, ['exec', '-d', '--cgroup', 'sub', '--pid-file', pidFile, c.id, '/bin/sleep', '1000']);
  t.equal(r.code, 0, 'exec --cgroup sub exits 0', { stderr: r.stderr });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const initLines = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8').trim().split('\n');
  t.same(lines, initLines.map((l) => `${l}/sub`), 'in every hierarchy: the container\'s sub-cgroup', { lines, initLines });
  process.kill(pid, 'SIGKILL');
  await reapIfOurs(pid);
  const missing = await hk(c.root, ['exec', '--cgroup', 'nope', c.id, '/bin/true']);
  t.equal(missing.code, 255, 'a sub-cgroup that does not exist: 255');
  t.match(errorMessage(missing), /^exec failed: .*nope.*cgroup\.procs/, 'names the file', { stderr: missing.stderr });
  const escape = await hk(c.root, ['exec', '--cgroup', '../x', c.id, '/bin/true']);
  t.match(errorMessage(escape), 'exec failed: ../x is not a sub cgroup path');
  await finish(t, c);
});

t.test('--no-new-keyring at create: the exec\'d process joins no session keyring either', { skip }, async (t) => {
  const keyrings = (id: string): number => readFileSync('/proc/keys', 'utf8').split('\n').filter((l) => l.endsWith(`_ses.${id}: empty`) || l.includes(`_ses.${id}:`)).length;
  for (const noKeyring of [false, true]) {
    const c = await container(t, noKeyring ? { createArgs: ['--no-new-keyring'] } : {});
    const pidFile = path.join(c.dir, 'exec.pid');
    const r = await spawnRuntime(HAKO, c.root, ['exec', '-d', '--pid-file', pidFile, c.id, '/bin/sleep', '1000']);
    t.equal(r.code, 0, 'exec -d exits 0', { stderr: r.stderr });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (noKeyring) t.equal(keyrings(c.id), 0, `no _ses.${c.id} keyring`);
    else t.equal(keyrings(c.id), 1, `one _ses.${c.id} keyring (the init's, joined by the exec'd process)`);
    process.kill(pid, 'SIGKILL');
    await reapIfOurs(pid);
    await finish(t, c);
  }
});

const PIDFD_RECEIVER_PY = `
import array, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
fds = array.array("i")
msg, anc, flags, addr = c.recvmsg(64, socket.CMSG_SPACE(4 * fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
pid = [l.split()[1] for l in open("/proc/self/fdinfo/%d" % fds[0]) if l.startswith("Pid:")]
print(msg.decode(), len(fds), pid[0] if pid else "?", flush=True)
`;

/** The python receiver listening on sock; resolves with a reader of what it printed. */
async function pidfdReceiver(t: Test, sock: string): Promise<() => string> {
  const { spawn } = await import('node:child_process');
  const receiver = spawn('python3', ['-c', PIDFD_RECEIVER_PY, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (receiver.exitCode === null) receiver.kill('SIGKILL');
  });
  let out = '';
  receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('the receiver to listen', () => out.includes('listening'));
  return () => out;
}

t.test('--pidfd-socket: a pidfd of the exec\'d process is sent, named "setns"', { skip }, async (t) => {
  const c = await container(t);
  const sock = path.join(c.dir, 'pidfd.sock');
  const out = await pidfdReceiver(t, sock);
  const pidFile = path.join(c.dir, 'exec.pid');
  const r = await spawnRuntime(HAKO, c.root, ['exec', '-d', '--pidfd-socket', sock, '--pid-file', pidFile, c.id, '/bin/sleep', '1000']);
  t.equal(r.code, 0, 'exec -d --pidfd-socket exits 0', { stderr: r.stderr });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await waitFor('the receiver\'s line', () => out().split('\n').length > 2);
  t.equal(out().split('\n')[1], `setns 1 ${pid}`, 'one fd, a pidfd of the exec\'d process');
  process.kill(pid, 'SIGKILL');
  await reapIfOurs(pid);
  const none = await hk(c.root, ['exec', '--pidfd-socket', path.join(c.dir, 'nobody.sock'), c.id, '/bin/true']);
  t.equal(none.code, 255, 'nobody listening: 255');
  t.match(errorMessage(none), /^exec failed: send the pidfd to /, 'says so');
  await finish(t, c);
});

t.test('create --pidfd-socket: a pidfd of the init is sent, named "standard"', { skip }, async (t) => {
  const dir = await scratchDir(t, 'pidfd');
  const sock = path.join(dir, 'pidfd.sock');
  const out = await pidfdReceiver(t, sock);
  const c = await container(t, { created: true, createArgs: ['--pidfd-socket', sock] });
  await waitFor('the receiver\'s line', () => out().split('\n').length > 2);
  t.equal(out().split('\n')[1], `standard 1 ${c.pid}`, 'one fd, a pidfd of the container\'s init');
});

// Takes two connections on argv[1] (create's and exec's), appends what came to argv[2] as
// JSON lines ({state, nfds}), keeps the listeners open until killed.
const TWO_AGENTS_PY = String.raw`
import array, json, socket, sys, time
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1]); srv.listen(2)
print("ready", flush=True)
keep = []
for _ in range(2):
    conn, _ = srv.accept()
    msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16))
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % 4])
    keep.append(fds)
    with open(sys.argv[2], "a") as f:
        f.write(json.dumps({"state": json.loads(msg), "nfds": len(fds)}) + "\n")
time.sleep(60)
`;

t.test('SCMP_ACT_NOTIFY: the exec\'d process\'s listener goes to the agent with the container\'s state', { skip }, async (t) => {
  const scratch = await scratchDir(t, 'ex-agent');
  const socketPath = path.join(scratch, 'agent.sock');
  const out = path.join(scratch, 'agent.jsonl');
  const { spawn } = await import('node:child_process');
  const agent = spawn('python3', ['-c', TWO_AGENTS_PY, socketPath, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void agent.kill('SIGKILL'));
  await new Promise<void>((resolve) => agent.stdout.once('data', () => resolve()));
  const c = await container(t, {
    edit: (spec) => {
      spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: socketPath, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
    },
  });
  const pidFile = path.join(c.dir, 'exec.pid');
  const r = await spawnRuntime(HAKO, c.root, ['exec', '-d', '--pid-file', pidFile, c.id, '/bin/sleep', '1000']);
  t.equal(r.code, 0, 'exec -d exits 0', { stderr: r.stderr });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const lines = await waitFor('two handovers', () => {
    const l = readIfExists(out).split('\n').filter(Boolean);
    return l.length === 2 ? l : false;
  });
  const exec = JSON.parse(lines[1]!) as { state: { pid: number; fds: string[]; state: { status: string; pid: number; id: string } }; nfds: number };
  t.equal(exec.nfds, 1, 'one fd');
  t.same(exec.state.fds, ['seccompFd'], 'named seccompFd');
  t.equal(exec.state.pid, pid, 'the exec\'d process\'s pid');
  t.match(exec.state.state, { id: c.id, status: 'running', pid: c.pid }, 'the container\'s state: running, its init\'s pid');
  process.kill(pid, 'SIGKILL');
  await reapIfOurs(pid);
  agent.kill('SIGKILL');
  await finish(t, c);
});
