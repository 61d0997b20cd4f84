// Every shared real-world config (/work/shared/fixtures/configs/*.json but process-*.json,
// which are bare `process` objects for exec) through create, start, state, kill and delete
// under dist/hako, with the probe as the process. Needs root, dist/hako and the probe.
//
// What is changed in each fixture before it runs, and why (also printed per fixture):
//   - root.path -> the bundle's own copy of the test rootfs ("rootfs"); root.readonly kept.
//     (docker/podman name absolute overlay paths under /var/lib/fixture that do not exist.)
//   - hooks dropped (docker-*: a prestart hook running /proc/<dockerd pid>/exe libnetwork-setkey,
//     a dockerd that is not running here; test/managers runs the real one under a private dockerd).
//   - linux.namespaces[].path (cri-container-*: ipc/uts/net of /proc/23169) -> the same
//     namespaces of a live sandbox container this test starts first.
//   - mount sources under /var/lib/fixture (resolv.conf, hosts, hostname, .containerenv,
//     shm) -> a file or directory of the same kind in a scratch directory.
//   - process.args -> the probe (it prints its report, then sleeps until killed).
//   - process.terminal kept: the -tty- fixtures are created with a --console-socket and the
//     report is read from the pty master.
//   - linux.seccomp kept: hako accepts it, so the probe must find a seccomp filter installed.
//     (If hako refuses seccomp/apparmor/selinux fields with an error naming them, they are
//     dropped and the create retried; the test says so in a comment.)
//   - linux.resources, cgroupsPath, sysctl, annotations, rlimits, user: kept as they are.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURES_DIR } from '../helpers/paths.js';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import type { Spec } from '../../src/oci/types.js';
import {
  asContainerTests,
  checkNothingLeft,
  consoleReceiver,
  type ConsoleReceiver,
  HAKO,
  hakoSkip,
  hk,
  readIfExists,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const FIXTURES = FIXTURES_DIR;
const skip = asContainerTests(hakoSkip() || (existsSync(FIXTURES) ? false : `${FIXTURES} not found`));

const NS_FILE: Record<string, string> = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', user: 'user', cgroup: 'cgroup', time: 'time' };


async function waitStatus(root: string, id: string, status: string): Promise<boolean> {
  return waitFor(`status ${status}`, async () => {
    const r = await hk(root, ['state', id]);
    return r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === status;
  }).catch(() => false);
}

/** A default container sleeping with its own namespaces, for fixtures that join some by path. */
async function startSandbox(t: Test): Promise<{ pid: number; root: string; id: string; marker: string }> {
  const id = containerId('fx-sandbox');
  const marker = `marker-${id}`;
  const bundle = await makeBundle(t, {
    args: ['/probe', '--stat', `/${marker}`, '--sleep', 'inf'],
    edit: (spec) => void (spec.hostname = 'fixture-sandbox'),
  });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'fx-sandbox');
  const r = await spawnRuntime(HAKO, root, ['run', '-d', '--bundle', bundle.dir, '--pid-file', path.join(dir, 'pid'), id], {
    stdoutFile: path.join(dir, 'out'),
    stderrFile: path.join(dir, 'err'),
  });
  if (r.code !== 0) throw new Error(`the sandbox did not start: ${r.stderr}`);
  return { pid: Number(readIfExists(path.join(dir, 'pid'))), root, id, marker };
}

/** The fixture with the rewrites listed at the top of this file; `changes` says what was done. */
function adapt(fixture: Spec, opts: { marker: string; scratch: string; sandboxPid?: number }): { spec: Spec; changes: string[] } {
  const spec = structuredClone(fixture);
  const changes: string[] = [];
  if (fixture.root?.path !== 'rootfs') changes.push(`root.path ${JSON.stringify(fixture.root?.path)} -> "rootfs"`);
  spec.root = { ...spec.root, path: 'rootfs' };
  if (spec.hooks) {
    changes.push(`hooks dropped: ${Object.keys(spec.hooks).join(', ')}`);
    delete spec.hooks;
  }
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path) continue;
    const to = `/proc/${opts.sandboxPid}/ns/${NS_FILE[ns.type]}`;
    changes.push(`namespace ${ns.type}: ${ns.path} -> ${to} (the sandbox's)`);
    ns.path = to;
  }
  let n = 0;
  for (const m of spec.mounts ?? []) {
    if (!m.source?.startsWith('/var/lib/fixture/')) continue;
    const base = path.basename(m.source);
    const local = path.join(opts.scratch, `src-${n++}-${base}`);
    if (base === 'shm') mkdirSync(local);
    else writeFileSync(local, `${base} of the fixture\n`);
    changes.push(`mount ${m.destination}: source ${m.source} -> a scratch ${base === 'shm' ? 'directory' : 'file'}`);
    m.source = local;
  }
  changes.push(`process.args ${JSON.stringify(fixture.process?.args)} -> the probe`);
  spec.process!.args = ['/probe', '--stat', `/${opts.marker}`, '--sleep', 'inf'];
  return { spec, changes };
}

