// The entry points the container lifecycle uses: the cgroup a new container gets (checked
// and made), the cgroup of a recorded container, and the clean-up of a failed create.
import { readFileSync, rmdirSync } from 'node:fs';
import { HakoError, fromSystemError } from '../errors.js';
import type { Spec } from '../oci/types.js';
import type { Cgroup, CgroupRecord } from './cgroup.js';
import { removeCgroupTree } from './cgroupfs.js';
import { cgroupLayout, innerPath, layoutPaths, procCgroupFor } from './paths.js';
import { systemdContainerCgroup, type SystemdScope } from './systemd-scope.js';
import { V1Cgroup } from './v1.js';
import { V2Cgroup } from './v2.js';

export type { Cgroup, CgroupRecord } from './cgroup.js';

export function openCgroup(rec: CgroupRecord): Cgroup {
  return rec.driver === 'v2' ? new V2Cgroup(rec.paths) : new V1Cgroup(rec.paths);
}

export interface HostCgroupTexts {
  /** /proc/self/mountinfo */
  mountinfo: string;
  /** /proc/self/cgroup */
  procCgroup: string;
}

export interface ContainerCgroup {
  cgroup: Cgroup;
  /** /proc/self/cgroup as the container's init reads it once placed (for the cgroup mount) */
  procCgroup: string;
  /** the hierarchies `keep` left out (controller, "" cgroup2 -> directory) */
  skipped: Record<string, string>;
  /** the host's layout: v1 (with or without a cgroup2 mount beside) or v2 */
  hostDriver: 'v1' | 'v2';
  /** the systemd driver's unit (--systemd-cgroup), started with the first process (systemd-scope.ts) */
  systemd?: SystemdScope;
}

function readHostTexts(): HostCgroupTexts {
  try {
    return { mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'), procCgroup: readFileSync('/proc/self/cgroup', 'utf8') };
  } catch (err) {
    throw fromSystemError(err);
  }
}

/**
 * The cgroup of a container about to be created, from linux.cgroupsPath (or its id).
 * `systemd` (--systemd-cgroup): the systemd driver's unit and its directories (systemd.ts).
 */
export function containerCgroup(
  spec: Spec,
  id: string,
  systemd: boolean,
  host: HostCgroupTexts = readHostTexts(),
  keep?: (dir: string) => boolean,
): ContainerCgroup {
  // `keep` is given for a rootless container (rootless.ts): the systemd driver refuses those as runc does.
  if (systemd) return systemdContainerCgroup(spec, id, host, keep !== undefined);
  const layout = cgroupLayout(host.mountinfo, host.procCgroup, innerPath(spec.linux?.cgroupsPath, id));
  const skipped: Record<string, string> = {};
  if (keep) {
    // rootless.ts: a hierarchy the user may not use is not joined, and its cgroup mount
    // shows the caller's cgroup there, as runc's rootless mode.
    for (const [controller, p] of Object.entries(layout.placements)) {
      if (keep(p.dir)) continue;
      skipped[controller] = p.dir;
      delete layout.placements[controller];
    }
  }
  const paths = layoutPaths(layout);
  return {
    // No hierarchy at all: an empty v1 set (nothing made, nothing recorded).
    cgroup: layout.driver === 'v2' && paths[''] === undefined ? openCgroup({ driver: 'v1', paths }) : openCgroup({ driver: layout.driver, paths }),
    procCgroup: procCgroupFor(host.procCgroup, layout),
    skipped,
    hostDriver: layout.driver,
  };
}

/** A cgroup a new container may use: none of its processes there, and not frozen. */
export function checkCgroupUsable(cg: Cgroup): void {
  const pids = cg.pids();
  if (pids.length > 0) throw new HakoError(`container's cgroup is not empty: ${pids.length} process(es) found`);
  if (cg.isFrozen()) throw new HakoError("container's cgroup unexpectedly frozen");
}

/**
 * After a failed create: kill what got into the cgroup (only the container's processes
 * can be there, it was empty), remove the container's own directories if this create
 * made them, and the parents it made if nothing else uses them meanwhile.
 */
export function removeFailedCgroup(cg: Cgroup, made: readonly string[]): void {
  try {
    if (cg.pids().length > 0) cg.killAll();
  } catch {
    // best effort: removal below says what is left
  }
  const leaves = new Set(cg.dirs);
  for (const dir of [...made].reverse()) {
    try {
      if (leaves.has(dir)) removeCgroupTree(dir);
      else rmdirSync(dir);
    } catch {
      // a parent another container uses now, or a process that would not die
    }
  }
}
