// The exec fifo: the container's init blocks opening it for writing until `start` opens it
// for reading and takes the one byte the init writes (start is the front's:
// cpp/front/verbs.cc). Its presence means "created".
import { chmodSync, chownSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError } from '../errors.js';
import { native } from '../native.js';
import { EXEC_FIFO } from './state-store.js';

const O_PATH = 0o10000000;

/** mkfifo exec.fifo 0622, owned by the container's root; returns an O_PATH fd of it for the init. */
// Rootless with subordinate ids, the container's root is not the user: the fifo stays the
// user's, and its mode (0622) lets the init write it all the same.
function chownIfAllowed(path: string, uid: number, gid: number): void {
  try {
    chownSync(path, uid, gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM' || (process.geteuid?.() ?? 0) === 0) throw err;
  }
}

export function makeExecFifo(dir: string, uid: number, gid: number): number {
  const path = join(dir, EXEC_FIFO);
  native().mkfifo(path, 0o622);
  try {
    chmodSync(path, 0o622); // mkfifo's mode went through the umask
    chownIfAllowed(path, uid, gid);
    return openSync(path, O_PATH);
  } catch (err) {
    throw fromSystemError(err);
  }
}
