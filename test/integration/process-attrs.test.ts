// process.scheduler, process.ioPriority, process.execCPUAffinity, linux.personality and
// linux.memoryPolicy under dist/hako, seen by the probe inside: for `run` (the init) and
// for `exec`, with a -p process file and with the container's values as the fallback
// (runc 1.3's rules; runc 1.4's for the memory policy).
// Needs root, dist/hako and the probe; every container is deleted at teardown.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Process, Spec } from '../../src/oci/types.js';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  errorMessage,
  HAKO,
  hakoSkip,
  hk,
  readIfExists,
  reapIfOurs,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

/** The CPUs this machine runs processes on (the tests pin to one of them). */
function onlineCpus(): number[] {
  const text = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

interface Ran {
  code: number | null;
  report?: ProbeReport;
  stdout: string;
  stderr: string;
}

/** `hako run` of a probe with the spec edited; the report when it ran. */
async function runProbe(t: Test, edit: (spec: Spec) => void, args: string[] = ['/probe']): Promise<Ran & { bundle: Bundle; root: string; id: string }> {
  const bundle = await makeBundle(t, { args, edit });
  const root = await makeStateRoot(t, HAKO);
  const id = containerId('pa');
  t.teardown(() => hk(root, ['delete', '-f', id]));
  const r = await hk(root, ['run', '--bundle', bundle.dir, id]);
  const ran: Ran = { code: r.code, stdout: r.stdout, stderr: r.stderr };
  if (r.code === 0 && args[0] === '/probe') ran.report = parseProbeReport(r.stdout);
  return { ...ran, bundle, root, id };
}

interface Running {
  bundle: Bundle;
  root: string;
  id: string;
  pid: number;
  dir: string;
  marker: string;
  initReport: ProbeReport;
}

/** A started container whose init is a probe that reports, then sleeps. */
async function running(t: Test, edit: (spec: Spec) => void = () => {}): Promise<Running> {
  const id = containerId('pa');
  const marker = `marker-${id}`;
  const bundle = await makeBundle(t, { args: ['/probe', '--stat', `/${marker}`, '--sleep', 'inf'], edit });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'pa');
  const stdoutFile = path.join(dir, 'init.out');
  const pidFile = path.join(dir, 'init.pid');
  const create = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id], {
    stdoutFile,
    stderrFile: path.join(dir, 'init.err'),
  });
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  const pid = Number(readIfExists(pidFile));
  t.teardown(async () => {
    await hk(root, ['delete', '-f', id]);
    await reapIfOurs(pid, 2000);
  });
  const start = await hk(root, ['start', id]);
  t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  const text = await waitFor('the init report', () => {
    const s = readIfExists(stdoutFile);
    return s.endsWith('\n') ? s : false;
  });
  return { bundle, root, id, pid, dir, marker, initReport: parseProbeReport(text) };
}

async function finish(t: Test, c: Running): Promise<void> {
  await hk(c.root, ['delete', '-f', c.id]);
  await reapIfOurs(c.pid, 2000);
  await checkNothingLeft(t, { bundleDir: c.bundle.dir, markers: [c.marker], stateRoot: c.root, pids: [c.pid] });
}

/** `hako exec -p FILE` with a process made from the config's, edited. */
async function execProcessFile(c: Running, edit: (p: Process) => void, name = 'process.json') {
  const proc = structuredClone(c.bundle.spec.process!);
  proc.args = ['/probe'];
  edit(proc);
  const file = path.join(c.dir, name);
  writeFileSync(file, JSON.stringify(proc));
  return hk(c.root, ['exec', '-p', file, c.id]);
}

const cpus = onlineCpus();
const lastCpu = cpus[cpus.length - 1]!;
const allCpus = cpus.length > 1 ? `${cpus[0]}-${lastCpu}` : String(cpus[0]);

t.test('run: SCHED_BATCH nice 5, I/O priority BE 6, LINUX32 personality', { skip }, async (t) => {
  const r = await runProbe(t, (spec) => {
    spec.process!.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
    spec.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
    spec.linux!.personality = { domain: 'LINUX32' };
  });
  t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
  t.match(r.report?.scheduler, { policy: 'SCHED_BATCH', nice: 5, priority: 0, reset_on_fork: false }, 'SCHED_BATCH, nice 5');
  t.match(r.report?.io_priority, { class: 'IOPRIO_CLASS_BE', priority: 6 }, 'I/O class BE, level 6');
  t.match(r.report?.personality, { domain: 'LINUX32' }, 'LINUX32 personality');
  t.equal(r.report?.cpu_affinity?.list, allCpus, 'execCPUAffinity unset: every CPU');
});

