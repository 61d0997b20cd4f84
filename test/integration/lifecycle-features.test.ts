// Namespaces and process features under dist/hako, observed from inside with the probe:
// user namespace, joining another container's namespaces by path, time namespace,
// hostname/domainname, additionalGids, umask, rlimits, oomScoreAdj, --preserve-fds,
// --no-pivot, --no-new-keyring, root.readonly, bind mounts ro/rw, tmpcopyup, rro.
// Needs root, dist/hako and the probe.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, mountsUnder, runtimeCommand } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  chownTree,
  HAKO,
  hakoSkip,
  readIfExists,
  scratchDir,
  type SpawnResult,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

const hostNs = (ns: string): number => statSync(`/proc/self/ns/${ns}`).ino;

interface Ran extends SpawnResult {
  report: ProbeReport | undefined;
  root: string;
  scratch: string;
}

/**
 * `hako run` in the foreground with stdout/stderr on files; parses the probe report from
 * the last line of stdout (earlier lines may come from a shell in front of the probe).
 */
async function runHako(
  t: Test,
  bundle: Bundle,
  opts: { runArgs?: string[]; extraFds?: number[]; id?: string } = {},
): Promise<Ran> {
  const root = await makeStateRoot(t, HAKO);
  const scratch = await scratchDir(t, 'feat');
  const id = opts.id ?? containerId('feat');
  const r = await spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, ...(opts.runArgs ?? []), id], {
    stdoutFile: path.join(scratch, 'out'),
    stderrFile: path.join(scratch, 'err'),
    extraFds: opts.extraFds,
  });
  const last = r.stdout.trimEnd().split('\n').at(-1) ?? '';
  let report: ProbeReport | undefined;
  try {
    report = parseProbeReport(last);
  } catch {
    report = undefined;
  }
  return { ...r, report, root, scratch };
}

function okRun(t: Test, r: Ran): r is Ran & { report: ProbeReport } {
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr });
  t.ok(r.report, 'the probe printed its report', { stdout: r.stdout.slice(0, 500) });
  return r.code === 0 && r.report !== undefined;
}

const words = (s: string): string => s.trim().split(/\s+/).join(' ');

t.test('user namespace: container 0 is host 100000', { skip }, async (t) => {
  const id = containerId('userns');
  const marker = `marker-${id}`;
  const bundle = await makeBundle(t, {
    args: ['/bin/sh', '-c', `cat /proc/self/uid_map /proc/self/gid_map >&2; exec /probe --stat /${marker} --sleep inf`],
    edit: (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
  });
  await chownTree(bundle.rootfs, 100000, 100000); // the image belongs to the mapped root
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'userns');
  const out = path.join(dir, 'out');
  const err = path.join(dir, 'err');
  const create = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, '--pid-file', path.join(dir, 'pid'), id], {
    stdoutFile: out,
    stderrFile: err,
  });
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  const pid = Number(readIfExists(path.join(dir, 'pid')));
  t.equal(words(readFileSync(`/proc/${pid}/uid_map`, 'utf8')), '0 100000 65536', 'uid_map seen from the host');
  t.equal(words(readFileSync(`/proc/${pid}/gid_map`, 'utf8')), '0 100000 65536', 'gid_map seen from the host');
  t.equal(statSync(path.join(root, id, 'exec.fifo')).uid, 100000, 'exec.fifo is owned by the container\'s root');
  t.equal((await runtimeCommand(HAKO, root, ['start', id])).code, 0, 'start');
  const text = await waitFor('the report', () => (readIfExists(out).endsWith('\n') ? readIfExists(out) : false));
  const report = parseProbeReport(text);
  t.same(report.uid, { real: 0, effective: 0, saved: 0, fs: 0 }, 'uid 0 inside');
  t.same(report.gid, { real: 0, effective: 0, saved: 0, fs: 0 }, 'gid 0 inside');
  t.not(report.namespaces?.user, hostNs('user'), 'a new user namespace');
  t.same(readIfExists(err).trim().split('\n').map(words), ['0 100000 65536', '0 100000 65536'], 'uid_map and gid_map inside');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  t.match(status, /^Uid:\s+100000\s+100000\s+100000\s+100000$/m, 'host uid 100000');
  t.match(status, /^Gid:\s+100000\s+100000\s+100000\s+100000$/m, 'host gid 100000');
  t.equal((await runtimeCommand(HAKO, root, ['delete', '-f', id])).code, 0, 'delete -f');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [pid], markers: [marker], dirs: [dir] });
});

