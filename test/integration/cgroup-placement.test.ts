// How the init and exec'd processes get into the cgroup2 hierarchy, under dist/hako on this
// machine (hybrid: v1 controllers, and the cgroup2 mount at /sys/fs/cgroup/unified, which
// containers join too; src/cgroups/placement.ts):
// - born there by clone3(CLONE_INTO_CGROUP): proved by running hako under a seccomp filter
//   that refuses clone(2) with CLONE_PARENT (test/tools/deny-clone.py), so the container
//   starts only if hako-init cloned it with clone3; create, exec and exec --cgroup <sub>,
//   each seen from the host (/proc/<pid>/cgroup) and from inside (the probe, with a cgroup
//   namespace whose root is the container's cgroup: every line "/");
// - hako no longer writes stage 0 into the cgroup2 hierarchy (seen while it is frozen by
//   the v1 freezer of a paused container);
// - the fallbacks: clone3 missing (ENOSYS under a filter, as under Docker's default
//   profile): hako-init writes cgroup.procs itself; a user namespace: hako writes stage 0
//   into every hierarchy, as before (and the init is cloned with clone(2));
// - hako-init alone (test/tools/init-driver.py cgroup2): E2BIG and EINVAL (kernels 5.3 to
//   5.6) fall back like ENOSYS, and any other clone3 error is reported, not hidden.
// Needs root, dist/hako, the probe and a cgroup2 hierarchy. Every container is deleted
// (-f) and every cgroup directory removed at teardown, also when a test fails.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { containerCgroup } from '../../src/cgroups/manager.js';
import type { Spec } from '../../src/oci/types.js';
import { makeBundle, testRootfs, type BundleOptions } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { containerId, makeStateRoot, runCommand, runtimeCommand } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  chownTree,
  errorMessage,
  HAKO,
  hakoSkip,
  killQuietly,
  readIfExists,
  reapIfOurs,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const cgroup2 = containerCgroup({ ociVersion: '1.0.2' }, 'x', false).cgroup.record.paths[''] !== undefined;
const skip = asContainerTests(hakoSkip() || (cgroup2 ? false : 'no cgroup2 hierarchy on this host'));

const DENY_CLONE = path.join(REPO_ROOT, 'test/tools/deny-clone.py');