t.test('run: LINUX32 makes uname -m a 32-bit machine', { skip }, async (t) => {
  const r = await runProbe(t, (spec) => (spec.linux!.personality = { domain: 'LINUX32' }), ['/bin/uname', '-m']);
  t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
  t.match(r.stdout.trim(), /^i[3-6]86$/, 'uname -m shows i686 (x86_64 host)');
  const plain = await runProbe(t, () => {}, ['/bin/uname', '-m']);
  t.equal(plain.stdout.trim(), 'x86_64', 'without it: the host\'s machine');
});

t.test('run: SCHED_IDLE and I/O class IDLE', { skip }, async (t) => {
  const r = await runProbe(t, (spec) => {
    spec.process!.scheduler = { policy: 'SCHED_IDLE' };
    spec.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 7 };
  });
  t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
  t.match(r.report?.scheduler, { policy: 'SCHED_IDLE', priority: 0 }, 'SCHED_IDLE');
  t.match(r.report?.io_priority, { class: 'IOPRIO_CLASS_IDLE' }, 'I/O class IDLE');
  t.match(r.report?.personality, { domain: 'LINUX' }, 'the default personality');
});

t.test('run: SCHED_RESET_ON_FORK is seen, a lower nice needs nothing more than root', { skip }, async (t) => {
  const r = await runProbe(t, (spec) => {
    spec.process!.scheduler = { policy: 'SCHED_OTHER', nice: -3, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
  });
  t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
  t.match(r.report?.scheduler, { policy: 'SCHED_OTHER', nice: -3, reset_on_fork: true }, 'nice -3, reset on fork');
});

// With CONFIG_RT_GROUP_SCHED a new cgroup v1 cpu cgroup has cpu.rt_runtime_us 0, where the
// kernel refuses a real-time policy; a budget in linux.resources.cpu lifts that.
const rtGroups = existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us');

t.test('run: SCHED_FIFO priority 1', { skip }, async (t) => {
  const fifo = (spec: Spec) => (spec.process!.scheduler = { policy: 'SCHED_FIFO', priority: 1 });
  const bare = await runProbe(t, fifo);
  if (rtGroups) {
    t.equal(bare.code, 1, 'refused without a real-time budget in the cgroup (cpu.rt_runtime_us 0)');
    t.match(
      errorMessage(bare),
      /error setting scheduler \(SCHED_FIFO, nice 0, priority 1\) \(a real-time policy needs CAP_SYS_NICE and.*realtimeRuntime > 0\): operation not permitted/,
      'the error says why',
    );
    t.notOk(existsSync(path.join(bare.root, bare.id)), 'no state left');
  } else {
    t.equal(bare.code, 0, 'no real-time group scheduling: allowed', { stderr: bare.stderr });
  }
  const budget = await runProbe(t, (spec) => {
    fifo(spec);
    spec.linux!.resources = { ...spec.linux!.resources, cpu: { realtimePeriod: 1000000, realtimeRuntime: 10000 } };
  });
  t.equal(budget.code, 0, 'with linux.resources.cpu.realtimeRuntime: runs', { stderr: budget.stderr });
  t.match(budget.report?.scheduler, { policy: 'SCHED_FIFO', priority: 1 }, 'SCHED_FIFO, priority 1');
});

t.test('run: validation names the pointer before anything is made', { skip }, async (t) => {
  const dl = await runProbe(t, (spec) => (spec.process!.scheduler = { policy: 'SCHED_DEADLINE', deadline: 1000000 }));
  t.equal(dl.code, 1, 'SCHED_DEADLINE without runtime is refused');
  t.match(errorMessage(dl), '/process/scheduler/runtime: must be at least 1024', 'by pointer, before anything is made');
  const cpu = await runProbe(t, (spec) => (spec.process!.execCPUAffinity = { final: '3-1' }));
  t.equal(cpu.code, 1, 'a backwards CPU range is refused');
  t.match(errorMessage(cpu), '/process/execCPUAffinity/final: invalid range "3-1"', 'by pointer');
  for (const r of [dl, cpu]) t.notOk(existsSync(path.join(r.root, r.id)), 'no state left');
});

t.test('exec -p: scheduler, I/O priority, execCPUAffinity from the process file', { skip }, async (t) => {
  const c = await running(t, (spec) => (spec.linux!.personality = { domain: 'LINUX32' }));
  t.equal(c.initReport.cpu_affinity?.list, allCpus, 'the init: every CPU (execCPUAffinity is not the init\'s)');
  const r = await execProcessFile(c, (p) => {
    p.scheduler = { policy: 'SCHED_BATCH', nice: 7 };
    p.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
    p.execCPUAffinity = { initial: allCpus, final: String(lastCpu) };
  });
  t.equal(r.code, 0, 'exec exits 0', { stderr: r.stderr });
  const report = parseProbeReport(r.stdout);
  t.match(report.scheduler, { policy: 'SCHED_BATCH', nice: 7 }, 'SCHED_BATCH nice 7');
  t.match(report.io_priority, { class: 'IOPRIO_CLASS_IDLE' }, 'I/O class IDLE');
  t.same(report.cpu_affinity?.cpus, [lastCpu], `final affinity: CPU ${lastCpu}`);
  t.match(report.personality, { domain: 'LINUX32' }, 'the container\'s personality');
  const first = await execProcessFile(c, (p) => (p.execCPUAffinity = { final: String(cpus[0]) }), 'first.json');
  t.equal(first.code, 0, 'exec exits 0', { stderr: first.stderr });
  t.same(parseProbeReport(first.stdout).cpu_affinity?.cpus, [cpus[0]], `final affinity: CPU ${cpus[0]}`);
  t.match(parseProbeReport(first.stdout).scheduler, { policy: 'SCHED_OTHER', nice: getPriority() }, 'no scheduler: the init\'s, unchanged');
  await finish(t, c);
});

t.test('exec: the container\'s values are the fallback', { skip }, async (t) => {
  const c = await running(t, (spec) => {
    spec.process!.scheduler = { policy: 'SCHED_BATCH', nice: 3 };
    spec.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 2 };
    spec.process!.execCPUAffinity = { final: String(cpus[0]) };
  });
  t.match(c.initReport.scheduler, { policy: 'SCHED_BATCH', nice: 3 }, 'the init: SCHED_BATCH nice 3');
  t.equal(c.initReport.cpu_affinity?.list, allCpus, 'the init: every CPU');
  const plain = await hk(c.root, ['exec', c.id, '/probe']);
  t.equal(plain.code, 0, 'exec exits 0', { stderr: plain.stderr });
  const a = parseProbeReport(plain.stdout);
  t.match(a.scheduler, { policy: 'SCHED_BATCH', nice: 3 }, 'exec without -p: the config\'s scheduler');
  t.match(a.io_priority, { class: 'IOPRIO_CLASS_BE', priority: 2 }, 'and I/O priority');
  t.same(a.cpu_affinity?.cpus, [cpus[0]], 'and execCPUAffinity.final');
  const file = await execProcessFile(c, (p) => {
    delete p.scheduler;
    delete p.ioPriority;
    delete p.execCPUAffinity;
    p.env = ['PATH=/bin'];
  });
  t.equal(file.code, 0, 'exec -p exits 0', { stderr: file.stderr });
  const b = parseProbeReport(file.stdout);
  t.match(b.scheduler, { policy: 'SCHED_BATCH', nice: 3 }, 'exec -p without them: the config\'s scheduler (runc\'s newInitConfig)');
  t.match(b.io_priority, { class: 'IOPRIO_CLASS_BE', priority: 2 }, 'the config\'s I/O priority');
  t.same(b.cpu_affinity?.cpus, [cpus[0]], 'the config\'s execCPUAffinity');
  const over = await execProcessFile(c, (p) => (p.scheduler = { policy: 'SCHED_IDLE' }), 'over.json');
  t.equal(over.code, 0, 'exec -p exits 0', { stderr: over.stderr });
  t.match(parseProbeReport(over.stdout).scheduler, { policy: 'SCHED_IDLE' }, 'the process file\'s own wins');
  await finish(t, c);
});

