// Cgroups for a rootless hako, as runc's rootless mode has them: the hierarchies the user
// may write (a delegated cgroup2 subtree, a v1 directory chowned to them) are used, the
// others left out without a word, unless the config asks for a limit there: then an error
// naming the limit. Device rules are not applied (runc ignores the devices cgroup too:
// the user namespace is what keeps the container from the host's devices).
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HakoError } from '../errors.js';
import type { LinuxResources } from '../oci/types.js';
import { v1ResourceWrites, type ResourceOptions } from './v1-resources.js';
import { v2ResourceWrites } from './v2-resources.js';

/** Where a resource section of the config is, by the v1 controller or v2 file prefix that applies it. */
const LIMIT_POINTER: Readonly<Record<string, string>> = {
  memory: '/linux/resources/memory',
  cpu: '/linux/resources/cpu',
  cpuset: '/linux/resources/cpu',
  pids: '/linux/resources/pids',
  blkio: '/linux/resources/blockIO',
  io: '/linux/resources/blockIO',
  hugetlb: '/linux/resources/hugepageLimits',
  net_cls: '/linux/resources/network',
  net_prio: '/linux/resources/network',
  rdma: '/linux/resources/rdma',
};

/** Whether the caller may make (or use) the cgroup directory `dir` and move processes into it. */
export function mayUseCgroupDir(dir: string): boolean {
  const can = (path: string, mode: number) => {
    try {
      accessSync(path, mode);
      return true;
    } catch {
      return false;
    }
  };
  if (existsSync(dir)) return can(dir, constants.W_OK | constants.X_OK) && can(join(dir, 'cgroup.procs'), constants.W_OK);
  let parent = dirname(dir);
  while (!existsSync(parent) && parent !== dirname(parent)) parent = dirname(parent);
  return can(parent, constants.W_OK | constants.X_OK);
}

/**
 * A limit the config sets in a hierarchy a rootless hako left out (`skipped`, from
 * containerCgroup with mayUseCgroupDir) is refused before anything is made, with runc's
 * words and the limit's pointer. Device rules are not counted: they are not applied.
 */
export function checkRootlessLimits(driver: 'v1' | 'v2', skipped: Record<string, string>, resources: LinuxResources | undefined): void {
  const none = { read: () => undefined };
  if (driver === 'v2') {
    if (skipped[''] === undefined) return;
    for (const w of v2ResourceWrites(resources ?? {}, none, ROOTLESS_RESOURCES)) {
      const kind = w.file.split('.')[0]!;
      throw new HakoError(`cannot set ${kind} limit: container could not join or create cgroup (${skipped['']} is not the user's)`, {
        pointer: LIMIT_POINTER[kind] ?? '/linux/resources',
      });
    }
    return;
  }
  for (const w of v1ResourceWrites(resources ?? {}, none, ROOTLESS_RESOURCES)) {
    const dir = skipped[w.controller];
    if (dir === undefined) continue;
    throw new HakoError(`cannot set ${w.controller} limit: container could not join or create cgroup (${dir} is not the user's)`, {
      pointer: LIMIT_POINTER[w.controller] ?? '/linux/resources',
    });
  }
}

/** How a rootless hako sets resources: without device rules. */
export const ROOTLESS_RESOURCES: ResourceOptions = { skipDevices: true };
