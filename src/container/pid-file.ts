// --pid-file: the decimal pid, no newline, written to ".<name>" (O_EXCL) then renamed, as runc.
import { closeSync, constants, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fromSystemError } from '../errors.js';

export function writePidFile(path: string, pid: number): void {
  const tmp = join(dirname(path), `.${basename(path)}`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_SYNC, 0o666);
  } catch (err) {
    throw fromSystemError(err);
  }
  try {
    writeSync(fd, String(pid));
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fromSystemError(err);
  }
}
