// --console-socket: connect to the caller's AF_UNIX socket; hako-init sends the pty master
// over it (one message, one SCM_RIGHTS fd), then our copy is closed.
import type { Socket } from 'node:net';
import { HakoError } from '../errors.js';

export async function connectConsoleSocket(path: string): Promise<Socket> {
  // node:net is loaded only by a call that has a console socket (it is not cheap to load).
  const { connect } = await import('node:net');
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