/** An executable that runs dist/hako under deny-clone.py `mode` (a runtime for spawnRuntime). */
function hakoWithout(dir: string, mode: 'clone3' | 'clone-parent'): string {
  const file = path.join(dir, `hako-without-${mode}`);
  writeFileSync(file, `#!/bin/sh\nexec python3 ${JSON.stringify(DENY_CLONE)} ${mode} ${JSON.stringify(HAKO)} "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

const withCgroupNs = (s: Spec): void => {
  s.linux!.namespaces!.push({ type: 'cgroup' });
};

const withUserNs = (s: Spec): void => {
  s.linux!.namespaces!.push({ type: 'user' }, { type: 'cgroup' });
  s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

interface Started {
  runtime: string;
  root: string;
  id: string;
  pid: number;
  /** controller ("" cgroup2) -> the container's directory */
  paths: Record<string, string>;
  /** /proc/<pid>/cgroup of a process placed in the container's cgroup */
  procCgroup: string;
  initReport: ProbeReport;
  scratch: string;
}

/**
 * A probe container created and started with `runtime` (dist/hako, or it under a filter);
 * at teardown: delete -f, kill what is left in its cgroups, rmdir them and their subs.
 */
async function started(t: Test, runtime: string, opts: BundleOptions & { chown?: boolean } = {}): Promise<Started> {
  const id = containerId('cgp');
  const bundle = await makeBundle(t, { args: ['/probe', '--sleep', 'inf'], ...opts });
  if (opts.chown) await chownTree(bundle.rootfs, 100000, 100000);
  const expected = containerCgroup(bundle.spec, id, false);
  const paths = expected.cgroup.record.paths;
  const root = await makeStateRoot(t, HAKO);
  const scratch = await scratchDir(t, 'cgp');
  t.teardown(() => removeCgroups(root, id, Object.values(paths)));
  const out = path.join(scratch, 'init.out');
  const pidFile = path.join(scratch, 'init.pid');
  const create = await spawnRuntime(runtime, root, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id], {
    stdoutFile: out,
    stderrFile: path.join(scratch, 'init.err'),
  });
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  const pid = Number(readIfExists(pidFile));
  const start = await runtimeCommand(runtime, root, ['start', id]);
  t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  const text = await waitFor('the init report', () => {
    const s = readIfExists(out);
    return s.endsWith('\n') ? s : false;
  });
  return { runtime, root, id, pid, paths, procCgroup: expected.procCgroup, initReport: parseProbeReport(text), scratch };
}

async function removeCgroups(root: string, id: string, dirs: string[]): Promise<void> {
  await runtimeCommand(HAKO, root, ['delete', '-f', id]);
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const sub of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      for (const pid of readIfExists(path.join(dir, sub.name, 'cgroup.procs')).split('\n').filter(Boolean)) killQuietly(Number(pid));
    }
  }
  for (const dir of dirs) {
    for (let i = 0; i < 50 && existsSync(dir); i++) {
      try {
        for (const sub of readdirSync(dir, { withFileTypes: true })) if (sub.isDirectory()) rmdirSync(path.join(dir, sub.name));
        rmdirSync(dir);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** The cgroup2 line ("0::/path") of /proc/<pid>/cgroup text. */
function cgroup2Line(text: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith('0::'));
}

/** The container's view is rooted at its own cgroup (`/`, or `/<sub>`) in every hierarchy. */
function checkRootedView(t: Test, report: ProbeReport, what: string, sub?: string): void {
  const want = sub === undefined ? '/' : `/${sub}`;
  const lines = report.cgroup ?? [];
  t.ok(lines.some((l) => l.controllers.length === 0), `${what}: the cgroup2 line is there`);
  t.same(
    lines.filter((l) => l.path !== want).map((l) => `${l.id}:${l.controllers.join(',')}:${l.path}`),
    [],
    `${what}: every line reads ${want} (the cgroup namespace's root is the container's cgroup)`,
  );
}

/** exec -d of a sleep; its pid (a child of ours, thanks to CLONE_PARENT and the subreaper). */
async function execSleep(t: Test, c: Started, extra: string[] = []): Promise<number> {
  const pidFile = path.join(c.scratch, `exec-${Date.now()}.pid`);
  const r = await spawnRuntime(c.runtime, c.root, ['exec', '-d', ...extra, '--pid-file', pidFile, c.id, '/bin/sleep', '1000']);
  t.equal(r.code, 0, `exec -d ${extra.join(' ')} exits 0`, { stderr: r.stderr });
  return Number(readIfExists(pidFile));
}

async function execProbe(t: Test, c: Started, extra: string[] = []): Promise<ProbeReport> {
  const r = await runtimeCommand(c.runtime, c.root, ['exec', ...extra, c.id, '/probe']);
  t.equal(r.code, 0, `exec ${extra.join(' ')} /probe exits 0`, { stderr: r.stderr });
  return parseProbeReport(r.stdout);
}

async function stop(pid: number): Promise<void> {
  killQuietly(pid);
  await reapIfOurs(pid, 2000);
}

// ------------------------------------------------------------------ clone3(CLONE_INTO_CGROUP)

t.test('create, exec and exec --cgroup: the process is born in its cgroup2 directory (clone3 only)', { skip }, async (t) => {
  const scratch = await scratchDir(t, 'cgp-rt');
  const c = await started(t, hakoWithout(scratch, 'clone-parent'), { edit: withCgroupNs });
  const initHost = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8');
  t.equal(initHost, c.procCgroup, 'the init (from the host): the container\'s cgroup in every hierarchy', { initHost });
  const line = cgroup2Line(initHost) ?? '';
  t.ok(line.endsWith(`/${c.id}`) && c.paths['']!.endsWith(line.slice(3)), `the cgroup2 line (${line}) names the container's cgroup2 directory`);
  checkRootedView(t, c.initReport, 'the init');

  const execPid = await execSleep(t, c);
  t.equal(readFileSync(`/proc/${execPid}/cgroup`, 'utf8'), initHost, 'exec -d (from the host): in the init\'s cgroups');
  t.equal(statSync(`/proc/${execPid}/ns/cgroup`).ino, statSync(`/proc/${c.pid}/ns/cgroup`).ino, 'and in the init\'s cgroup namespace');
  await stop(execPid);
  const report = await execProbe(t, c);
  t.same(report.cgroup, c.initReport.cgroup, 'exec (inside): the init\'s view');

  for (const dir of new Set(Object.values(c.paths))) {
    mkdirSync(path.join(dir, 'sub'));
    // A v1 cpuset cgroup takes no process before it has cpus and mems (the caller's job, as under runc).
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(path.join(dir, f))) writeFileSync(path.join(dir, 'sub', f), readFileSync(path.join(dir, f)));
    }
  }
  const subPid = await execSleep(t, c, ['--cgroup', 'sub']);
  const subLines = readFileSync(`/proc/${subPid}/cgroup`, 'utf8').trim().split('\n');
  t.same(subLines, initHost.trim().split('\n').map((l) => `${l}/sub`), 'exec --cgroup sub (from the host): the sub-cgroup in every hierarchy, cgroup2 too');
  t.equal(readIfExists(path.join(c.paths['']!, 'sub', 'cgroup.procs')).trim(), String(subPid), 'the process is listed in the cgroup2 sub-cgroup');
  await stop(subPid);
  checkRootedView(t, await execProbe(t, c, ['--cgroup', 'sub']), 'exec --cgroup sub (inside)', 'sub');

  await runtimeCommand(HAKO, c.root, ['delete', '-f', c.id]);
  await checkNothingLeft(t, { stateRoot: c.root, pids: [c.pid, execPid, subPid] });
});

