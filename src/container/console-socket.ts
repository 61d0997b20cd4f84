// --console-socket: connect to the caller's AF_UNIX socket; hako-init sends the pty master
// over it (one message, one SCM_RIGHTS fd), then our copy is closed.
import { connect, type Socket } from 'node:net';
import { HakoError } from '../errors.js';

export function connectConsoleSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      sock.pause();
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      reject(new HakoError(`dial ${path}: ${err.message.replace(/^\w+ /, '')}`, { path, syscall: 'connect', errno: err.code }));
    });
  });
}