t.test('joining another container\'s uts, ipc and net namespaces by path', { skip }, async (t) => {
  const sbId = containerId('sandbox');
  const sbMarker = `marker-${sbId}`;
  const sandbox = await makeBundle(t, {
    args: ['/probe', '--stat', `/${sbMarker}`, '--sleep', 'inf'],
    edit: (spec) => void (spec.hostname = 'sandbox-host'),
  });
  const sbRoot = await makeStateRoot(t, HAKO);
  const sbDir = await scratchDir(t, 'sandbox');
  const r = await spawnRuntime(HAKO, sbRoot, ['run', '-d', '--bundle', sandbox.dir, '--pid-file', path.join(sbDir, 'pid'), sbId], {
    stdoutFile: path.join(sbDir, 'out'),
    stderrFile: path.join(sbDir, 'err'),
  });
  t.equal(r.code, 0, 'sandbox runs', { stderr: r.stderr });
  const sbPid = Number(readIfExists(path.join(sbDir, 'pid')));
  const sbNs = (ns: string): number => statSync(`/proc/${sbPid}/ns/${ns}`).ino;

  const joiner = await makeBundle(t, {
    args: ['/probe'],
    edit: (spec) => {
      delete spec.hostname; // the uts namespace is the sandbox's: no hostname of its own (runc refuses one)
      const paths: Record<string, string> = { uts: 'uts', ipc: 'ipc', network: 'net' };
      spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
        paths[ns.type] ? { type: ns.type, path: `/proc/${sbPid}/ns/${paths[ns.type]}` } : ns,
      );
    },
  });
  const ran = await runHako(t, joiner);
  if (okRun(t, ran)) {
    for (const ns of ['uts', 'ipc', 'net']) t.equal(ran.report.namespaces?.[ns], sbNs(ns), `${ns}: the sandbox's`);
    for (const ns of ['pid', 'mnt']) {
      t.not(ran.report.namespaces?.[ns], sbNs(ns), `${ns}: its own, not the sandbox's`);
      t.not(ran.report.namespaces?.[ns], hostNs(ns), `${ns}: not the host's`);
    }
    t.equal(ran.report.hostname, 'sandbox-host', 'the sandbox\'s hostname');
  }
  t.equal((await runtimeCommand(HAKO, sbRoot, ['delete', '-f', sbId])).code, 0, 'sandbox deleted');
  await checkNothingLeft(t, {
    stateRoot: ran.root,
    bundleDir: joiner.dir,
    pids: [sbPid],
    markers: [sbMarker],
    dirs: [sandbox.dir, sbRoot, sbDir],
  });
});

t.test('time namespace with timeOffsets', { skip }, async (t) => {
  const hostUptimeBefore = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const bundle = await makeBundle(t, {
    args: ['/bin/sh', '-c', 'cat /proc/self/timens_offsets /proc/uptime >&2; exec /probe'],
    edit: (spec) => {
      spec.linux!.namespaces!.push({ type: 'time' });
      spec.linux!.timeOffsets = { monotonic: { secs: 86400, nanosecs: 0 }, boottime: { secs: 172800, nanosecs: 0 } };
    },
  });
  const ran = await runHako(t, bundle);
  if (okRun(t, ran)) {
    t.not(ran.report.namespaces?.time, hostNs('time'), 'a new time namespace');
    const lines = ran.stderr.trim().split('\n');
    t.same(lines.slice(0, 2).map(words).sort(), ['boottime 172800 0', 'monotonic 86400 0'], 'timens_offsets');
    const uptime = Number(lines[2]?.split(' ')[0]);
    t.ok(uptime >= hostUptimeBefore + 172800, `uptime inside (${uptime}) is the host's (${hostUptimeBefore}) + 2 days`);
  }
  await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
});

t.test('hostname, domainname, additionalGids, umask, rlimits, oomScoreAdj, user', { skip }, async (t) => {
  const hostHard = (what: string): number => {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(what));
    const hard = line?.trim().split(/\s{2,}/)[2];
    return hard === 'unlimited' || hard === undefined ? Infinity : Number(hard);
  };
  const nprocHard = Math.min(400, hostHard('Max processes'));
  const bundle = await makeBundle(t, {
    args: ['/probe', '--write', '/tmp/umask-check'],
    edit: (spec) => {
      spec.hostname = 'feat-host';
      spec.domainname = 'example.test';
      spec.root!.readonly = false;
      spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 100, 65534], umask: 0o027 };
      spec.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 },
        { type: 'RLIMIT_NPROC', soft: nprocHard - 100, hard: nprocHard },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ];
      spec.process!.oomScoreAdj = 123;
    },
  });
  const ran = await runHako(t, bundle);
  if (okRun(t, ran)) {
    const r = ran.report;
    t.equal(r.hostname, 'feat-host', 'hostname');
    t.equal(r.domainname, 'example.test', 'domainname');
    t.same(r.uid, { real: 1000, effective: 1000, saved: 1000, fs: 1000 }, 'uid 1000');
    t.same(r.gid, { real: 1000, effective: 1000, saved: 1000, fs: 1000 }, 'gid 1000');
    t.same([...(r.groups ?? [])].sort((a, b) => a - b), [5, 100, 65534], 'supplementary groups = additionalGids');
    t.equal(r.umask_octal, '0027', 'umask 0027');
    t.same(r.rlimits.RLIMIT_NOFILE, { soft: 512, hard: 1000 }, 'RLIMIT_NOFILE');
    t.same(r.rlimits.RLIMIT_NPROC, { soft: nprocHard - 100, hard: nprocHard }, 'RLIMIT_NPROC');
    t.same(r.rlimits.RLIMIT_CORE, { soft: 0, hard: 0 }, 'RLIMIT_CORE');
    t.equal(r.oom_score_adj, 123, 'oom_score_adj');
    t.same(r.capabilities.effective?.names, [], 'a non-root user has no effective capabilities');
  }
  await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
});

