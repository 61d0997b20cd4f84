// NOTIFY_SOCKET (systemd Type=notify units running a container), as runc 1.1.5 does it:
// - create/run with NOTIFY_SOCKET set: <state dir>/notify/ (0755) is bind-mounted
//   read-only (nosuid, nodev, noexec) at /run/notify, and the process gets
//   NOTIFY_SOCKET=/run/notify/notify.sock;
// - start and run with NOTIFY_SOCKET set: notify.sock is bound there (0777) before the
//   process is released; once released, hako connects to the host's socket, waits for a
//   datagram starting with "READY=" and forwards its first line, then "MAINPID=<pid>",
//   each as its own datagram ending in "\n". Other datagrams are dropped. The wait ends
//   without forwarding when the init is gone. One implementation, the front's
//   (cpp/front/notify.cc): start's, and run's through the addon.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import type { Spec } from '../oci/types.js';
import { native } from '../native.js';
import type { ContainerRecord } from './state-store.js';

/** The directory in the container the state dir's notify/ is mounted on. */
export const NOTIFY_DIR_IN_CONTAINER = '/run/notify';
const NOTIFY_DIR = 'notify';
const NOTIFY_SOCK = 'notify.sock';

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
    // the front's words: "listen unixgram <path>: bind <path>: <reason>"
    throw new HakoError((err as Error).message, { path });
  }
}

/**
 * Wait on `listening` for READY and forward it with MAINPID=mainPid to host (the front's
 * forward_ready, on a thread of the addon's): false once the init is gone first (what is
 * still queued then is looked at). Rejects when the host socket cannot be reached.
 * `listening` stays open (the caller closes it).
 */
export async function forwardReady(listening: number, host: string, mainPid: number, init: Pick<ContainerRecord, 'pid' | 'initStartTime'>): Promise<boolean> {
  try {
    return await native().notifyForward(listening, host, mainPid, init.pid, init.initStartTime);
  } catch (err) {
    throw new HakoError((err as Error).message, { path: host });
  }
}

/** run's wait: errors (an unreachable host socket) are ignored, as runc's run ignores them. */
export async function forwardReadyQuietly(listening: number, host: string, mainPid: number, rec: ContainerRecord): Promise<void> {
  try {
    await forwardReady(listening, host, mainPid, rec);
  } catch {
    // runc's run: `_ = notifySocket.run(pid)`
  }
}
