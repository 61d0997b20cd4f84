// The exec plan (src/plan/exec-plan.ts), runc's exec flags over the config's process
// (src/cli/exec.ts processFromFlags) and the exec command line (argv.ts): no root needed.
import t from 'tap';
import { buildExecPlan, dedupEnv } from '../../src/plan/exec-plan.js';
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS, PlanFlag, UMASK_UNSET, capabilityNumber } from '../../src/plan/launch-plan.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import type { Process } from '../../src/oci/types.js';
import { processFromFlags } from '../../src/cli/exec.js';
import { parseArgv } from '../../src/cli/argv.js';
import { HakoError } from '../../src/errors.js';
import { parseSubCgroups, subCgroupRecord } from '../../src/container/exec.js';

const fds = { consoleSocket: -1, execFifo: -1, preserved: 0 };
const proc = (): Process => structuredClone(defaultSpec().process!);

t.test('buildExecPlan: joins, creates nothing, mounts nothing', async (t) => {
  const plan = buildExecPlan(
    { ...proc(), args: ['/bin/true'], terminal: true, noNewPrivileges: true },
    {
      containerId: 'c1',
      namespacePaths: { mount: '/proc/7/ns/mnt', pid: '/proc/7/ns/pid', user: '/proc/7/ns/user', network: '/proc/7/ns/net', ipc: '/proc/7/ns/ipc', uts: '/proc/7/ns/uts' },
      fds: { consoleSocket: 5, execFifo: -1, preserved: 2 },
      chownStdio: false,
    },
  );
  t.same(
    plan.joinNamespaces.map((j) => j.cloneFlag),
    [CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS],
    'user first, then runc\'s order',
  );
  t.equal(plan.joinNamespaces[0]!.path, '/proc/7/ns/user', 'by path');
  t.equal(plan.cloneFlags, 0n, 'no namespace created');
  t.equal(plan.flags & PlanFlag.EXEC, PlanFlag.EXEC, 'FLAG_EXEC');
  t.equal(plan.flags & PlanFlag.TERMINAL, PlanFlag.TERMINAL, 'terminal');
  t.equal(plan.flags & PlanFlag.NO_NEW_PRIVS, PlanFlag.NO_NEW_PRIVS, 'no_new_privs');
  t.equal(plan.flags & (PlanFlag.SETUP_DEV | PlanFlag.USERNS_MAPS | PlanFlag.ROOT_READONLY), 0n, 'no /dev, no maps, no remount');
  t.same([plan.mounts, plan.devices, plan.symlinks, plan.maskedPaths, plan.readonlyPaths, plan.sysctls], [[], [], [], [], [], []], 'nothing to mount or write');
  t.equal(plan.rootfs, '/', 'no rootfs to enter');
  t.equal(plan.hostname, undefined, 'no hostname');
  t.equal(plan.umask, UMASK_UNSET, 'the caller\'s umask (runc 1.1)');
  t.same(plan.fds, { consoleSocket: 5, execFifo: -1, preserved: 2 }, 'fds as given, no exec fifo');
  t.equal(plan.rlimits.length, 1, 'the process\'s rlimits');
  t.ok(plan.capabilities!.bounding & (1n << BigInt(capabilityNumber('CAP_KILL')!)), 'capabilities as masks');
});

t.test('buildExecPlan: a process without capabilities gets none (as runc), not root\'s', async (t) => {
  const { capabilities: _, ...bare } = proc();
  const plan = buildExecPlan({ ...bare, args: ['/bin/true'] }, { containerId: 'c', namespacePaths: {}, fds, chownStdio: false });
  t.same(plan.capabilities, { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n });
});

t.test('buildExecPlan: refuses empty args', async (t) => {
  t.throws(() => buildExecPlan({ ...proc(), args: [] }, { containerId: 'c', namespacePaths: {}, fds, chownStdio: false }), HakoError);
});

