// The one interface both cgroupfs drivers implement, and what is recorded about a
// container's cgroup in its state (runc's "cgroup_paths").
import { HakoError } from '../errors.js';
import type { LinuxResources } from '../oci/types.js';
import type { CgroupDriver } from './paths.js';
import type { ResourceOptions } from './v1-resources.js';
import type { Stats } from './stats.js';
import type { OomHandlers, OomWatch } from './oom.js';

export interface CgroupRecord {
  driver: CgroupDriver;
  /** controller (v1; "" is the cgroup2 hierarchy of a hybrid host) or "" (v2) -> directory */
  paths: Record<string, string>;
}

export interface Cgroup {
  readonly record: CgroupRecord;
  /** every directory the container's processes are placed in, each once */
  readonly dirs: string[];
  /** the directory whose presence says the cgroup exists */
  readonly probeDir: string;
  /** the directory pause and resume write (v1: the freezer hierarchy's; v2: the one), if any */
  readonly freezerDir: string | undefined;
  /** the cgroup is there (its directory in the hierarchy the processes are listed from) */
  exists(): boolean;
  /** mkdir -p every directory; returns those it made, outermost first */
  create(): string[];
  /** move `pid` (all its threads) into the cgroup */
  place(pid: number): void;
  /** write linux.resources (create: all of them; update: what is given) */
  setResources(resources: LinuxResources, opts?: ResourceOptions): void;
  /** freeze every process, waiting until the kernel reports the cgroup frozen */
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** every pid in the cgroup and its sub-cgroups (host pids) */
  pids(): number[];
  /** send `signal` to every process (frozen meanwhile so none forks away; a paused cgroup stays paused unless SIGKILL) */
  signalAll(signal: number): void;
  /** SIGKILL every process (cgroup.kill where the kernel has it) */
  killAll(): void;
  /** rmdir the cgroup and any sub-cgroups, in every hierarchy */
  destroy(): void;
  /** usage counters in runc's "stats" event shape */
  stats(): Stats;
  /** a counter that grows with every OOM in the cgroup (undefined: no memory controller) */
  oomCount(): bigint | undefined;
  /** be told of every OOM in the cgroup as it happens (undefined: no memory controller) */
  watchOom(h: OomHandlers): OomWatch | undefined;
}

const SIGKILL = 9;

/** Signal every pid, ignoring those that are gone. */
export function signalPids(pids: readonly number[], signal: number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/** kill --all over a freezer: freeze, signal each pid, restore (thaw for SIGKILL so it takes effect). */
export function signalAllFrozen(cg: Pick<Cgroup, 'isFrozen' | 'freeze' | 'thaw' | 'pids'>, signal: number, canFreeze: boolean): void {
  if (!canFreeze) {
    signalPids(cg.pids(), signal);
    return;
  }
  const wasFrozen = cg.isFrozen();
  if (!wasFrozen) cg.freeze();
  try {
    signalPids(cg.pids(), signal);
  } finally {
    if (!wasFrozen || signal === SIGKILL) cg.thaw();
  }
}

/** memory.checkBeforeUpdate: an update may not set the limit below what the container uses now. */
export function checkMemoryBeforeUpdate(r: LinuxResources, opts: ResourceOptions, usage: () => string | undefined): void {
  const limit = r.memory?.limit;
  if (!opts.update || !r.memory?.checkBeforeUpdate || limit === undefined || limit <= 0) return;
  const used = Number(usage());
  if (used > limit) throw new HakoError(`rejecting memory limit ${limit} below current usage ${used}`, { pointer: '/memory/limit' });
}
