// --pidfd-socket (runc >= 1.2): one message on a new connection to the caller's socket,
// with a name as its data ("standard" for a container's init, "setns" for an exec'd
// process) and the pidfd of the process as its one SCM_RIGHTS fd. A failure kills the
// process, which nobody could then manage.
import { closeSync } from 'node:fs';
import { HakoError } from '../errors.js';
import { native } from '../native.js';

export async function sendPidfd(path: string, pid: number, name: 'standard' | 'setns'): Promise<void> {
  let fd = -1;
  try {
    fd = native().pidfdOpen(pid);
    // The addon's one "connect and send one fd with a payload" (the seccomp agent's handover).
    native().seccompSendToAgent(path, name, fd);
  } catch (err) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    await native().waitpid(pid).catch(() => undefined);
    throw new HakoError(`send the pidfd to ${path}: ${(err as Error).message}`, { path });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