t.test('exec -p: refusals name the pointer or the step, and leave the container as it was', { skip }, async (t) => {
  const c = await running(t);
  const badList = await execProcessFile(c, (p) => (p.execCPUAffinity = { final: '2-0' }));
  t.equal(badList.code, 255, 'a backwards range: 255');
  t.match(errorMessage(badList), /\/execCPUAffinity\/final: invalid range "2-0"/, 'by pointer');
  const nice = await execProcessFile(c, (p) => (p.scheduler = { policy: 'SCHED_OTHER', nice: 20 }));
  t.equal(nice.code, 255, 'nice 20: 255');
  t.match(errorMessage(nice), /\/scheduler\/nice: must be between -20 and 19 with SCHED_OTHER/, 'by pointer');
  const absent = 1023;
  const initial = await execProcessFile(c, (p) => (p.execCPUAffinity = { initial: String(absent) }));
  t.equal(initial.code, 255, `initial CPU ${absent} (not on this machine): 255`);
  t.match(errorMessage(initial), `error setting initial CPU affinity to CPUs ${absent}`, 'the initial affinity is set, and its failure said');
  const final = await execProcessFile(c, (p) => (p.execCPUAffinity = { final: String(absent) }));
  t.equal(final.code, 255, `final CPU ${absent}: 255`);
  t.match(errorMessage(final), `error setting final CPU affinity to CPUs ${absent}: invalid argument`, 'the final affinity\'s failure said');
  const state = JSON.parse((await hk(c.root, ['state', c.id])).stdout) as { status: string };
  t.equal(state.status, 'running', 'the container still runs');
  await finish(t, c);
});