t.test('--preserve-fds', { skip }, async (t) => {
  const dir = await scratchDir(t, 'fds');
  const file = path.join(dir, 'passed-file');
  writeFileSync(file, 'hello\n');
  const fd = openSync(file, 'r');
  t.teardown(() => closeSync(fd));

  await t.test('--preserve-fds 1: fd 3 reaches the container as fd 3', async (t) => {
    const bundle = await makeBundle(t, { args: ['/probe'] });
    const ran = await runHako(t, bundle, { runArgs: ['--preserve-fds', '1'], extraFds: [fd] });
    if (okRun(t, ran)) {
      t.same(Object.keys(ran.report.fds ?? {}).sort(), ['0', '1', '2', '3'], 'fds 0-3', { fds: ran.report.fds });
      t.equal(ran.report.fds?.['3'], file, 'fd 3 is the file the test opened');
    }
    await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
  });

  await t.test('without --preserve-fds an inherited fd 3 does not reach the container', async (t) => {
    const bundle = await makeBundle(t, { args: ['/probe'] });
    const ran = await runHako(t, bundle, { extraFds: [fd] });
    if (okRun(t, ran)) t.same(Object.keys(ran.report.fds ?? {}).sort(), ['0', '1', '2'], 'only fds 0-2', { fds: ran.report.fds });
    await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
  });

  await t.test('--preserve-fds 3 with only fd 3 passed: no fd of hako\'s own leaks in', async (t) => {
    const bundle = await makeBundle(t, { args: ['/probe'] });
    const ran = await runHako(t, bundle, { runArgs: ['--preserve-fds', '3'], extraFds: [fd] });
    // runc 1.1.5 leaked its own fds here; refusing (as >= 1.2 does) or passing nothing extra are both fine.
    if (ran.code === 0) {
      t.same(Object.keys(ran.report?.fds ?? {}).sort(), ['0', '1', '2', '3'], 'only the caller\'s fds', { fds: ran.report?.fds });
    } else {
      t.equal(ran.code, 1, 'refused with exit 1');
      t.match(ran.stderr, /fd 4/, 'naming the missing fd', { stderr: ran.stderr });
    }
    await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
  });
});

t.test('--no-pivot', { skip }, async (t) => {
  const bundle = await makeBundle(t, { args: ['/probe', '--stat', '/probe', '--write', '/x'] });
  const ran = await runHako(t, bundle, { runArgs: ['--no-pivot'] });
  if (okRun(t, ran)) {
    const rootMount = ran.report.mounts?.find((m) => m.mount_point === '/');
    t.ok(rootMount, 'a mount at /');
    t.match(ran.report.stat['/probe'], { type: 'file' }, 'the image is the root');
    t.same(ran.report.write['/x'], { ok: false, error: 'EROFS' }, 'still read-only');
    t.equal(ran.report.pid, 1, 'pid 1');
  }
  await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
});

t.test('session keyring: _ses.<id> by default, none with --no-new-keyring', { skip }, async (t) => {
  for (const flag of [[], ['--no-new-keyring']]) {
    await t.test(flag.join(' ') || 'default', async (t) => {
      const id = containerId('keys');
      const bundle = await makeBundle(t, {
        args: ['/bin/cat', '/proc/keys'],
        edit: (spec) => void (spec.linux!.maskedPaths = spec.linux!.maskedPaths!.filter((p) => p !== '/proc/keys')),
      });
      const ran = await runHako(t, bundle, { runArgs: flag, id });
      t.equal(ran.code, 0, 'exit 0', { stderr: ran.stderr });
      const has = ran.stdout.split('\n').some((l) => l.trimEnd().endsWith(`_ses.${id}: empty`) || l.includes(` _ses.${id}:`));
      if (flag.length === 0) t.ok(has, `a keyring named _ses.${id}`, { keys: ran.stdout });
      else t.notOk(has, `no keyring named _ses.${id}`, { keys: ran.stdout });
      await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
    });
  }
});