const SECURITY_FIELDS = /seccomp|apparmor|selinux/i;

const CGROUP_ROOT = '/sys/fs/cgroup';

/** <hierarchy>/<each prefix of cgroupsPath> for every v1 hierarchy (and the v2 one, if mounted). */
function cgroupDirs(cgroupsPath: string): string[] {
  const parts = cgroupsPath.split('/').filter(Boolean);
  const hierarchies = readdirSync(CGROUP_ROOT).map((h) => path.join(CGROUP_ROOT, h));
  return hierarchies.flatMap((h) => parts.map((_, i) => path.join(h, ...parts.slice(0, i + 1))));
}

/**
 * Removes, at teardown, the cgroup directories under cgroupsPath that a runtime created and
 * left empty (runc removes the container's own, not the parents it made: docker/, k8s.io/...).
 */
function cleanCgroupsAtTeardown(t: Test, cgroupsPath: string | undefined): void {
  if (!cgroupsPath || !cgroupsPath.startsWith('/') || !existsSync(CGROUP_ROOT)) return;
  const before = new Set(cgroupDirs(cgroupsPath).filter((d) => existsSync(d)));
  t.teardown(() => {
    const made = cgroupDirs(cgroupsPath).filter((d) => !before.has(d) && existsSync(d));
    for (const dir of made.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty (still in use) or gone: leave it
      }
    }
  });
}

function dropSecurityFields(spec: Spec): string[] {
  const dropped: string[] = [];
  if (spec.linux?.seccomp) {
    delete spec.linux.seccomp;
    dropped.push('linux.seccomp');
  }
  if (spec.process?.apparmorProfile) {
    delete spec.process.apparmorProfile;
    dropped.push('process.apparmorProfile');
  }
  if (spec.process?.selinuxLabel) {
    delete spec.process.selinuxLabel;
    dropped.push('process.selinuxLabel');
  }
  if (spec.linux?.mountLabel) {
    delete spec.linux.mountLabel;
    dropped.push('linux.mountLabel');
  }
  return dropped;
}

/** The probe's report read off the pty master (the line discipline turns \n into \r\n). */
async function reportFromPty(receiver: ConsoleReceiver): Promise<ProbeReport> {
  // The report's last section (the probe prints its sections in a fixed order).
  const out = await receiver.interact('', '"syscall":{}}');
  const start = out.indexOf('{"probe_version"');
  return parseProbeReport(out.slice(start).replace(/\r/g, '').trim());
}

const files = existsSync(FIXTURES)
  ? readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.json') && !f.startsWith('process-'))
      .sort()
  : [];

t.test('there are fixtures to run', { skip }, async (t) => {
  t.ok(files.length >= 10, `${files.length} fixture configs`);
});

