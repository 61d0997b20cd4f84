// A host-side sd_notify listener for the NOTIFY_SOCKET tests: what systemd would be. A
// python3 program (independent of hako's addon) binds an AF_UNIX datagram socket and
// prints each datagram it receives with the CLOCK_MONOTONIC time it got it (comparable with
// process.hrtime.bigint(): "received before the runtime's exit was seen" is an ordering, a
// causal one, not a timing). The test reads them in order. Killed at teardown.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Teardownable } from './runtime.js';

const LISTENER_PY = String.raw`
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
while True:
    data = s.recv(65536)
    at = time.monotonic_ns()
    print(json.dumps({"data": data.decode("latin-1"), "at": str(at)}), flush=True)
`;

export interface NotifyListener {
  /** The socket's path: the NOTIFY_SOCKET to give the runtime. */
  socketPath: string;
  /** Every datagram received so far, in order. */
  received: string[];
  /** When each was received (CLOCK_MONOTONIC ns, as process.hrtime.bigint()). */
  receivedAt: bigint[];
  /** Stops the listener; resolves once it has exited (and was reaped). */
  close(): Promise<void>;
  /** Resolves once `count` datagrams were received (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
}

/** Starts the listener on `<dir>/<name>`; the socket file goes with `dir`. */
export async function notifyListener(t: Teardownable, dir: string, name = 'host-notify.sock'): Promise<NotifyListener> {
  const socketPath = path.join(dir, name);
  const child = spawn('python3', ['-c', LISTENER_PY, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const received: string[] = [];
  const receivedAt: bigint[] = [];
  const watchers: Array<(data: string) => void> = [];
  let stderr = '';
  let buffered = '';
  let listening: () => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    listening = resolve;
    child.once('exit', (code) => reject(new Error(`notify listener exited (${code}): ${stderr}`)));
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as { listening?: boolean; data?: string; at?: string };
      buffered = buffered.slice(nl + 1);
      if (line.listening) listening();
      if (line.data !== undefined) {
        received.push(line.data);
        receivedAt.push(BigInt(line.at!));
        watchers.forEach((w) => w(line.data!));
      }
    }
  });
  await started;
  return {
    socketPath,
    received,
    receivedAt,
    close() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      return exited;
    },
    waitFor(count, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        if (received.length >= count) return resolve([...received]);
        const timer = setTimeout(() => reject(new Error(`notify listener: ${received.length} of ${count} datagrams: ${JSON.stringify(received)}`)), timeoutMs);
        watchers.push(() => {
          if (received.length < count) return;
          clearTimeout(timer);
          resolve([...received]);
        });
      });
    },
  };
}