t.test('root.readonly', { skip }, async (t) => {
  for (const readonly of [true, false]) {
    await t.test(`readonly ${readonly}`, async (t) => {
      const bundle = await makeBundle(t, {
        args: ['/probe', '--write', '/new-file', '--write', '/tmp/new-file'],
        edit: (spec) => void (spec.root!.readonly = readonly),
      });
      const ran = await runHako(t, bundle);
      if (okRun(t, ran)) {
        const expected = readonly ? { ok: false, error: 'EROFS' } : { ok: true, created: true };
        t.same(ran.report.write['/new-file'], expected, `write / : ${JSON.stringify(expected)}`);
        t.same(ran.report.write['/tmp/new-file'], expected, `write /tmp : ${JSON.stringify(expected)}`);
        t.equal(ran.report.mounts?.find((m) => m.mount_point === '/')?.options.includes('ro'), readonly, `/ mounted ${readonly ? 'ro' : 'rw'}`);
      }
      t.notOk(existsSync(path.join(bundle.rootfs, 'new-file')), 'the probe removed its file (or never made it)');
      await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
    });
  }
});

t.test('bind mounts: ro, rw, a file, rro and tmpcopyup', { skip }, async (t) => {
  const src = await scratchDir(t, 'bindsrc');
  writeFileSync(path.join(src, 'f'), 'host file\n');
  const fileSrc = path.join(await scratchDir(t, 'bindfile'), 'single');
  writeFileSync(fileSrc, 'single file\n');
  mkdirSync(path.join(src, 'sub'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(src, 'sub')]);
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', path.join(src, 'sub')]);
    } catch {
      // already gone
    }
  });
  const bundle = await makeBundle(t, {
    args: [
      '/bin/sh',
      '-c',
      'echo from-container > /mnt/rw/written; exec /probe "$@"',
      'sh',
      '--write', '/mnt/rw/f',
      '--write', '/mnt/ro/f',
      '--write', '/mnt/ro/sub/x',
      '--write', '/mnt/rro/f',
      '--write', '/mnt/rro/sub/x',
      '--stat', '/etc/single',
      '--write', '/etc/single',
      '--stat', '/etc/passwd',
      '--write', '/etc/tmpcopyup-new',
    ],
    edit: (spec) => {
      spec.mounts!.push(
        { destination: '/mnt/rw', type: 'bind', source: src, options: ['rbind', 'rw'] },
        { destination: '/mnt/ro', type: 'bind', source: src, options: ['rbind', 'ro'] },
        { destination: '/mnt/rro', type: 'bind', source: src, options: ['rbind', 'rro'] },
        { destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'size=4m'] },
        { destination: '/etc/single', type: 'bind', source: fileSrc, options: ['bind', 'ro'] },
      );
    },
  });
  const ran = await runHako(t, bundle);
  if (okRun(t, ran)) {
    const w = ran.report.write;
    t.match(w['/mnt/rw/f'], { ok: true }, 'rw bind: writable');
    t.equal(readIfExists(path.join(src, 'written')), 'from-container\n', 'rw bind: the write reached the host directory');
    t.same(w['/mnt/ro/f'], { ok: false, error: 'EROFS' }, 'ro bind: read-only');
    t.same(w['/mnt/ro/sub/x'], { ok: true, created: true }, 'ro (not recursive) bind: a submount stays writable (as runc)');
    t.same(w['/mnt/rro/f'], { ok: false, error: 'EROFS' }, 'rro bind: read-only');
    t.same(w['/mnt/rro/sub/x'], { ok: false, error: 'EROFS' }, 'rro bind: the submount is read-only too');
    t.match(ran.report.stat['/etc/single'], { type: 'file', size: 'single file\n'.length }, 'a file bind-mounted on a file');
    t.same(w['/etc/single'], { ok: false, error: 'EROFS' }, 'the file bind is read-only');
    t.match(ran.report.stat['/etc/passwd'], { type: 'file' }, 'tmpcopyup: the image\'s /etc content was copied up');
    t.same(w['/etc/tmpcopyup-new'], { ok: true, created: true }, 'tmpcopyup: /etc is a writable tmpfs (root is read-only)');
    const etc = ran.report.mounts?.find((m) => m.mount_point === '/etc');
    t.equal(etc?.fs_type, 'tmpfs', '/etc is a tmpfs');
  }
  t.notOk(existsSync(path.join(bundle.rootfs, 'etc', 'single')), 'the file mount point was made in the tmpfs, not in the image\'s /etc');
  t.same(mountsUnder(src), [path.join(src, 'sub')], 'only the test\'s own submount is mounted under the bind source');
  await checkNothingLeft(t, { stateRoot: ran.root, bundleDir: bundle.dir });
});
