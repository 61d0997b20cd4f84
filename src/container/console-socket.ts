// --console-socket: connect to the caller's AF_UNIX socket; hako-init sends the pty master
// over it (one message, one SCM_RIGHTS fd), then our copy is closed.
import { HakoError } from '../errors.js';
import { native } from '../native.js';
import { errnoText } from './sync.js';

/** The connected socket's fd (close-on-exec), as runc words a failure: "dial unix <path>: connect: <reason>". */
export function connectConsoleSocket(path: string): number {
  try {
    return native().unixConnect(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = typeof e.errno === 'number' ? `${e.syscall ?? 'connect'}: ${errnoText(e.errno)}` : e.message;
    throw new HakoError(`dial unix ${path}: ${why}`, { path, syscall: 'connect', errno: e.code });
  }
}
