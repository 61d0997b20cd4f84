// Cgroups under dist/hako on this machine's v1 hierarchies (and the v2 driver on the
// cgroup2 mount of the hybrid layout): placement before the init runs, removal on delete,
// pause/resume/state, kill --all, resources written and read back, a pids limit that makes
// fork fail, device rules that decide whether a node opens, update, a busy cgroup refused,
// a failed create that leaves no cgroup. Every test removes the cgroups it may have caused
// at teardown, also when it fails, and checks that nothing is left. Needs root.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle, type BundleOptions } from '../helpers/rootfs.js';
import { parseProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, runContainer } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  errorMessage,
  HAKO,
  hakoSkip,
  hk,
  isAlive,
  processesWith,
  readIfExists,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';
import { containerCgroup } from '../../src/cgroups/manager.js';
import { V1Cgroup } from '../../src/cgroups/v1.js';
import { V2Cgroup } from '../../src/cgroups/v2.js';
import { applyDeviceRules, deviceWrites } from '../../src/cgroups/devices.js';
import { attachDeviceProgram } from '../../src/cgroups/device-program.js';
import { native } from '../../src/native.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import type { Spec } from '../../src/oci/types.js';

const skip = asContainerTests(hakoSkip());



// ------------------------------------------------------------------ cgroup bookkeeping

/** The directories hako gives container `id` with this spec: computed the way hako does, from our own cgroups (hako inherits them). */
function expectedPaths(spec: Spec, id: string): Record<string, string> {
  return containerCgroup(spec, id, false).cgroup.record.paths;
}

function cgroupProcs(dir: string): number[] {
  return readIfExists(path.join(dir, 'cgroup.procs'))
    .split('\n')
    .filter(Boolean)
    .map(Number);
}

/**
 * At teardown (after the state root's own `delete -f`): thaw, kill what is left and rmdir
 * the container's cgroup dirs, their sub-cgroups, and `parents` (absolute dirs) if empty.
 */