t.test('buildExecPlan: scheduler, I/O priority, final CPU affinity, the container\'s personality', async (t) => {
  const plan = buildExecPlan(
    { ...proc(), scheduler: { policy: 'SCHED_FIFO', priority: 10 }, ioPriority: { class: 'IOPRIO_CLASS_RT', priority: 0 }, execCPUAffinity: { initial: '0-3', final: ' 1 , 3-4,' } },
    { containerId: 'c', namespacePaths: {}, fds, chownStdio: false, personality: { domain: 'LINUX32' }, memoryPolicy: { mode: 'MPOL_PREFERRED', nodes: '0' } },
  );
  t.same(plan.memoryPolicy, { mode: 1, flags: 0, nodes: [0] }, 'the container\'s linux.memoryPolicy (runc 1.4)');
  t.same(plan.scheduler, { policy: 1, flags: 0n, nice: 0, priority: 10, runtime: 0n, deadline: 0n, period: 0n }, 'SCHED_FIFO 10');
  t.same(plan.ioPriority, { class: 1, priority: 0 }, 'IOPRIO_CLASS_RT 0');
  t.same(plan.cpuAffinity, [1, 3, 4], 'final only (initial is set on hako-init by exec.ts), spaces and empty elements allowed as runc');
  t.equal(plan.personality, 8, 'the container\'s linux.personality');
  const bare = buildExecPlan(proc(), { containerId: 'c', namespacePaths: {}, fds, chownStdio: false });
  t.same([bare.scheduler, bare.ioPriority, bare.cpuAffinity, bare.personality, bare.memoryPolicy], [undefined, undefined, undefined, undefined, undefined], 'absent: left alone');
  t.same(buildExecPlan({ ...proc(), execCPUAffinity: { initial: '1', final: '' } }, { containerId: 'c', namespacePaths: {}, fds, chownStdio: false }).cpuAffinity, undefined, 'an empty final: no change (runc)');
  const pointer = (p: Partial<Process>): string | undefined => {
    try {
      buildExecPlan({ ...proc(), ...p }, { containerId: 'c', namespacePaths: {}, fds, chownStdio: false });
    } catch (err) {
      return err instanceof HakoError ? err.where.pointer : 'not a HakoError';
    }
    return undefined;
  };
  t.equal(pointer({ execCPUAffinity: { final: '4-2' } }), '/execCPUAffinity/final', 'a backwards range');
  t.equal(pointer({ execCPUAffinity: { final: '1024' } }), '/execCPUAffinity/final', 'a CPU past 1023');
  t.equal(pointer({ scheduler: { policy: 'SCHED_BAD' as 'SCHED_RR' } }), '/scheduler/policy', 'process-file pointers have no /process');
  t.equal(pointer({ ioPriority: { class: 'IOPRIO_CLASS_X' as 'IOPRIO_CLASS_BE', priority: 1 } }), '/ioPriority/class');
});

t.test('dedupEnv: first place, last value, as Go\'s Setenv', async (t) => {
  t.same(dedupEnv(['PATH=/a', 'X=1', 'PATH=/b', 'Y=', 'X=2=3']), ['PATH=/b', 'X=2=3', 'Y='], 'in place');
  t.throws(() => dedupEnv(['NOEQUALS']), /missing '='/);
  t.throws(() => dedupEnv(['=x']), /name cannot be empty/);
});


function execFlags(argv: string[]) {
  const p = parseArgv(['exec', ...argv]);
  if (p.kind !== 'command') throw new Error('not a command');
  return p;
}

