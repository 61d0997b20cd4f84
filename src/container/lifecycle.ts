// start, kill, delete, pause and resume of a container that exists in the state store.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError } from '../errors.js';
import { openCgroup, type Cgroup } from '../cgroups/manager.js';
import { mergeResources } from '../cgroups/merge.js';
import type { LinuxResources } from '../oci/types.js';
import { releaseExecFifo } from './exec-fifo.js';
import { hasHooks, hookState, runHooks } from './hooks.js';
import { releaseHostRootfs } from './host-rootfs.js';
import { checkContainerId } from './id.js';
import { STATE_FILE, containerDir, readContainer, removeContainerDir, writeContainer, type ContainerRecord } from './state-store.js';
import { initAlive, liveStatus, type Status } from './status.js';

const pause = new Int32Array(new SharedArrayBuffer(4));
const SIGKILL = 9;

function cgroupOf(rec: ContainerRecord): Cgroup | undefined {
  return rec.cgroup ? openCgroup(rec.cgroup) : undefined;
}

/** A pid namespace of its own (not joined by path): every process in it dies with the init. */
function hasOwnPidNamespace(rec: ContainerRecord): boolean {
  return (rec.config?.linux?.namespaces ?? []).some((ns) => ns.type === 'pid' && !ns.path);
}

/** `beforeRelease` runs once the container is known to be created, before its process is released. */
export function startContainer(root: string, id: string, beforeRelease?: (dir: string) => void): ContainerRecord {
  const rec = readContainer(root, id);
  const dir = containerDir(root, id);
  const status = liveStatus(rec, dir);
  if (status === 'stopped') throw new HakoError('cannot start a container that has stopped');
  if (status === 'running') throw new HakoError('cannot start an already running container');
  if (status !== 'created') throw new HakoError(`cannot start a container in the ${status} state`);
  beforeRelease?.(dir);
  releaseExecFifo(dir, () => initAlive(rec));
  runPoststart(rec);
  return rec;
}

/**
 * poststart (runtime-spec 1.3, runc main): once the process was released, in hako's
 * namespaces, status "running" with the host pid. A failure kills the container and
 * fails start.
 */
function runPoststart(rec: ContainerRecord): void {
  if (!hasHooks(rec.config, 'poststart')) return;
  try {
    runHooks('poststart', rec.config!.hooks!.poststart, hookState(rec.id, rec.bundle, rec.config, 'running', rec.pid));
  } catch (err) {
    try {
      signalContainer(rec, 'running', SIGKILL);
    } catch {
      // gone already
    }
    throw err;
  }
}

/**
 * Signal the init; "container not running" when it is gone. With --all (runc 1.1), every
 * process in the cgroup, the container stopped or not, and no error when nothing is left.
 */
export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  const rec = readContainer(root, id);
  const status = liveStatus(rec, containerDir(root, id));
  const cg = cgroupOf(rec);
  if (all && cg) {
    if (cg.exists()) cg.signalAll(signal);
    return;
  }
  if (status === 'stopped') {
    if (all) return;
    throw new HakoError('container not running');
  }
  try {
    signalContainer(rec, status, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
      if (all) return;
      throw new HakoError('container not running');
    }
    throw err;
  }
}

/**
 * A signal to a live container. SIGKILL to one without a pid namespace of its own kills
 * its whole cgroup (nothing else would end the other processes); SIGKILL to a paused one
 * thaws it, or the kill would wait for resume.
 */
function signalContainer(rec: ContainerRecord, status: Status, signal: number): void {
  const cg = cgroupOf(rec);
  if (signal === SIGKILL && cg && !hasOwnPidNamespace(rec) && cg.exists()) cg.killAll();
  process.kill(rec.pid, signal);
  if (signal === SIGKILL && status === 'paused' && cg) cg.thaw();
}