function removeCgroupsAtTeardown(t: Test, dirs: string[], parents: string[] = []): void {
  t.teardown(async () => {
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      if (readIfExists(path.join(dir, 'freezer.state')).startsWith('FROZEN')) writeFileSync(path.join(dir, 'freezer.state'), 'THAWED');
      if (readIfExists(path.join(dir, 'cgroup.freeze')).startsWith('1')) writeFileSync(path.join(dir, 'cgroup.freeze'), '0');
      for (const pid of cgroupProcs(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const dir of [...dirs, ...parents].sort((a, b) => b.length - a.length)) {
      for (let i = 0; i < 50 && existsSync(dir); i++) {
        try {
          for (const sub of readdirSync(dir, { withFileTypes: true })) if (sub.isDirectory()) rmdirSync(path.join(dir, sub.name));
          rmdirSync(dir);
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  });
}

function checkCgroupsGone(t: Test, dirs: string[]): void {
  t.same(
    dirs.filter((d) => existsSync(d)),
    [],
    'no cgroup directory of the container is left',
  );
}

interface Made {
  bundle: Bundle;
  root: string;
  id: string;
  paths: Record<string, string>;
  dirs: string[];
  pid: number;
  out: string;
}

/** A bundle with cgroup teardown, a state root; `hako create` (or `run -d`) with stdio on files. */
async function make(t: Test, opts: BundleOptions & { run?: boolean; label?: string; parents?: string[] } = {}): Promise<Made> {
  const id = containerId(opts.label ?? 'cg');
  const bundle = await makeBundle(t, { args: ['/probe', '--sleep', 'inf'], ...opts });
  const paths = expectedPaths(bundle.spec, id);
  const dirs = [...new Set(Object.values(paths))];
  removeCgroupsAtTeardown(t, dirs, opts.parents);
  const root = await makeStateRoot(t, HAKO);
  const scratch = await scratchDir(t, 'cg');
  const out = path.join(scratch, 'out');
  const pidFile = path.join(scratch, 'pid');
  const r = await spawnRuntime(HAKO, root, [opts.run ? 'run' : 'create', ...(opts.run ? ['-d'] : []), '--bundle', bundle.dir, '--pid-file', pidFile, id], {
    stdoutFile: out,
    stderrFile: path.join(scratch, 'err'),
  });
  t.equal(r.code, 0, `${opts.run ? 'run -d' : 'create'} exits 0`, { stderr: r.stderr });
  return { bundle, root, id, paths, dirs, pid: Number(readIfExists(pidFile)), out };
}

async function status(root: string, id: string): Promise<string> {
  const r = await hk(root, ['state', id]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: string }).status : `error: ${errorMessage(r)}`;
}

// ------------------------------------------------------------------ placement and removal

t.test('the init is in the container\'s cgroup in every hierarchy; delete removes it', { skip }, async (t) => {
  const m = await make(t, { args: ['/probe', '--sleep', 'inf'] });
  t.ok(m.pid > 0, 'pid file written');
  // Created: the probe has not run yet; the placement is visible from outside already.
  for (const [controller, dir] of Object.entries(m.paths)) {
    t.ok(cgroupProcs(dir).includes(m.pid), `the init is in ${controller || 'the cgroup2 hierarchy'} (${dir})`);
  }
  t.equal(readIfExists(m.out), '', 'no report before start (created, not running)');
  const start = await hk(m.root, ['start', m.id]);
  t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  const text = await waitFor('the report', () => {
    const s = readIfExists(m.out);
    return s.endsWith('\n') ? s : false;
  });
  const probe = parseProbeReport(text);
  const own = readFileSync('/proc/self/cgroup', 'utf8');
  for (const line of probe.cgroup ?? []) {
    const key = line.controllers.length === 0 ? '' : line.controllers[0]!;
    const dir = m.paths[key];
    t.ok(dir, `hierarchy ${line.controllers.join(',') || 'cgroup2'} is joined`);
    t.ok(dir?.endsWith(line.path), `the probe reads ${line.path}, the end of ${dir}`);
    t.ok(line.path.endsWith(`/${m.id}`), `${line.path} is the container's own cgroup`);
  }
  t.equal(probe.cgroup?.length, own.split('\n').filter(Boolean).length, 'one line per hierarchy, as ours');
  // The v1 cgroup mount inside binds the container's own directory of each hierarchy.
  const memoryMount = probe.mounts?.find((mt) => mt.mount_point === '/sys/fs/cgroup/memory');
  const memoryLine = probe.cgroup?.find((l) => l.controllers.includes('memory'));
  if (memoryMount && memoryLine) t.equal(memoryMount.root, memoryLine.path, '/sys/fs/cgroup/memory inside is the container\'s memory cgroup');

  const ps = await hk(m.root, ['ps', '--format', 'json', m.id]);
  t.equal(ps.stdout, `[${m.pid}]\n`, 'ps --format json: the init\'s host pid');
  const table = await hk(m.root, ['ps', m.id]);
  t.match(table.stdout, /^UID\s+PID\s+PPID/, 'ps: the host ps header');
  t.equal(table.stdout.trim().split('\n').length, 2, 'ps: one process row', { stdout: table.stdout });

  const del = await hk(m.root, ['delete', '--force', m.id]);
  t.equal(del.code, 0, 'delete -f exits 0', { stderr: del.stderr });
  checkCgroupsGone(t, m.dirs);
  await checkNothingLeft(t, { stateRoot: m.root, bundleDir: m.bundle.dir, pids: [m.pid] });
});

t.test('an absolute cgroupsPath: the parents are made, delete removes the container\'s own', { skip }, async (t) => {
  const parent = `/hako-test-${process.pid}`;
  const parents = Object.values(expectedPaths({ ...defaultSpec(), linux: { cgroupsPath: parent } }, 'x'));
  const m = await make(t, { edit: (s) => (s.linux!.cgroupsPath = `${parent}/box`), parents, run: true });
  t.ok(Object.values(m.paths).every((d) => d.includes(`${parent}/box`)), 'every hierarchy at the absolute path');
  t.ok(Object.values(m.paths).every((d) => cgroupProcs(d).includes(m.pid)), 'the init is there');
  const del = await hk(m.root, ['delete', '-f', m.id]);
  t.equal(del.code, 0, 'delete -f', { stderr: del.stderr });
  checkCgroupsGone(t, m.dirs);
  t.ok(parents.some((p) => existsSync(p)), 'the parent dirs stay (as runc leaves them)');
  await checkNothingLeft(t, { stateRoot: m.root, bundleDir: m.bundle.dir, pids: [m.pid] });
});

// ------------------------------------------------------------------ pause / resume

t.test('pause, resume and state; SIGKILL to a paused container', { skip }, async (t) => {
  const m = await make(t, { run: true });
  t.equal(await status(m.root, m.id), 'running');
  const freezer = m.paths.freezer!;

  let r = await hk(m.root, ['resume', m.id]);
  t.equal(r.code, 1, 'resume of a running container fails');
  t.equal(errorMessage(r), 'container not paused');

  r = await hk(m.root, ['pause', m.id]);
  t.equal(r.code, 0, 'pause exits 0', { stderr: r.stderr });
  t.equal(readIfExists(path.join(freezer, 'freezer.state')).trim(), 'FROZEN', 'freezer.state FROZEN');
  t.equal(await status(m.root, m.id), 'paused', 'state: paused');
  t.match(readIfExists(`/proc/${m.pid}/status`), /State:\s+D/, 'the init is frozen');

  r = await hk(m.root, ['pause', m.id]);
  t.equal(r.code, 1, 'pause of a paused container fails');
  t.equal(errorMessage(r), 'container not running');
  r = await hk(m.root, ['delete', m.id]);
  t.equal(errorMessage(r), `cannot delete container ${m.id} that is not stopped: paused`, 'delete without -f refuses');

  r = await hk(m.root, ['resume', m.id]);
  t.equal(r.code, 0, 'resume exits 0', { stderr: r.stderr });
  t.equal(await status(m.root, m.id), 'running', 'state: running again');
  t.equal(readIfExists(path.join(freezer, 'freezer.state')).trim(), 'THAWED');

  r = await hk(m.root, ['pause', m.id]);
  t.equal(r.code, 0, 'paused again');
  r = await hk(m.root, ['kill', m.id, 'KILL']);
  t.equal(r.code, 0, 'kill KILL of a paused container exits 0', { stderr: r.stderr });
  await waitFor('the paused init to die', () => !isAlive(m.pid));
  t.equal(await status(m.root, m.id), 'stopped', 'SIGKILL took effect: the cgroup was thawed');
  r = await hk(m.root, ['pause', m.id]);
  t.equal(errorMessage(r), 'container not running', 'pause of a stopped container');
  r = await hk(m.root, ['delete', m.id]);
  t.equal(r.code, 0, 'delete', { stderr: r.stderr });
  checkCgroupsGone(t, m.dirs);
  await checkNothingLeft(t, { stateRoot: m.root, bundleDir: m.bundle.dir, pids: [m.pid] });
});

t.test('a created container can be paused and deleted while paused', { skip }, async (t) => {
  const m = await make(t);
  let r = await hk(m.root, ['pause', m.id]);
  t.equal(r.code, 0, 'pause of a created container', { stderr: r.stderr });
  t.equal(await status(m.root, m.id), 'paused');
  r = await hk(m.root, ['delete', '--force', m.id]);
  t.equal(r.code, 0, 'delete -f of a paused container', { stderr: r.stderr });
  checkCgroupsGone(t, m.dirs);
  await checkNothingLeft(t, { stateRoot: m.root, bundleDir: m.bundle.dir, pids: [m.pid] });
});

// ------------------------------------------------------------------ kill --all, no pid namespace

t.test('without a pid namespace: kill --all reaches every process, SIGKILL the whole cgroup, delete the leftovers', { skip }, async (t) => {
  const marker = `cgall-${process.pid}-${Date.now()}`;
  const noPidns = (s: Spec): void => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== 'pid');
  };
  const args = ['/bin/sh', '-c', `sleep 1001 & sleep 1002 & exec /probe --stat /${marker} --sleep inf`];
  const m = await make(t, { run: true, args, edit: noPidns });
  const pids = await waitFor('three processes in the cgroup', () => {
    const p = cgroupProcs(m.paths.pids!);
    return p.length === 3 ? p : false;
  });
  let r = await hk(m.root, ['ps', '-f', 'json', m.id]);
  t.same(JSON.parse(r.stdout), [...pids].sort((a, b) => a - b), 'ps --format json lists all three');

  r = await hk(m.root, ['kill', '--all', m.id, 'STOP']);
  t.equal(r.code, 0, 'kill --all STOP', { stderr: r.stderr });
  for (const pid of pids) t.ok(await waitFor('SIGSTOP', () => /State:\s+T/.test(readIfExists(`/proc/${pid}/status`))), `pid ${pid} stopped`);
  t.equal(readIfExists(path.join(m.paths.freezer!, 'freezer.state')).trim(), 'THAWED', 'the freezer was thawed again');
  r = await hk(m.root, ['kill', '-a', m.id, 'CONT']);
  t.equal(r.code, 0, 'kill -a CONT');
  for (const pid of pids) t.ok(await waitFor('SIGCONT', () => !/State:\s+T/.test(readIfExists(`/proc/${pid}/status`))), `pid ${pid} continued`);

  // SIGTERM to the init alone: the probe dies, the two sleeps stay in the cgroup.
  r = await hk(m.root, ['kill', m.id, 'TERM']);
  t.equal(r.code, 0, 'kill TERM');
  await waitFor('the init to die', () => !isAlive(m.pid));
  t.equal(await status(m.root, m.id), 'stopped');
  const left = cgroupProcs(m.paths.pids!);
  t.equal(left.length, 2, 'the two background sleeps are left');
  r = await hk(m.root, ['delete', m.id]);
  t.equal(r.code, 0, 'delete of the stopped container', { stderr: r.stderr });
  t.same(left.filter(isAlive), [], 'delete killed the leftovers (no pid namespace of its own)');
  checkCgroupsGone(t, m.dirs);
  await checkNothingLeft(t, { stateRoot: m.root, bundleDir: m.bundle.dir, pids: [m.pid, ...left], markers: [marker] });

  // And SIGKILL to the init of such a container kills the whole cgroup.
  const m2 = await make(t, { run: true, args, edit: noPidns });
  const pids2 = await waitFor('three processes', () => {
    const p = cgroupProcs(m2.paths.pids!);
    return p.length === 3 ? p : false;
  });
  r = await hk(m2.root, ['kill', m2.id, 'KILL']);
  t.equal(r.code, 0, 'kill KILL');
  await waitFor('every process of the cgroup to die', () => pids2.every((p) => !isAlive(p)));
  t.pass('SIGKILL without a pid namespace killed all three');
  r = await hk(m2.root, ['kill', '--all', m2.id, 'KILL']);
  t.equal(r.code, 0, 'kill --all of a stopped container exits 0', { stderr: r.stderr });
  r = await hk(m2.root, ['delete', m2.id]);
  t.equal(r.code, 0, 'delete');
  checkCgroupsGone(t, m2.dirs);
  await checkNothingLeft(t, { stateRoot: m2.root, bundleDir: m2.bundle.dir, pids: pids2 });
});

// ------------------------------------------------------------------ resources

t.test('resources are written before the process runs, and read back as runc writes them', { skip }, async (t) => {
  const m = await make(t, {
    edit: (s) => {
      s.linux!.resources = {
        ...s.linux!.resources,
        memory: { limit: 67108864, swap: 134217728, reservation: 33554432, swappiness: 10, disableOOMKiller: true },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
        pids: { limit: 64 },
        blockIO: { weight: 300 },
      };
    },
  });
  const read = (controller: string, file: string): string => readIfExists(path.join(m.paths[controller]!, file)).trim();
  t.equal(read('memory', 'memory.limit_in_bytes'), '67108864', 'memory.limit_in_bytes');
  t.equal(read('memory', 'memory.memsw.limit_in_bytes'), '134217728', 'memory.memsw.limit_in_bytes');
  t.equal(read('memory', 'memory.soft_limit_in_bytes'), '33554432', 'memory.soft_limit_in_bytes');
  t.equal(read('memory', 'memory.swappiness'), '10', 'memory.swappiness');
  t.match(read('memory', 'memory.oom_control'), /oom_kill_disable 1/, 'memory.oom_control');
  t.equal(read('cpu', 'cpu.shares'), '512', 'cpu.shares');
  t.equal(read('cpu', 'cpu.cfs_quota_us'), '50000', 'cpu.cfs_quota_us');
  t.equal(read('cpu', 'cpu.cfs_period_us'), '100000', 'cpu.cfs_period_us');
  t.equal(read('cpuset', 'cpuset.cpus'), '0', 'cpuset.cpus');
  t.equal(read('pids', 'pids.max'), '64', 'pids.max');
  const weightFile = existsSync(path.join(m.paths.blkio!, 'blkio.weight')) ? 'blkio.weight' : 'blkio.bfq.weight';
  t.match(read('blkio', weightFile), /(^|\s)300$/m, weightFile);
  t.equal(
    read('devices', 'devices.list').split('\n').sort().join(' '),
    ['b *:* m', 'c *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:2 rwm', 'c 10:200 rwm', 'c 136:* rwm'].sort().join(' '),
    'devices.list: deny all, then runc\'s default nodes',
  );

  // update: --resources on stdin (containerd's way), then single flags (the period stays).
  let r = await hk(m.root, ['update', '--resources', '-', m.id], '{"memory":{"limit":104857600},"pids":{"limit":50}}');
  t.equal(r.code, 0, 'update --resources -', { stderr: r.stderr });
  t.equal(read('memory', 'memory.limit_in_bytes'), '104857600', 'memory limit updated');
  t.equal(read('pids', 'pids.max'), '50', 'pids limit updated');
  r = await hk(m.root, ['update', '--cpu-quota', '20000', '--memory', '80M', m.id]);
  t.equal(r.code, 0, 'update --cpu-quota --memory', { stderr: r.stderr });
  t.equal(read('cpu', 'cpu.cfs_quota_us'), '20000');
  t.equal(read('cpu', 'cpu.cfs_period_us'), '100000', 'the period is kept');
  t.equal(read('memory', 'memory.limit_in_bytes'), String(80 * 1024 * 1024), '80M is 80 MiB');
  const state = JSON.parse(readIfExists(path.join(m.root, m.id, 'state.json'))) as { config: Spec };
  t.same(state.config.linux?.resources?.pids, { limit: 50 }, 'the update is recorded in the state');
  t.equal(state.config.linux?.resources?.cpu?.quota, 20000);
  r = await hk(m.root, ['update', '--memory', '1q', m.id]);
  t.equal(errorMessage(r), "invalid value for memory: invalid size: '1q'", 'a bad size');
  r = await hk(m.root, ['update', '--cpu-share', '1', m.id]);
  t.equal(errorMessage(r), 'the minimum allowed cpu-shares is 2', 'shares the kernel clamps');

  r = await hk(m.root, ['delete', m.id]);
  t.equal(r.code, 0, 'delete of the created container', { stderr: r.stderr });
  checkCgroupsGone(t, m.dirs);
  r = await hk(m.root, ['update', '--pids-limit', '5', m.id]);
  t.equal(errorMessage(r), 'container does not exist');
  await checkNothingLeft(t, { stateRoot: m.root, bundleDir: m.bundle.dir, pids: [m.pid] });
});

t.test('a pids limit makes fork fail in the container', { skip }, async (t) => {
  const id = containerId('pids');
  const bundle = await makeBundle(t, {
    args: ['/bin/sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; echo forked; kill $(jobs -p) 2>/dev/null; exit 0'],
    edit: (s) => {
      s.linux!.resources = { ...s.linux!.resources, pids: { limit: 4 } };
    },
  });
  const dirs = [...new Set(Object.values(expectedPaths(bundle.spec, id)))];
  removeCgroupsAtTeardown(t, dirs);
  const res = await runContainer(HAKO, bundle, id);
  t.match(res.stderr, /can't fork|Resource temporarily unavailable/i, 'sh could not fork past the limit', { stderr: res.stderr });
  t.same(res.leftInStateRoot, [], 'the foreground run removed its state');
  checkCgroupsGone(t, dirs);
  await checkNothingLeft(t, { bundleDir: bundle.dir });
});

t.test('device rules decide which nodes open', { skip }, async (t) => {
  const open = ['/bin/sh', '-c', 'if ( : </dev/fuse ) 2>/dev/null; then echo OPENED; else echo DENIED; fi'];
  // /dev/fuse: not among runc's default nodes, and opening it needs no capability
  const fuse = { path: '/dev/fuse', type: 'c' as const, major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 };
  for (const [label, allow] of [['without a rule', false], ['with an allow rule', true]] as const) {
    const id = containerId('dev');
    const bundle = await makeBundle(t, {
      args: open,
      edit: (s) => {
        s.linux!.devices = [fuse];
        if (allow) s.linux!.resources!.devices!.push({ allow: true, type: 'c', major: 10, minor: 229, access: 'rw' });
      },
    });
    const dirs = [...new Set(Object.values(expectedPaths(bundle.spec, id)))];
    removeCgroupsAtTeardown(t, dirs);
    const res = await runContainer(HAKO, bundle, id);
    t.equal(res.stdout.trim(), allow ? 'OPENED' : 'DENIED', `/dev/fuse ${label}`, { stderr: res.stderr });
    checkCgroupsGone(t, dirs);
  }
  await checkNothingLeft(t, {});
});

t.test('events: --stats once; a memory limit that OOM-kills a hog gives an oom event', { skip }, async (t) => {
  const hog = 'sleep 1; x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x="$x$x"; done';
  const m = await make(t, {
    run: true,
    args: ['/bin/sh', '-c', hog],
    edit: (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 16777216, swap: 16777216 }, pids: { limit: 20 } };
    },
  });
  const once = await hk(m.root, ['events', '--stats', m.id]);
  t.equal(once.code, 0, 'events --stats exits 0', { stderr: once.stderr });
  const line = JSON.parse(once.stdout) as { type: string; id: string; data: Record<string, Record<string, unknown>> };
  t.equal(once.stdout.split('\n').length, 2, 'one JSON line');
  t.same([line.type, line.id], ['stats', m.id]);
  t.same(Object.keys(line.data), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces'], 'runc\'s keys');
  t.same((line.data.memory!.usage as { limit: number }).limit, 16777216, 'memory limit in the stats');
  t.equal(line.data.pids!.limit, 20, 'pids limit in the stats');
  t.ok(Number(line.data.pids!.current) >= 1, 'pids current in the stats');

  const scratch = await scratchDir(t, 'events');
  const events = spawnRuntime(HAKO, m.root, ['events', '--interval', '200ms', m.id], { stdoutFile: path.join(scratch, 'out'), timeoutMs: 20_000 });
  await waitFor('the hog to be OOM-killed', () => !isAlive(m.pid), 15_000);
  const oomLine = await waitFor('an oom event', () => readIfExists(path.join(scratch, 'out')).split('\n').find((l) => l.startsWith('{"type":"oom"')), 5_000).catch(() => undefined);
  t.equal(oomLine, `{"type":"oom","id":"${m.id}"}`, 'the oom event, as runc prints it');
  t.match(readIfExists(path.join(m.paths.memory!, 'memory.oom_control')), /oom_kill [1-9]/, 'the kernel counted an OOM kill');
  const del = await hk(m.root, ['delete', m.id]);
  t.equal(del.code, 0, 'delete', { stderr: del.stderr });
  const ended = await events;
  t.equal(ended.code, 0, 'events ends once the cgroup is gone', { stderr: ended.stderr });
  t.ok(ended.stdout.split('\n').some((l) => l.startsWith('{"type":"stats"')), 'stats lines came every interval');
  const stopped = await hk(m.root, ['events', '--stats', m.id]);
  t.equal(errorMessage(stopped), 'container does not exist');
  checkCgroupsGone(t, m.dirs);
  await checkNothingLeft(t, { stateRoot: m.root, bundleDir: m.bundle.dir, pids: [m.pid] });
});