t.test('without a cgroup namespace: the host\'s paths inside, as before', { skip }, async (t) => {
  const scratch = await scratchDir(t, 'cgp-rt');
  const c = await started(t, hakoWithout(scratch, 'clone-parent'));
  t.equal(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), c.procCgroup, 'the init (from the host)');
  const inside = (c.initReport.cgroup ?? []).map((l) => `${l.id}:${l.controllers.join(',')}:${l.path}`).join('\n');
  t.equal(`${inside}\n`, c.procCgroup, 'inside: the same paths as from the host');
  const report = await execProbe(t, c);
  t.same(report.cgroup, c.initReport.cgroup, 'exec: the init\'s view');
  await runtimeCommand(HAKO, c.root, ['delete', '-f', c.id]);
  await checkNothingLeft(t, { stateRoot: c.root, pids: [c.pid] });
});

t.test('exec --ignore-paused: hako moved stage 0 into the v1 hierarchies only', { skip }, async (t) => {
  const c = await started(t, HAKO, { edit: withCgroupNs });
  if (!c.paths.freezer) {
    t.pass('no v1 freezer (a v2 host): nothing frozen to look at');
    return;
  }
  t.equal((await runtimeCommand(HAKO, c.root, ['pause', c.id])).code, 0, 'paused');
  let hakoPid = 0;
  const pidFile = path.join(c.scratch, 'exec.pid');
  const running = spawnRuntime(HAKO, c.root, ['exec', '-d', '--ignore-paused', '--pid-file', pidFile, c.id, '/bin/sleep', '1000'], {
    onSpawn: (pid) => (hakoPid = pid),
  });
  const freezerLine = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8').split('\n').find((l) => /:freezer:/.test(l));
  const stage0 = await waitFor('hako-init frozen in the container\'s freezer cgroup', () => {
    for (const task of hakoPid ? readdirSync(`/proc/${hakoPid}/task`) : []) {
      for (const child of readIfExists(`/proc/${hakoPid}/task/${task}/children`).split(' ').filter(Boolean)) {
        if (readIfExists(`/proc/${child}/cgroup`).split('\n').includes(freezerLine!)) return Number(child);
      }
    }
    return false;
  });
  t.equal(
    cgroup2Line(readIfExists(`/proc/${stage0}/cgroup`)),
    cgroup2Line(readFileSync('/proc/self/cgroup', 'utf8')),
    'stage 0 is still in hako\'s own cgroup2 cgroup (nobody wrote it into the container\'s)',
  );
  t.equal((await runtimeCommand(HAKO, c.root, ['resume', c.id])).code, 0, 'resumed');
  const r = await running;
  t.equal(r.code, 0, 'exec -d goes on once resumed', { stderr: r.stderr });
  const pid = Number(readIfExists(pidFile));
  t.equal(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), c.procCgroup, 'the process is in the container\'s cgroups, cgroup2 too');
  await stop(pid);
  await runtimeCommand(HAKO, c.root, ['delete', '-f', c.id]);
  await checkNothingLeft(t, { stateRoot: c.root, pids: [c.pid, pid] });
});