/** pause: freeze every process of a created or running container. */
export function pauseContainer(root: string, id: string): void {
  const rec = readContainer(root, id);
  const status = liveStatus(rec, containerDir(root, id));
  if (status !== 'running' && status !== 'created') throw new HakoError('container not running');
  const cg = cgroupOf(rec);
  if (!cg) throw new HakoError('container has no cgroup: cannot pause it');
  cg.freeze();
}

/** resume: thaw a paused container. */
export function resumeContainer(root: string, id: string): void {
  const rec = readContainer(root, id);
  if (liveStatus(rec, containerDir(root, id)) !== 'paused') throw new HakoError('container not paused');
  cgroupOf(rec)!.thaw();
}

/**
 * update: the container's resources with `read()`'s laid over them are written to its
 * cgroup and recorded in its state (device rules only when the update has some).
 * `read` runs once the container is known, as runc reads the new values after loading it.
 */
export function updateContainer(root: string, id: string, read: () => LinuxResources): void {
  const rec = readContainer(root, id);
  if (liveStatus(rec, containerDir(root, id)) === 'stopped') throw new HakoError('container not running');
  const update = read();
  const cg = cgroupOf(rec);
  if (!cg) throw new HakoError('container has no cgroup: cannot update its resources');
  const merged = mergeResources(rec.config?.linux?.resources ?? {}, update);
  const { devices, ...rest } = merged;
  cg.setResources(update.devices !== undefined ? { ...rest, devices } : rest, { update: true });
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

/** The host pids of every process in the container's cgroup. */
export function containerPids(root: string, id: string): number[] {
  const rec = readContainer(root, id);
  const cg = cgroupOf(rec);
  if (!cg) return liveStatus(rec, containerDir(root, id)) === 'stopped' ? [] : [rec.pid];
  return cg.pids().sort((a, b) => a - b);
}

/**
 * delete: a stopped container is destroyed; a created one is killed first; a running
 * or paused one only with --force (SIGKILL, then up to 10 s for it to go).
 * A state dir without state.json (an aborted create) is removed either way.
 */
export function deleteContainer(root: string, id: string, force: boolean): void {
  checkContainerId(id);
  const dir = containerDir(root, id);
  if (!existsSync(join(dir, STATE_FILE))) {
    removeContainerDir(root, id);
    if (force) return;
    throw new HakoError('container does not exist');
  }
  const rec = readContainer(root, id);
  const status = liveStatus(rec, dir);
  if (status === 'running' || status === 'paused') {
    if (!force) throw new HakoError(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status !== 'stopped') killAndWait(rec, status);
  destroy(root, rec);
}

function killAndWait(rec: ContainerRecord, status: Status): void {
  try {
    signalContainer(rec, status, SIGKILL);
  } catch {
    // gone already
  }
  for (let i = 0; i < 1000; i++) {
    if (!initAlive(rec)) return;
    Atomics.wait(pause, 0, 0, 10);
  }
  throw new HakoError('container init still running');
}

/**
 * Remove what the container held on the host, in runc's order: without a pid namespace of
 * its own, SIGKILL what is left in its cgroup; remove the cgroup; without a mount
 * namespace, detach its mounts from the host (runc leaves them); remove the state dir
 * (also when the cgroup could not be removed, whose error is reported then); then the
 * poststop hooks.
 */
export function destroy(root: string, rec: ContainerRecord): void {
  const cg = cgroupOf(rec);
  let failure: unknown;
  if (cg) {
    try {
      if (!hasOwnPidNamespace(rec) && cg.exists()) cg.killAll();
      cg.destroy();
    } catch (err) {
      failure = err;
    }
  }
  try {
    releaseHostRootfs(rec.config, rec.rootfs);
  } catch (err) {
    failure ??= err;
  }
  removeContainerDir(root, rec.id);
  // poststop: after everything is gone (status "stopped", no pid); its failure is
  // reported once the cleanup is done (runc >= 1.2: delete exits 1).
  if (hasHooks(rec.config, 'poststop')) {
    try {
      runHooks('poststop', rec.config!.hooks!.poststop, hookState(rec.id, rec.bundle, rec.config, 'stopped'));
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure) throw failure;
}