/** A child cgroup of our own in one v1 hierarchy (removed at teardown). */
function ownV1Child(t: Test, controller: string, name: string): string {
  const own = new RegExp(`^\\d+:(?:[^:]*,)?${controller}(?:,[^:]*)?:(.*)$`, 'm').exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
  const dir = path.join('/sys/fs/cgroup', controller, own, `${name}-${process.pid}`);
  removeCgroupsAtTeardown(t, [dir]);
  mkdirSync(dir);
  return dir;
}

/** A /bin/sh child that waits for a line on stdin before running `script` (so it can be placed first). */
async function gatedShell(t: Test, script: string): Promise<{ child: ReturnType<typeof spawn>; go: () => void; output: () => string }> {
  const child = spawn('/bin/sh', ['-c', `read _go; ${script}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('spawn', r));
  return { child, go: () => child.stdin!.end('go\n'), output: () => out };
}

t.test('v1 OOM eventfd: the driver hears of an OOM kill as it happens, and of the cgroup\'s removal', { skip }, async (t) => {
  const dir = ownV1Child(t, 'memory', 'hako-oom');
  writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(16 << 20));
  if (existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(16 << 20));
  const cg = new V1Cgroup({ memory: dir });
  const seen: string[] = [];
  const w = cg.watchOom({ oom: () => seen.push('oom'), gone: () => seen.push('gone'), error: (e) => seen.push(`error ${String(e)}`) });
  t.ok(w, 'a watch on a memory cgroup');
  t.teardown(() => w?.stop());
  const hog = await gatedShell(t, 'x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x="$x$x"; done');
  cg.place(hog.child.pid!);
  await new Promise((r) => setTimeout(r, 300));
  t.same(seen, [], 'no event before the hog runs');
  hog.go();
  await waitFor('the hog to be OOM-killed', () => hog.child.signalCode === 'SIGKILL', 15_000).catch(() => undefined);
  t.equal(hog.child.signalCode, 'SIGKILL', 'the kernel killed the hog');
  await waitFor('an oom event', () => seen.includes('oom'), 5_000).catch(() => undefined);
  t.ok(seen.length > 0 && seen.every((e) => e === 'oom'), 'oom event(s) from the eventfd', { seen });
  t.match(readIfExists(path.join(dir, 'memory.oom_control')), /oom_kill [1-9]/, 'the kernel counted it');
  await waitFor('the cgroup to empty', () => cgroupProcs(dir).length === 0);
  rmdirSync(dir);
  await waitFor('the removal to be told', () => seen.includes('gone'), 5_000).catch(() => undefined);
  t.equal(seen[seen.length - 1], 'gone', 'the eventfd\'s last signal: the cgroup is gone');
});

t.test('a deny rule for /dev/null (c 1:3 rwm): the writes hako makes leave it unreadable', { skip }, async (t) => {
  const dir = ownV1Child(t, 'devices', 'hako-devnull');
  const writes = deviceWrites(applyDeviceRules([{ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }]));
  t.same(writes.map((w) => `${w.file} ${w.value}`), ['devices.allow a', 'devices.deny c 1:3 rwm'], 'allow everything, then deny /dev/null');
  for (const w of writes) writeFileSync(path.join(dir, w.file), w.value);
  t.match(readFileSync(path.join(dir, 'devices.list'), 'utf8'), /^a \*:\* rwm$/m, 'the kernel keeps the default and its exception');
  // no 2>/dev/null here: that opens /dev/null too
  const check = 'if ( : </dev/null ); then echo READ; else echo DENIED; fi; if ( : </dev/zero ); then echo ZERO; fi';
  const sh = await gatedShell(t, check);
  new V1Cgroup({ devices: dir }).place(sh.child.pid!);
  sh.go();
  await new Promise((r) => sh.child.once('exit', r));
  t.equal(sh.output().trim(), 'DENIED\nZERO', '/dev/null cannot be opened for reading; /dev/zero still can');
  // runc appends its default rules (/dev/null among them) after the config's, so the same
  // rule in a container's config is overridden: hako does the same.
  const id = containerId('devnull');
  const bundle = await makeBundle(t, {
    args: ['/bin/sh', '-c', check],
    edit: (s) => {
      s.linux!.resources!.devices!.push({ allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' });
    },
  });
  const dirs = [...new Set(Object.values(expectedPaths(bundle.spec, id)))];
  removeCgroupsAtTeardown(t, dirs);
  const res = await runContainer(HAKO, bundle, id);
  t.equal(res.stdout.trim(), 'READ\nZERO', 'in a container, runc\'s default rules allow /dev/null again', { stderr: res.stderr });
  checkCgroupsGone(t, dirs);
  await checkNothingLeft(t, { bundleDir: bundle.dir });
});

// ------------------------------------------------------------------ refusals and failures

t.test('a cgroup that already holds a process is refused; nothing is left', { skip }, async (t) => {
  const id = containerId('busy');
  const bundle = await makeBundle(t, { edit: (s) => (s.linux!.cgroupsPath = `/hako-busy-${process.pid}`) });
  const paths = expectedPaths(bundle.spec, id);
  const dirs = [...new Set(Object.values(paths))];
  removeCgroupsAtTeardown(t, dirs);
  const pidsDir = paths.pids!;
  const { mkdirSync } = await import('node:fs');
  mkdirSync(pidsDir);
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  await new Promise((r) => sleeper.once('spawn', r));
  writeFileSync(path.join(pidsDir, 'cgroup.procs'), String(sleeper.pid));
  const root = await makeStateRoot(t, HAKO);
  // stdio on files: a create that wrongly succeeded would hold pipes open
  const r = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, id]);
  t.equal(r.code, 1, 'create fails');
  t.equal(errorMessage(r), "hako create failed: container's cgroup is not empty: 1 process(es) found", 'runc 1.2\'s message');
  t.same(readdirSync(root), [], 'no state left');
  t.ok(existsSync(pidsDir), 'the cgroup that was there stays');
  t.same(
    dirs.filter((d) => d !== pidsDir && existsSync(d)),
    [],
    'no other cgroup dir was made',
  );
  sleeper.kill('SIGKILL');
  await new Promise((r) => sleeper.once('exit', r));
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
});

t.test('a create that fails in the init removes the cgroup it made', { skip }, async (t) => {
  const id = containerId('fail');
  const bundle = await makeBundle(t, { args: ['/no/such/binary'] });
  const dirs = [...new Set(Object.values(expectedPaths(bundle.spec, id)))];
  removeCgroupsAtTeardown(t, dirs);
  const root = await makeStateRoot(t, HAKO);
  const r = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, id]);
  t.equal(r.code, 1, 'create fails', { stderr: r.stderr });
  t.match(errorMessage(r), /no such file|executable file not found/);
  checkCgroupsGone(t, dirs);
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
});

t.test('--systemd-cgroup where systemd does not run: refused, nothing made', { skip }, async (t) => {
  const id = containerId('sd');
  const bundle = await makeBundle(t);
  const dirs = [...new Set(Object.values(expectedPaths(bundle.spec, id)))];
  removeCgroupsAtTeardown(t, dirs);
  const root = await makeStateRoot(t, HAKO);
  let r = await hk(root, ['--systemd-cgroup', 'create', '--bundle', bundle.dir, id]);
  t.equal(r.code, 1);
  t.equal(errorMessage(r), 'hako create failed: systemd not running on this host, cannot use systemd cgroups manager');
  bundle.spec.linux!.cgroupsPath = 'bad/path';
  await bundle.writeConfig();
  r = await hk(root, ['--systemd-cgroup', 'create', '--bundle', bundle.dir, id]);
  t.match(errorMessage(r), /expected cgroupsPath to be of format "slice:prefix:name"/);
  checkCgroupsGone(t, dirs);
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
});

// ------------------------------------------------------------------ the v2 driver on the hybrid cgroup2 mount

const UNIFIED = '/sys/fs/cgroup/unified';
const v2Skip = skip || (!existsSync(path.join(UNIFIED, 'cgroup.procs')) && `no cgroup2 mount at ${UNIFIED}`);

t.test('v2 driver: placement, freeze, kill, removal on a real cgroup2 hierarchy', { skip: v2Skip }, async (t) => {
  const parent = path.join(UNIFIED, `hako-v2-${process.pid}`);
  const dir = path.join(parent, 'c1');
  removeCgroupsAtTeardown(t, [dir], [parent]);
  const cg = new V2Cgroup({ '': dir });
  t.same(cg.create(), [parent, dir], 'both levels made');
  const children = [spawn('sleep', ['60'], { stdio: 'ignore' }), spawn('sleep', ['60'], { stdio: 'ignore' })];
  t.teardown(() => children.forEach((c) => c.kill('SIGKILL')));
  await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
  for (const c of children) cg.place(c.pid!);
  t.same(cg.pids().sort(), children.map((c) => c.pid!).sort(), 'both placed');
  t.equal(cg.isFrozen(), false);
  cg.freeze();
  t.equal(cg.isFrozen(), true, 'frozen');
  t.match(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'), /^frozen 1$/m, 'cgroup.events: frozen 1');
  cg.thaw();
  t.equal(cg.isFrozen(), false, 'thawed');
  cg.signalAll(19); // SIGSTOP through the freezer
  for (const c of children) {
    t.ok(await waitFor('SIGSTOP to take effect', () => /State:\s+T/.test(readIfExists(`/proc/${c.pid}/status`))), 'stopped by signalAll');
  }
  cg.killAll();
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  t.same(children.map((c) => c.signalCode), ['SIGKILL', 'SIGKILL'], 'cgroup.kill killed both');
  cg.destroy();
  t.notOk(existsSync(dir), 'the cgroup is removed');
  rmdirSync(parent);
  t.same(processesWith(dir), []);
});

t.test('v2 device program: attached to a cgroup2 directory, replaced on update, in force for its processes', { skip: v2Skip }, async (t) => {
  const dir = path.join(UNIFIED, `hako-bpf-${process.pid}`);
  removeCgroupsAtTeardown(t, [dir]);
  const cg = new V2Cgroup({ '': dir });
  cg.create();
  const check = 'for d in null zero fuse; do if ( : </dev/$d ); then echo $d; fi; done';
  const opened = async (): Promise<string> => {
    const sh = await gatedShell(t, check);
    cg.place(sh.child.pid!);
    sh.go();
    await new Promise((r) => sh.child.once('exit', r));
    return sh.output().trim().split('\n').join(' ');
  };
  t.equal(await opened(), 'null zero fuse', 'no program: everything opens');
  cg.setResources({ devices: defaultSpec().linux!.resources!.devices! });
  t.equal(native().deviceProgramCount(dir), 1, 'create: one program of hako\'s');
  t.equal(await opened(), 'null zero', 'the default spec: runc\'s nodes open, /dev/fuse does not');
  attachDeviceProgram(dir, applyDeviceRules([{ allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }]));
  t.equal(native().deviceProgramCount(dir), 1, 'attached again: the previous one is replaced');
  t.equal(await opened(), 'zero', 'deny all but /dev/zero: /dev/null cannot be opened for reading');
  cg.setResources({ devices: [{ allow: true, access: 'rwm' }] }, { update: true });
  t.equal(native().deviceProgramCount(dir), 1, 'update: still one');
  t.equal(await opened(), 'null zero fuse', 'an update that allows everything');
  await waitFor('the cgroup to empty', () => cg.pids().length === 0);
  cg.destroy();
  t.notOk(existsSync(dir), 'removed (the kernel drops its programs with it)');
});
