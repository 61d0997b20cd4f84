// The plan of `hako exec`: a process that joins a running (or created) container. Like
// runc's setns init, it creates nothing: hako-init's stage 0 joins every namespace the
// container has (user first) by its /proc/<init>/ns path, clones the process into them
// (CLONE_PARENT, the joined pid namespace), which sets up only the process: console,
// keyring, seccomp, cwd, user, capabilities, no_new_privs, scheduler, I/O priority, CPU
// affinity, personality, memory policy, then execve (PlanFlag.EXEC).
// A pure function, as buildLaunchPlan is.
import { HakoError } from '../errors.js';
import type { LinuxMemoryPolicy, LinuxNamespaceType, LinuxPersonality, Process } from '../oci/types.js';
import {
  NAMESPACE_CLONE_FLAGS,
  NAMESPACE_JOIN_ORDER,
  capabilities,
  planCpuList,
  planIoPriority,
  planMemoryPolicy,
  planPersonality,
  planScheduler,
  rlimits,
  type PlanOptions,
} from './build.js';
import { type LaunchPlan, PlanFlag, UMASK_UNSET, emptyPlan } from './launch-plan.js';

export interface ExecPlanOptions {
  containerId: string;
  /** namespace type -> the path to join (the container's init's /proc/<pid>/ns/<file>) */
  namespacePaths: Partial<Record<LinuxNamespaceType, string>>;
  /** fds the process receives (numbers as hako-init sees them); there is no exec fifo */
  fds: PlanOptions['fds'];
  /** fchown fds 0-2 to the process's user (hako made them) */
  chownStdio: boolean;
  noNewKeyring?: boolean;
  /** /proc/sys/kernel/cap_last_cap */
  capLastCap?: number;
  /** the container's linux.seccomp, compiled */
  seccomp?: PlanOptions['seccomp'];
  /** the container's linux.personality (runc's exec'd process takes it too) */
  personality?: LinuxPersonality;
  /** the container's linux.memoryPolicy (runc 1.4's exec'd process takes it too) */
  memoryPolicy?: LinuxMemoryPolicy;
}

/** The plan for running `proc` inside a container. Throws HakoError for what it cannot plan. */
export function buildExecPlan(proc: Process, opts: ExecPlanOptions): LaunchPlan {
  if (!proc.args || proc.args.length === 0) throw new HakoError('args must not be empty', { pointer: '/args' });
  const joinNamespaces = NAMESPACE_JOIN_ORDER.filter((t) => opts.namespacePaths[t] !== undefined).map((t) => ({
    cloneFlag: NAMESPACE_CLONE_FLAGS[t],
    path: opts.namespacePaths[t]!,
  }));
  let flags = PlanFlag.EXEC;
  if (proc.terminal) flags |= PlanFlag.TERMINAL;
  if (proc.noNewPrivileges) flags |= PlanFlag.NO_NEW_PRIVS;
  if (opts.chownStdio) flags |= PlanFlag.CHOWN_STDIO;
  if (opts.noNewKeyring) flags |= PlanFlag.NO_NEW_KEYRING;

  const plan: LaunchPlan = {
    ...emptyPlan(),
    containerId: opts.containerId,
    // Nothing is mounted; "/" is what hako-init accepts without a mount namespace to create.
    rootfs: '/',
    flags,
    joinNamespaces,
    args: [...proc.args],
    env: dedupEnv(proc.env ?? []),
    cwd: proc.cwd,
    uid: proc.user.uid,
    gid: proc.user.gid,
    // runc 1.1 sets no umask for an exec'd process (only its standard init does): it
    // keeps the caller's, whatever process.user.umask says.
    umask: UMASK_UNSET,
    additionalGids: [...(proc.user.additionalGids ?? [])],
    rlimits: rlimits(proc),
    fds: { ...opts.fds },
  };
  if (proc.consoleSize !== undefined) plan.consoleSize = { rows: proc.consoleSize.height, cols: proc.consoleSize.width };
  // No process.capabilities means no capabilities (as runc), never "keep root's".
  plan.capabilities = capabilities(proc.capabilities ?? {}, opts.capLastCap);
  if (opts.seccomp !== undefined) plan.seccomp = { flags: opts.seccomp.flags, listenerSocket: opts.seccomp.listenerSocket, program: opts.seccomp.program };
  if (proc.scheduler !== undefined) plan.scheduler = planScheduler(proc.scheduler, '/scheduler');
  if (proc.ioPriority !== undefined) plan.ioPriority = planIoPriority(proc.ioPriority, '/ioPriority');
  // execCPUAffinity.initial is not the process's: exec.ts sets it on hako-init before the
  // cgroup move; final is set by the process once it is in the cgroup.
  const final = planCpuList(proc.execCPUAffinity?.final, '/execCPUAffinity/final');
  if (final !== undefined) plan.cpuAffinity = final;
  if (opts.personality !== undefined) plan.personality = planPersonality(opts.personality);
  if (opts.memoryPolicy !== undefined) plan.memoryPolicy = planMemoryPolicy(opts.memoryPolicy);
  return plan;
}

/**
 * runc's environment (prepareEnv, Go's Setenv): a variable given twice keeps the place of
 * its first entry and the value of its last, so `-e PATH=/bin` replaces the config's PATH.
 * An entry without "=" or with an empty name is refused.
 */
export function dedupEnv(env: readonly string[]): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  env.forEach((kv, i) => {
    const eq = kv.indexOf('=');
    if (eq < 0) throw new HakoError(`invalid environment variable ${JSON.stringify(kv)}: missing '='`, { pointer: `/env/${i}` });
    if (eq === 0) throw new HakoError(`invalid environment variable ${JSON.stringify(kv)}: name cannot be empty`, { pointer: `/env/${i}` });
    const key = kv.slice(0, eq);
    const seen = at.get(key);
    if (seen === undefined) {
      at.set(key, out.length);
      out.push(kv);
    } else {
      out[seen] = kv;
    }
  });
  return out;
}