// linux.memoryPolicy as runc 1.4 sets it (runc 1.3 has no such field). This machine has
// NUMA node 0 only, which is all the policies below need.
const nodeOnline = readIfExists('/sys/devices/system/node/online').trim();
const numa = nodeOnline === '' ? 'no NUMA nodes listed in /sys/devices/system/node' : false;

t.test('run: memory policy MPOL_BIND and MPOL_INTERLEAVE with flags', { skip: skip || numa }, async (t) => {
  const bind = await runProbe(t, (spec) => (spec.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' }));
  t.equal(bind.code, 0, 'run exits 0', { stderr: bind.stderr });
  t.same(bind.report?.memory_policy, { mode: 'MPOL_BIND', flags: [], nodes: [0] }, 'MPOL_BIND on node 0');
  const inter = await runProbe(t, (spec) => (spec.linux!.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }));
  t.equal(inter.code, 0, 'run exits 0', { stderr: inter.stderr });
  t.same(inter.report?.memory_policy, { mode: 'MPOL_INTERLEAVE', flags: ['MPOL_F_STATIC_NODES'], nodes: [0] }, 'MPOL_INTERLEAVE, static nodes');
  const local = await runProbe(t, (spec) => (spec.linux!.memoryPolicy = { mode: 'MPOL_LOCAL' }));
  t.equal(local.code, 0, 'run exits 0', { stderr: local.stderr });
  t.match(local.report?.memory_policy, { mode: 'MPOL_LOCAL' }, 'MPOL_LOCAL');
  const none = await runProbe(t, () => {});
  t.match(none.report?.memory_policy, { mode: 'MPOL_DEFAULT', nodes: [] }, 'without one: the default');
});

t.test('run: a memory policy on a node the machine lacks is refused by the kernel, with the step named', { skip: skip || numa }, async (t) => {
  const r = await runProbe(t, (spec) => (spec.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '1023' }));
  t.equal(r.code, 1, 'run fails');
  t.match(errorMessage(r), 'set_mempolicy MPOL_BIND (flags 0x0, nodes "1023"): invalid argument', 'the mode and nodes named');
  t.notOk(existsSync(path.join(r.root, r.id)), 'no state left');
});

t.test('exec: the container\'s memory policy applies to an exec\'d process too', { skip: skip || numa }, async (t) => {
  const c = await running(t, (spec) => (spec.linux!.memoryPolicy = { mode: 'MPOL_PREFERRED', nodes: '0' }));
  t.match(c.initReport.memory_policy, { mode: 'MPOL_PREFERRED', nodes: [0] }, 'the init');
  const r = await execProcessFile(c, () => {});
  t.equal(r.code, 0, 'exec -p exits 0', { stderr: r.stderr });
  t.match(parseProbeReport(r.stdout).memory_policy, { mode: 'MPOL_PREFERRED', nodes: [0] }, 'the exec\'d process');
  await finish(t, c);
});
