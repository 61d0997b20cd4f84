// start, kill and delete of a container that exists in the state store.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError } from '../errors.js';
import { releaseExecFifo } from './exec-fifo.js';
import { checkContainerId } from './id.js';
import { STATE_FILE, containerDir, readContainer, removeContainerDir, type ContainerRecord } from './state-store.js';
import { initAlive, liveStatus } from './status.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

export function startContainer(root: string, id: string): ContainerRecord {
  const rec = readContainer(root, id);
  const dir = containerDir(root, id);
  const status = liveStatus(rec, dir);
  if (status === 'stopped') throw new HakoError('cannot start a container that has stopped');
  if (status === 'running') throw new HakoError('cannot start an already running container');
  if (status !== 'created') throw new HakoError(`cannot start a container in the ${status} state`);
  releaseExecFifo(dir, () => initAlive(rec));
  return rec;
}

/** Signal the init; "container not running" when it is gone (suppressed with --all, as runc). */
export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  const rec = readContainer(root, id);
  if (liveStatus(rec, containerDir(root, id)) === 'stopped') {
    if (all) return;
    throw new HakoError('container not running');
  }
  try {
    process.kill(rec.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') {
      if (all) return;
      throw new HakoError('container not running');
    }
    throw err;
  }
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
  if (status !== 'stopped') killAndWait(rec);
  destroy(root, rec);
}

function killAndWait(rec: ContainerRecord): void {
  try {
    process.kill(rec.pid, 'SIGKILL');
  } catch {
    // gone already
  }
  for (let i = 0; i < 1000; i++) {
    if (!initAlive(rec)) return;
    Atomics.wait(pause, 0, 0, 10);
  }
  throw new HakoError('container init still running');
}

/** Remove what the container held on the host. (cgroups and poststop hooks join here later.) */
export function destroy(root: string, rec: ContainerRecord): void {
  removeContainerDir(root, rec.id);
}
