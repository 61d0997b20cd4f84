// The exec fifo: the container's init blocks opening it for writing until `start` opens it
// for reading and takes the one byte the init writes. Its presence means "created".
import { chmodSync, chownSync, closeSync, constants, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import { native } from '../native.js';
import { EXEC_FIFO } from './state-store.js';

const O_PATH = 0o10000000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** mkfifo exec.fifo 0622, owned by the container's root; returns an O_PATH fd of it for the init. */
export function makeExecFifo(dir: string, uid: number, gid: number): number {
  const path = join(dir, EXEC_FIFO);
  native().mkfifo(path, 0o622);
  try {
    chmodSync(path, 0o622); // mkfifo's mode went through the umask
    chownSync(path, uid, gid);
    return openSync(path, O_PATH);
  } catch (err) {
    throw fromSystemError(err);
  }
}

/**
 * Release a created container: open the fifo for reading (non-blocking, so a dead init
 * cannot hang us), wait for the init's byte while checking that it lives, then remove the fifo.
 */
export function releaseExecFifo(dir: string, initAlive: () => boolean): void {
  const path = join(dir, EXEC_FIFO);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HakoError('cannot start an already running container');
    throw fromSystemError(err);
  }
  try {
    for (let waited = 0; !readInitByte(fd); waited++) {
      if (!initAlive()) {
        // The init may have written its byte, exec'd and exited between that read and this
        // check (a short-lived process on a busy machine): the byte, not the init, decides.
        if (readInitByte(fd)) break;
        throw new HakoError('cannot start a container that has stopped');
      }
      Atomics.wait(pause, 0, 0, waited < 100 ? 1 : 10);
    }
  } finally {
    closeSync(fd);
  }
  rmSync(path, { force: true });
}

/** Whether the init's byte was read; not yet: no writer has opened the fifo (read 0) or it has not written (EAGAIN). */
function readInitByte(fd: number): boolean {
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, null) === 1;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw fromSystemError(err);
    return false;
  }
}