for (const file of files) {
  t.test(file, { skip }, async (t) => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Spec;
    const id = containerId('fx');
    const marker = `marker-${id}`;
    const scratch = await scratchDir(t, 'fx');
    const joins = (fixture.linux?.namespaces ?? []).filter((ns) => ns.path);
    const sandbox = joins.length > 0 ? await startSandbox(t) : undefined;
    const { spec, changes } = adapt(fixture, { marker, scratch, sandboxPid: sandbox?.pid });
    const bundle: Bundle = await makeBundle(t, { edit: (s) => void Object.assign(s, spec) });
    // makeBundle starts from the default spec: keep only the fixture's top-level keys.
    for (const key of Object.keys(bundle.spec) as Array<keyof Spec>) if (!(key in spec)) delete bundle.spec[key];
    await bundle.writeConfig();

    cleanCgroupsAtTeardown(t, spec.linux?.cgroupsPath);
    const tty = spec.process?.terminal === true;
    const root = await makeStateRoot(t, HAKO);
    const pidFile = path.join(scratch, 'init.pid');
    const stdoutFile = path.join(scratch, 'stdout');
    let receiver: ConsoleReceiver | undefined;
    const create = async () => {
      receiver = tty ? await consoleReceiver(t, await scratchDir(t, 'fx-tty')) : undefined;
      return spawnRuntime(
        HAKO,
        root,
        ['create', '--bundle', bundle.dir, '--pid-file', pidFile, ...(receiver ? ['--console-socket', receiver.socketPath] : []), id],
        { stdoutFile, stderrFile: path.join(scratch, 'stderr') },
      );
    };
    let created = await create();
    if (created.code !== 0 && SECURITY_FIELDS.test(created.stderr)) {
      const dropped = dropSecurityFields(bundle.spec);
      changes.push(`hako refused ${dropped.join(', ')} (${created.stderr.trim()}): dropped`);
      await bundle.writeConfig();
      await receiver?.close();
      created = await create();
    }
    t.comment(`${file}: ${changes.join('; ')}`);
    t.equal(created.code, 0, 'create exits 0', { stderr: created.stderr });
    t.equal(created.stderr, '', 'create prints nothing on stderr');
    const pid = Number(readIfExists(pidFile));
    t.ok(pid > 0, 'pid file written');
    if (created.code !== 0) {
      await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, markers: [marker], dirs: [scratch] });
      return;
    }
    if (receiver) {
      const got = await receiver.received;
      t.equal(got.nfds, 1, 'tty: one pty master received on the console socket');
    }
    const created1 = await hk(root, ['state', id]);
    t.match(JSON.parse(created1.stdout), { id, pid, status: 'created' }, 'state: created');
    if (fixture.annotations && Object.keys(fixture.annotations).length > 0) {
      t.same((JSON.parse(created1.stdout) as { annotations?: unknown }).annotations, fixture.annotations, 'state: the annotations');
    }

    const start = await hk(root, ['start', id]);
    t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
    t.ok(await waitStatus(root, id, 'running'), 'state: running');
    let report: ProbeReport | undefined;
    try {
      report = receiver
        ? await reportFromPty(receiver)
        : parseProbeReport(await waitFor('the report', () => (readIfExists(stdoutFile).endsWith('\n') ? readIfExists(stdoutFile) : false)));
    } catch (err) {
      t.fail(`no probe report: ${(err as Error).message}`);
    }
    if (report) {
      const user = spec.process!.user;
      t.equal(report.pid, 1, 'pid 1');
      t.equal(report.uid?.effective, user.uid, `uid ${user.uid}`);
      t.equal(report.gid?.effective, user.gid, `gid ${user.gid}`);
      t.equal(report.cwd, spec.process!.cwd, `cwd ${spec.process!.cwd}`);
      if (user.umask !== undefined) t.equal(report.umask, user.umask, `umask ${user.umask.toString(8)}`);
      if (spec.hostname) t.equal(report.hostname, spec.hostname, `hostname ${spec.hostname}`);
      for (const ns of joins) {
        const file = NS_FILE[ns.type]!;
        t.equal(report.namespaces?.[file], statSync(`/proc/${sandbox!.pid}/ns/${file}`).ino, `${ns.type} namespace: the sandbox's`);
      }
      if (joins.some((ns) => ns.type === 'uts')) t.equal(report.hostname, 'fixture-sandbox', 'hostname: the sandbox\'s');
      for (const rl of spec.process!.rlimits ?? []) {
        t.same(report.rlimits[rl.type], { soft: rl.soft, hard: rl.hard }, `${rl.type}`);
      }
      t.same(
        [...(report.capabilities.bounding?.names ?? [])].sort(),
        [...(spec.process!.capabilities?.bounding ?? [])].sort(),
        'bounding capabilities as configured',
      );
      if (bundle.spec.linux?.seccomp) t.equal(report.seccomp.mode_name, 'filter', 'linux.seccomp was accepted, so a seccomp filter is installed');
      if (tty) t.ok(report.tty.stdin && report.tty.stdout && report.tty.stderr, 'tty: stdio is the terminal');
      for (const m of spec.mounts ?? []) {
        if (!m.source?.startsWith(scratch)) continue;
        t.ok(report.mounts?.some((x) => x.mount_point === m.destination), `mount ${m.destination} is there`);
      }
    }

    const kill = await hk(root, ['kill', id, 'KILL']);
    t.equal(kill.code, 0, 'kill KILL exits 0', { stderr: kill.stderr });
    t.ok(await waitStatus(root, id, 'stopped'), 'state: stopped');
    const del = await hk(root, ['delete', id]);
    t.equal(del.code, 0, 'delete exits 0', { stderr: del.stderr });
    t.equal((await hk(root, ['state', id])).code, 1, 'state after delete: does not exist');
    const cgPath = spec.linux?.cgroupsPath;
    if (cgPath?.startsWith('/') && existsSync(CGROUP_ROOT)) {
      const own = readdirSync(CGROUP_ROOT).map((h) => path.join(CGROUP_ROOT, h, cgPath));
      t.same(own.filter((d) => existsSync(d)), [], 'delete removed the container\'s own cgroup directories');
    }
    await receiver?.close();
    const pids = [pid];
    if (sandbox) {
      t.equal((await hk(sandbox.root, ['delete', '-f', sandbox.id])).code, 0, 'sandbox deleted');
      pids.push(sandbox.pid);
    }
    await checkNothingLeft(t, {
      stateRoot: root,
      bundleDir: bundle.dir,
      pids,
      markers: [marker, ...(sandbox ? [sandbox.marker] : [])],
      dirs: [scratch],
    });
  });
}
