// --pid-file: the decimal pid, no newline, written to ".<name>" (O_EXCL) then renamed, as runc.
// Bounded: a file system that never answers (frozen, a hung NFS server) holds runc for as
// long as it does, in an open(2) that not even SIGKILL ends. hako gives it PID_FILE_TIMEOUT_MS
// and then fails naming the file; the caller cleans up the container as for any failure.
import { basename, dirname, join } from 'node:path';
import { HakoError } from '../errors.js';
import { native } from '../native.js';
import { errnoText } from './sync.js';

/** How long the file system has to take the pid file. */
export const PID_FILE_TIMEOUT_MS = 10_000;

export function writePidFile(path: string, pid: number): void {
  const tmp = join(dirname(path), `.${basename(path)}`);
  const failed = native().writePidFile(path, tmp, String(pid), PID_FILE_TIMEOUT_MS);
  if (!failed) return;
  const subject = failed.step === 'rename' ? `rename ${tmp} ${path}` : `${failed.step} ${tmp}`;
  if (failed.timedOut) {
    throw new HakoError(`${subject}: the file system did not answer in ${PID_FILE_TIMEOUT_MS / 1000} s (frozen or hung?); pid file ${path} not written`, { path, syscall: failed.step, errno: 'ETIMEDOUT' });
  }
  const errno = failed.errno ?? 5;
  const code = errnoName(errno);
  throw new HakoError(`${subject}: ${errnoText(errno)}`, { path: failed.step === 'rename' ? path : tmp, syscall: failed.step, errno: code });
}

function errnoName(errno: number): string {
  try {
    return process.getBuiltinModule('node:util').getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}
