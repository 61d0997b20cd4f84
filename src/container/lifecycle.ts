// update and events of a container that exists in the state store. start, kill, delete,
// pause, resume, state, ps and list are the front's (cpp/front/verbs.cc; src/container/verbs.ts).
import { HakoError } from '../errors.js';
import { openCgroup, type Cgroup } from '../cgroups/manager.js';
import { mergeResources } from '../cgroups/merge.js';
import { ROOTLESS_RESOURCES } from '../cgroups/rootless.js';
import { updateScopeProperties } from '../cgroups/systemd-scope.js';
import type { LinuxResources } from '../oci/types.js';
import { containerDir, lockContainerDir, readContainer, writeContainer, type ContainerRecord } from './state-store.js';
import { liveStatus } from './status.js';

function cgroupOf(rec: ContainerRecord): Cgroup | undefined {
  return rec.cgroup ? openCgroup(rec.cgroup) : undefined;
}

/**
 * update: the container's resources with `read()`'s laid over them are written to its
 * cgroup and recorded in its state (device rules only when the update has some).
 * `read` runs once the container is known, as runc reads the new values after loading it.
 */
export function updateContainer(root: string, id: string, read: () => LinuxResources): void {
  readContainer(root, id);
  const unlock = lockContainerDir(root, id);
  try {
    // Read again under the lock: a create holds it until its record is complete.
    updateLocked(root, id, readContainer(root, id), read);
  } finally {
    unlock();
  }
}

function updateLocked(root: string, id: string, rec: ContainerRecord, read: () => LinuxResources): void {
  if (liveStatus(rec, containerDir(root, id)) === 'stopped') throw new HakoError('container not running');
  const update = read();
  const cg = cgroupOf(rec);
  if (!cg) throw new HakoError('container has no cgroup: cannot update its resources');
  const merged = mergeResources(rec.config?.linux?.resources ?? {}, update);
  const { devices, ...rest } = merged;
  if (rec.systemd) updateScopeProperties(rec.systemd, cg.record.driver, update.devices !== undefined ? merged : rest);
  const options = { update: true, ...(rec.systemd ? { skipMissing: true } : {}), ...(rec.rootless ? ROOTLESS_RESOURCES : {}) };
  cg.setResources(update.devices !== undefined ? { ...rest, devices } : rest, options);
  const config = rec.config ?? { ociVersion: rec.ociVersion };
  writeContainer(root, { ...rec, config: { ...config, linux: { ...config.linux, resources: merged } } });
}

/** events: the cgroup of a live container ("container with id X is not running" otherwise). */
export function liveContainerCgroup(root: string, id: string): Cgroup {
  const rec = readContainer(root, id);
  if (liveStatus(rec, containerDir(root, id)) === 'stopped') throw new HakoError(`container with id ${id} is not running`);
  const cg = cgroupOf(rec);
  if (!cg) throw new HakoError('container has no cgroup');
  return cg;
}
