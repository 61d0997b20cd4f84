// A container's status, derived from the live system on every call (never stored):
// init gone, a zombie, or a different process at its pid -> stopped; exec.fifo present -> created;
// otherwise running; a frozen cgroup comes first: paused (runc's order).
import { accessSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCgroup } from '../cgroups/manager.js';
import { EXEC_FIFO, type ContainerRecord } from './state-store.js';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ProcStat {
  state: string;
  startTime: string;
}

/** The state letter and start time (field 22) of /proc/<pid>/stat, or undefined when there is no such process. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

// comm (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19]
  const state = fields[0];
  const startTime = fields[19];
  if (!state || !startTime) return undefined;
  return { state, startTime };
}

export function initAlive(rec: ContainerRecord): boolean {
  if (rec.pid <= 0) return false;
  const stat = readProcStat(rec.pid);
  if (!stat || stat.startTime !== rec.initStartTime) return false;
  return stat.state !== 'Z' && stat.state !== 'X' && stat.state !== 'x';
}

export function liveStatus(rec: ContainerRecord, dir: string): Status {
  // A record in its early form (intent.ts): creating while its creator lives, else stopped.
  if (rec.creating) {
    const creator = readProcStat(rec.creating.creator.pid);
    const alive = creator !== undefined && creator.startTime === rec.creating.creator.startTime && creator.state !== 'Z' && creator.state !== 'X';
    return alive ? 'creating' : 'stopped';
  }
  if (rec.cgroup && openCgroup(rec.cgroup).isFrozen()) return 'paused';
  if (!initAlive(rec)) return 'stopped';
  try {
    accessSync(join(dir, EXEC_FIFO));
    return 'created';
  } catch {
    return 'running';
  }
}