t.test('processFromFlags: runc\'s flags over the config\'s process', async (t) => {
  const spec = defaultSpec();
  const p = execFlags(['-e', 'A=1', '-e', 'B=2', '--cwd', '/tmp', '-u', '5:6', '-g', '7', '-g', '8', '-c', 'CAP_SYS_ADMIN', '-t', '--no-new-privs', 'id', 'cmd', '-x']);
  t.same(p.args, ['id', 'cmd', '-x'], 'flags stop at the id');
  const out = processFromFlags(p.flags, p.args.slice(1), spec.process!);
  t.same(out.args, ['cmd', '-x'], 'args after the id');
  t.same(out.env, [...spec.process!.env!, 'A=1', 'B=2'], 'env appended');
  t.equal(out.cwd, '/tmp', 'cwd');
  t.same([out.user.uid, out.user.gid, out.user.additionalGids], [5, 6, [7, 8]], 'user and groups');
  t.equal(out.terminal, true, 'terminal from -t');
  t.equal(out.noNewPrivileges, true, 'no_new_privs');
  for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) t.ok(out.capabilities![set]!.includes('CAP_SYS_ADMIN'), `--cap in ${set}`);
  t.notOk(out.capabilities!.inheritable?.includes('CAP_SYS_ADMIN'), 'not in inheritable');
  t.same(spec.process!.env, defaultSpec().process!.env, 'the config is not changed');

  const plain = processFromFlags({}, ['sh'], spec.process!);
  t.equal(plain.terminal, false, 'no -t: no terminal, whatever the config says');
  t.equal(plain.user.uid, spec.process!.user.uid, 'the config\'s user');
  const uidOnly = processFromFlags(execFlags(['-u', '9', 'id']).flags, ['sh'], spec.process!);
  t.same([uidOnly.user.uid, uidOnly.user.gid], [9, spec.process!.user.gid], '-u uid alone keeps the gid');
  t.throws(() => processFromFlags(execFlags(['-u', 'root', 'id']).flags, ['sh'], spec.process!), /parsing root as int for uid failed/);
  t.throws(() => processFromFlags(execFlags(['-g', '-1', 'id']).flags, ['sh'], spec.process!), /additional-gids must be a positive number -1/);
  t.throws(() => processFromFlags({}, [], spec.process!), /args must not be empty/);
});

t.test('exec command line', async (t) => {
  t.same(execFlags(['-d', '--', 'id', 'ls']).args, ['id', 'ls'], '-- before the id ends the flags');
  t.same(execFlags(['id', '--', 'ls']).args, ['id', '--', 'ls'], 'a -- after the id reaches exec.ts (which drops it)');
  t.throws(() => parseArgv(['exec']), /requires a minimum of 1 argument/);
  t.same(execFlags(['--preserve-fds', '2', '--ignore-paused', 'id', 'x']).flags, { 'preserve-fds': 2, 'ignore-paused': true }, 'uint and bool flags');
});

t.test('--cgroup: runc\'s sub-cgroup paths', async (t) => {
  const rec = { driver: 'v1' as const, paths: { memory: '/sys/fs/cgroup/memory/c', pids: '/sys/fs/cgroup/pids/c', '': '/sys/fs/cgroup/unified/c' } };
  t.same(subCgroupRecord(rec, parseSubCgroups(['sub'])).paths, { memory: '/sys/fs/cgroup/memory/c/sub', pids: '/sys/fs/cgroup/pids/c/sub', '': '/sys/fs/cgroup/unified/c/sub' }, 'a path alone: every controller');
  t.same(subCgroupRecord(rec, parseSubCgroups(['memory,pids:a/b'])).paths, { memory: '/sys/fs/cgroup/memory/c/a/b', pids: '/sys/fs/cgroup/pids/c/a/b', '': '/sys/fs/cgroup/unified/c' }, 'per controller');
  t.throws(() => parseSubCgroups(['a', 'b']), /missing <controller>: prefix/);
  t.throws(() => parseSubCgroups(['memory:a', 'memory:b']), /controller memory specified multiple times/);
  t.throws(() => parseSubCgroups([':a']), /empty <controller> prefix/);
  t.throws(() => parseSubCgroups(['a:b:c']), /invalid --cgroup argument: a:b:c/);
  t.throws(() => subCgroupRecord(rec, parseSubCgroups(['../x'])), /\.\.\/x is not a sub cgroup path/);
  t.throws(() => subCgroupRecord(rec, parseSubCgroups(['cpu:x'])), /unknown controller cpu/);
});