// ------------------------------------------------------------------ fallbacks

t.test('fallback: without clone3 (ENOSYS) hako-init writes cgroup.procs itself', { skip }, async (t) => {
  const scratch = await scratchDir(t, 'cgp-rt');
  const c = await started(t, hakoWithout(scratch, 'clone3'), { edit: withCgroupNs });
  t.equal(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), c.procCgroup, 'the init (from the host): the container\'s cgroup in every hierarchy');
  checkRootedView(t, c.initReport, 'the init');
  const execPid = await execSleep(t, c);
  t.equal(readFileSync(`/proc/${execPid}/cgroup`, 'utf8'), c.procCgroup, 'exec -d (from the host): the container\'s cgroups');
  t.equal(statSync(`/proc/${execPid}/ns/cgroup`).ino, statSync(`/proc/${c.pid}/ns/cgroup`).ino, 'and the init\'s cgroup namespace');
  await stop(execPid);
  t.same((await execProbe(t, c)).cgroup, c.initReport.cgroup, 'exec (inside): the init\'s view');
  await runtimeCommand(HAKO, c.root, ['delete', '-f', c.id]);
  await checkNothingLeft(t, { stateRoot: c.root, pids: [c.pid, execPid] });
});

t.test('fallback: with a user namespace hako writes stage 0 into every hierarchy', { skip }, async (t) => {
  const c = await started(t, HAKO, { edit: withUserNs, chown: true });
  t.equal(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), c.procCgroup, 'the init (from the host): the container\'s cgroup in every hierarchy');
  checkRootedView(t, c.initReport, 'the init');
  const execPid = await execSleep(t, c);
  t.equal(readFileSync(`/proc/${execPid}/cgroup`, 'utf8'), c.procCgroup, 'exec -d (from the host): the container\'s cgroups');
  await stop(execPid);
  t.same((await execProbe(t, c)).cgroup, c.initReport.cgroup, 'exec (inside): the init\'s view');
  await runtimeCommand(HAKO, c.root, ['delete', '-f', c.id]);
  await checkNothingLeft(t, { stateRoot: c.root, pids: [c.pid, execPid] });

  // The way it went: clone(2), which the clone-parent filter refuses.
  const scratch = await scratchDir(t, 'cgp-rt');
  const bundle = await makeBundle(t, { args: ['/probe'], edit: withUserNs });
  const id = containerId('cgp');
  const root = await makeStateRoot(t, HAKO);
  t.teardown(() => removeCgroups(root, id, Object.values(containerCgroup(bundle.spec, id, false).cgroup.record.paths)));
  const r = await runtimeCommand(hakoWithout(scratch, 'clone-parent'), root, ['create', '--bundle', bundle.dir, id]);
  t.equal(r.code, 1, 'under the clone-parent filter, create fails');
  t.match(errorMessage(r), /clone the container's init \(pid\): operation not permitted/, 'at the clone(2) of the init', { stderr: r.stderr });
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
});

const HAKO_INIT = path.join(REPO_ROOT, 'build/Release/hako-init');

t.test('hako-init alone: clone3 refused with ENOSYS, E2BIG or EINVAL falls back to cgroup.procs, EPERM is an error', { skip: skip || (existsSync(HAKO_INIT) ? false : `${HAKO_INIT} is not built (npm run build)`) }, async (t) => {
  // Under a filter that fails clone3 with E2BIG, node (whose threads clone3 first) could
  // not run: the driver runs hako-init alone, with the filter on it only.
  const rootfs = await testRootfs();
  const r = await runCommand('python3', [path.join(REPO_ROOT, 'test/tools/init-driver.py'), '--init', HAKO_INIT, '--rootfs', rootfs, 'cgroup2'], { timeoutMs: 120_000 });
  t.equal(r.code, 0, 'init-driver.py cgroup2 passes', { stdout: r.stdout, stderr: r.stderr });
  t.match(r.stdout, /^ok {3}cgroup2$/m);
  await checkNothingLeft(t, { markers: ['init-drv-cg-'] });
});
