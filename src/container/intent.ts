// Record the intent before making the thing. create writes the container's record in an
// early form (a "creating" key naming the hako process making it, pid 0) before it makes
// anything on the host, with every path it is about to make (the cgroup directories in
// each hierarchy, the notify socket, the rootfs bind in the host's mount namespace; the
// exec fifo is <dir>/exec.fifo); it adds the init's pid as soon as that exists, and
// replaces the record with the complete one at the end. A create killed anywhere in
// between leaves a record the front reads: `state` says "stopped" once the creator is
// gone ("creating" while it lives), and `delete` kills what the create may have started
// (the cgroup's processes, the init) and removes the rest (cpp/front/verbs.cc abandon_create).
import { RECORD_VERSION, writeContainer, type ContainerRecord } from './state-store.js';
import { readProcStat } from './status.js';
import { stopPoint } from './stop-point.js';

/** The fields of the complete record create knows before it makes anything. */
export type Intent = Omit<ContainerRecord, 'version' | 'pid' | 'initStartTime' | 'creating' | 'config' | 'namespacePaths' | 'hooks'>;

/** Writes the early record (the state dir exists and is locked) and returns it. */
export function recordIntent(root: string, intent: Intent): ContainerRecord {
  const early: ContainerRecord = {
    version: RECORD_VERSION,
    ...intent,
    pid: 0,
    initStartTime: '0',
    creating: { creator: { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? '0' } },
  };
  writeContainer(root, early);
  stopPoint('create:intent-recorded');
  return early;
}

/** The early record again, with the init's pid and start time (nothing when the init is already gone). */
export function recordInit(root: string, early: ContainerRecord, initPid: number): void {
  const stat = readProcStat(initPid);
  if (!stat) return;
  writeContainer(root, { ...early, pid: initPid, initStartTime: stat.startTime });
  stopPoint('create:init-recorded');
}
