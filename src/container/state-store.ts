// The state store under --root: <root>/<id>/state.json (0600, written atomically) and,
// while created, <root>/<id>/exec.fifo. Reading never takes the container's lock.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import { checkContainerId } from './id.js';

/** What hako keeps about a container. Status is never stored: it is computed live (status.ts). */
export interface ContainerRecord {
  /** the state file's own format version */
  version: 1;
  ociVersion: string;
  id: string;
  /** host pid of the container's init */
  pid: number;
  /** field 22 of /proc/<pid>/stat when init started: guards against pid reuse */
  initStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 with nanoseconds, UTC */
  created: string;
  annotations?: Record<string, string>;
}

export const STATE_FILE = 'state.json';
export const EXEC_FIFO = 'exec.fifo';

export function containerDir(root: string, id: string): string {
  return join(root, id);
}

/** The container's record; "container does not exist" when there is none. */
export function readContainer(root: string, id: string): ContainerRecord {
  checkContainerId(id);
  const file = join(containerDir(root, id), STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new HakoError('container does not exist', { path: file });
    throw fromSystemError(err);
  }
  return parseRecord(text, file);
}

export function parseRecord(text: string, file: string): ContainerRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`${file}: corrupt state: ${(err as Error).message}`, { path: file });
  }
  const rec = value as Partial<ContainerRecord>;
  if (rec?.version !== 1 || typeof rec.id !== 'string' || typeof rec.pid !== 'number' || typeof rec.initStartTime !== 'string') {
    throw new HakoError(`${file}: corrupt state: not a hako state file of version 1`, { path: file });
  }
  return rec as ContainerRecord;
}
