// How a container's process (its init, or an exec'd one) gets into its cgroup.
//
// v1 hierarchies: hako moves stage 0 (hako-init, before it reads its plan) by writing its
// pid into cgroup.procs; the process stage 0 clones follows it.
// The cgroup2 hierarchy (v2, or the cgroup2 mount of a hybrid host): the process is born
// in its directory instead. hako-init clones it with clone3(CLONE_INTO_CGROUP); where the
// kernel cannot (no clone3, or one without CLONE_INTO_CGROUP: before 5.7, or a seccomp
// profile that hides clone3) it writes itself into cgroup.procs first, as hako would have.
// Not with a user namespace (made or joined): by the time of the clone stage 0 is root
// of that namespace, and the kernel checks CLONE_INTO_CGROUP with the cloning process's
// credentials, which may not write the host's cgroup.procs (EACCES); hako moves stage 0
// there as in v1.
//
// On cgroup v1 the first write to a cgroup.procs after an idle moment waits for one RCU
// grace period (the writer side of the kernel's cgroup_threadgroup_rwsem: 5-15 ms here),
// and the writes that follow within the next grace period take microseconds; writing the
// hierarchies in parallel does not help. So create, run and exec start that wait at once
// on a thread of the addon's (main.ts: a write of hako itself into its own cgroup, which
// moves nothing), while they load, read the config and spawn hako-init; the first write
// here runs on the engine's thread pool while hako plans the launch (launch.ts), and the
// others follow it. Meanwhile a mkdir of a cgroup waits too (the kernel holds
// cgroup_mutex through the wait): create makes the container's cgroup after the spawn.
import { HakoError } from '../errors.js';
import { native } from '../native.js';
import { addPidToCgroupsAsync } from './cgroupfs.js';
import { uniqueDirs } from './paths.js';

export interface Placement {
  /** the directories hako writes stage 0's pid into (cgroup.procs) before it sends the plan */
  stage0Dirs: string[];
  /** the cgroup2 directory hako-init clones the process into: the plan's cgroup2Dir */
  cloneInto?: string;
}

/**
 * The placement into the cgroup whose directories are `paths` (controller -> directory,
 * "" the cgroup2 one) of a process in a user namespace or not.
 */
export function planPlacement(paths: Record<string, string>, userNamespace: boolean): Placement {
  const cgroup2 = paths[''];
  if (cgroup2 === undefined || userNamespace) return { stage0Dirs: uniqueDirs(paths) };
  return { stage0Dirs: uniqueDirs(paths).filter((dir) => dir !== cgroup2), cloneInto: cgroup2 };
}

/**
 * Moves stage 0 into the placement's stage0Dirs: the first write off the main thread, then
 * the rest; a failure in runc's words (its exec's, the same for create).
 */
export async function placeStage0(placement: Placement, pid: number): Promise<void> {
  if (!(pid > 0)) throw new HakoError(`cannot place pid ${pid} in a cgroup`);
  try {
    await addPidToCgroupsAsync(placement.stage0Dirs, pid);
  } catch (err) {
    if (!(err instanceof HakoError)) throw err;
    throw new HakoError(`unable to start container process: ${err.message}`, err.where);
  } finally {
    // The warm-up main.ts started (if any) is no longer needed.
    native().cgroupWriterCool();
  }
}
