// NOTIFY_SOCKET (systemd Type=notify units running a container), as runc 1.1.5 does it:
// - create/run with NOTIFY_SOCKET set: <state dir>/notify/ (0755) is bind-mounted
//   read-only (nosuid, nodev, noexec) at /run/notify, and the process gets
//   NOTIFY_SOCKET=/run/notify/notify.sock;
// - start (the front's, cpp/front/notify.cc) and run (here) with NOTIFY_SOCKET set: notify.sock is bound there (0777) before the
//   process is released; once released, hako connects to the host's socket, waits for a
//   datagram starting with "READY=" and forwards its first line, then "MAINPID=<pid>",
//   each as its own datagram ending in "\n". Other datagrams are dropped. The wait ends
//   without forwarding when the init is gone.
import { closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import type { Spec } from '../oci/types.js';
import { native } from '../native.js';
import type { ContainerRecord } from './state-store.js';
import { initAlive } from './status.js';

/** The directory in the container the state dir's notify/ is mounted on. */
export const NOTIFY_DIR_IN_CONTAINER = '/run/notify';
const NOTIFY_DIR = 'notify';
const NOTIFY_SOCK = 'notify.sock';
/** How often, while no datagram comes, the init's liveness is checked (runc: 100 ms). */
const LIVENESS_MS = 100;

/** The host's socket from the environment hako runs in; unset or empty: none. */
export function hostNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.NOTIFY_SOCKET || undefined;
}

/** Where the socket the container sends to is bound, on the host. */
export function notifySocketPath(stateDir: string): string {
  return join(stateDir, NOTIFY_DIR, NOTIFY_SOCK);
}

/**
 * The spec the container runs with: the state dir's notify/ mounted at /run/notify (after
 * the bundle's mounts), NOTIFY_SOCKET pointing into it (in place of one the bundle set).
 */
export function withNotifySocket(spec: Spec, stateDir: string): Spec {
  const env = (spec.process?.env ?? []).filter((e) => !e.startsWith('NOTIFY_SOCKET='));
  env.push(`NOTIFY_SOCKET=${NOTIFY_DIR_IN_CONTAINER}/${NOTIFY_SOCK}`);
  const mount = {
    destination: NOTIFY_DIR_IN_CONTAINER,
    source: join(stateDir, NOTIFY_DIR),
    options: ['bind', 'nosuid', 'noexec', 'nodev', 'ro'],
  };
  return { ...spec, mounts: [...(spec.mounts ?? []), mount], process: { ...spec.process!, env } };
}

/** <state dir>/notify, 0755: made by create, before the init mounts it. */
export function makeNotifyDir(stateDir: string): void {
  const dir = join(stateDir, NOTIFY_DIR);
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    throw fromSystemError(err, dir);
  }
}

/** Bind the container's socket; the fd is close-on-exec. Fails when create made no notify/. */
export function listenNotifySocket(stateDir: string): number {
  const path = notifySocketPath(stateDir);
  try {
    return native().notifyListen(path);
  } catch (err) {
    throw new HakoError(`listen unixgram ${path}: ${(err as Error).message}`, { path });
  }
}

/**
 * The line to forward for one datagram: its first line when the datagram starts with
 * "READY=" (runc looks at the start of the datagram, and sends the first line), else none.
 */
export function readyLine(datagram: Uint8Array): string | undefined {
  const text = Buffer.from(datagram).toString('latin1');
  if (!text.startsWith('READY=')) return undefined;
  const end = text.indexOf('\n');
  return end < 0 ? text : text.slice(0, end);
}

/** The datagrams the host socket gets for a READY line: the line, then the main pid. */
export function forwardedMessages(line: string, mainPid: number): string[] {
  return [`${line}\n`, `MAINPID=${mainPid}\n`];
}

/**
 * Connect to the host's socket (an error when that fails), then wait on `listening` for
 * READY and forward it with MAINPID=mainPid. Once `alive()` is false, what is still queued
 * is looked at (a READY sent just before the init exited counts), then it returns false.
 * `listening` stays open (the caller closes it).
 */
export async function forwardReady(listening: number, host: string, mainPid: number, alive: () => boolean): Promise<boolean> {
  const out = connectHost(host);
  try {
    let initGone = false;
    for (;;) {
      const datagram = await native().notifyRecv(listening, initGone ? 0 : LIVENESS_MS);
      const line = datagram ? readyLine(datagram) : undefined;
      if (line !== undefined) {
        for (const msg of forwardedMessages(line, mainPid)) sendHost(out, host, msg);
        return true;
      }
      if (initGone && !datagram) return false;
      initGone ||= !alive();
    }
  } finally {
    closeSync(out);
  }
}

function connectHost(host: string): number {
  try {
    return native().notifyConnect(host);
  } catch (err) {
    throw new HakoError(`dial unixgram ${host}: ${(err as Error).message}`, { path: host });
  }
}

function sendHost(fd: number, host: string, msg: string): void {
  try {
    native().notifySend(fd, Buffer.from(msg, 'latin1'));
  } catch (err) {
    throw new HakoError(`write unixgram ${host}: ${(err as Error).message}`, { path: host });
  }
}

/** run's wait: errors (an unreachable host socket) are ignored, as runc's run ignores them. */
export async function forwardReadyQuietly(listening: number, host: string, mainPid: number, rec: ContainerRecord): Promise<void> {
  try {
    await forwardReady(listening, host, mainPid, () => initAlive(rec));
  } catch {
    // runc's run: `_ = notifySocket.run(pid)`
  }
}
