// The state store under --root: <root>/<id>/state.json (0600, written atomically) and,
// while created, <root>/<id>/exec.fifo. Reading never takes the container's lock.
// state.json is the container record: the contract between the brain (which writes it at
// create, with every decision a later verb needs) and the native front (cpp/front, which
// serves state, start, kill, delete, pause, resume, ps and list from it).
// schemas/container-record.schema.json describes it.
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import type { Spec } from '../oci/types.js';
import type { CgroupRecord } from '../cgroups/cgroup.js';
import type { SystemdRecord } from '../cgroups/systemd.js';
import { native } from '../native.js';
import { checkContainerId } from './id.js';
import { MAX_RECORD_BYTES, MAX_RECORD_DEPTH, excessDepthAt, readInputFile } from '../input-limits.js';

/** The record's format version: the front hands a record of another version to the brain. */
export const RECORD_VERSION = 2;

/** A hook as the front runs it (poststart, poststop). */
export interface RecordHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

/** The container's cgroup: the driver and directories, and what the front needs decided. */
export interface RecordCgroup extends CgroupRecord {
  /** every directory the container's processes are in, each once */
  dirs: string[];
  /** the directory whose presence says the cgroup exists */
  probe: string;
  /** the directory pause and resume write (v1: the freezer hierarchy's; v2: the one) */
  freezer?: string;
}

/** What hako keeps about a container. Status is never stored: it is computed live (status.ts). */
export interface ContainerRecord {
  /** the state file's own format version (RECORD_VERSION; 1 was before the front) */
  version: 1 | 2;
  ociVersion: string;
  id: string;
  /** host pid of the container's init */
  pid: number;
  /** field 22 of /proc/<pid>/stat when init started: guards against pid reuse */
  initStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 with nanoseconds, UTC */
  created: string;
  annotations?: Record<string, string>;
  /** the config the container was created from (hooks, process defaults for exec) */
  config?: Spec;
  /** /proc/<pid>/ns/<type> of the init at create time, for exec and hooks */
  namespacePaths?: Record<string, string>;
  /** the container's cgroup: driver and directories (runc's cgroup_paths) */
  cgroup?: CgroupRecord | RecordCgroup;
  /** a pid namespace of its own (not joined): every process dies with the init, SIGKILL needs no cgroup-wide kill */
  ownPidNamespace?: boolean;
  /** the hooks the front runs (version 2) */
  hooks?: { poststart?: RecordHook[]; poststop?: RecordHook[] };
  /** where start binds the container's notify socket (created with NOTIFY_SOCKET set) */
  notifySocket?: string;
  /** no mount namespace: the rootfs bind hako-init made in the host's, which delete detaches (host-rootfs.ts) */
  hostRootfsBind?: string;
  /** created with --no-new-keyring: an exec'd process joins no session keyring either (runc) */
  noNewKeyring?: boolean;
  /** created by a rootless hako: update writes no device rules either (rootless.ts) */
  rootless?: boolean;
  /** created with --systemd-cgroup: the container's unit (a transient scope), which delete stops */
  systemd?: SystemdRecord;
  /** the record's early form, written before create makes anything (intent.ts); absent once complete */
  creating?: CreatingRecord;
}

/** What an early record adds: who is creating the container (pid 0 until its init exists). */
export interface CreatingRecord {
  /** the hako process making it: while it lives the container is "creating", once gone "stopped" */
  creator: { pid: number; startTime: string };
}

export const STATE_FILE = 'state.json';
export const EXEC_FIFO = 'exec.fifo';

export function containerDir(root: string, id: string): string {
  return join(root, id);
}

/** The container's record; "container does not exist" when there is none. */
export function readContainer(root: string, id: string): ContainerRecord {
  checkContainerId(id);
  const file = join(containerDir(root, id), STATE_FILE);
  let text: string;
  try {
    // As the front reads it (cpp/front/record.cc): never through a symbolic link.
    if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new HakoError(`${file}: corrupt state: not a regular file (a symbolic link)`, { path: file });
    }
    text = readInputFile(file, 'state', MAX_RECORD_BYTES);
  } catch (err) {
    const code = err instanceof HakoError ? err.where.errno : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new HakoError('container does not exist', { path: file });
    // The input reader's "state: <file>: <why>" in the front's words.
    if (err instanceof HakoError && err.message.startsWith(`state: ${file}: `)) {
      throw new HakoError(`${file}: corrupt state: ${err.message.slice(`state: ${file}: `.length)}`, err.where);
    }
    throw err;
  }
  return parseRecord(text, file);
}

export function parseRecord(text: string, file: string): ContainerRecord {
  let value: unknown;
  try {
    if (excessDepthAt(text, MAX_RECORD_DEPTH) >= 0) throw new Error(`exceeded max depth: more than ${MAX_RECORD_DEPTH} nested arrays and objects`);
    value = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`${file}: corrupt state: ${(err as Error).message}`, { path: file });
  }
  const rec = value as Partial<ContainerRecord>;
  if ((rec?.version !== 1 && rec?.version !== RECORD_VERSION) || typeof rec.id !== 'string' || typeof rec.pid !== 'number' || typeof rec.initStartTime !== 'string') {
    throw new HakoError(`${file}: corrupt state: not a hako state file of version 1 or 2`, { path: file });
  }
  return rec as ContainerRecord;
}

/** <root> (0700) and a new <root>/<id> (0711); "container with given ID already exists" if it is there. */
export function makeContainerDir(root: string, id: string): string {
  checkContainerId(id);
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fromSystemError(err);
  }
  const dir = containerDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new HakoError('container with given ID already exists', { path: dir });
    throw fromSystemError(err);
  }
  return dir;
}

/** state.json written to a temp file, then renamed over the old one (the state root is a tmpfs: no fsync). */
export function writeContainer(root: string, rec: ContainerRecord): void {
  const dir = containerDir(root, rec.id);
  const tmp = join(dir, `.state-${process.pid}`);
  const text = JSON.stringify(rec);
  // What readContainer would refuse is not written (the config counts for most of it).
  if (Buffer.byteLength(text) > MAX_RECORD_BYTES) {
    throw new HakoError(`container record of ${Buffer.byteLength(text)} bytes: larger than the limit of ${MAX_RECORD_BYTES} bytes`);
  }
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      // All of it: write(2) on a filling file system writes what fits and returns the
      // count; writeSync would stop there and the record be renamed in cut short.
      writeFileSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, STATE_FILE));
  } catch (err) {
    rmSync(tmp, { force: true });
    // A failed write(2) carries no path ("write: no space left on device"): name the file.
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e === 'object' && e.syscall === 'write' && !e.path) e.path = tmp;
    throw fromSystemError(err);
  }
}

/**
 * The container's lock: flock(LOCK_EX) on its state directory, as the front's verbs take
 * it (cpp/front/verbs.cc DirLock) while they change the container. create holds it from
 * making the directory until the record is written, update while it rewrites the record;
 * readers take none (the record is replaced by rename). Returns the release.
 */
export function lockContainerDir(root: string, id: string): () => void {
  const dir = containerDir(root, id);
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    throw fromSystemError(err);
  }
  try {
    native().flock(fd, true, false);
  } catch (err) {
    closeSync(fd);
    throw new HakoError(`flock ${dir}: ${(err as Error).message}`, { path: dir, syscall: 'flock' });
  }
  return () => closeSync(fd);
}

export function removeContainerDir(root: string, id: string): void {
  rmSync(containerDir(root, id), { recursive: true, force: true });
}

/** The ids under root (every subdirectory); [] when root does not exist. */
export function listContainerIds(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(err);
  }
}
