// The only module that touches the addon. The build writes the addon and hako-init beside
// the single executable (dist/libexec/hako/hako-<hash>.node, hako-init-<hash>), where they
// are loaded and copied from: the addon dlopen'ed as a file, hako-init copied by the kernel
// into its sealed memfd. The executable embeds both too (see engine.ts), for a brain installed
// alone: then the addon is written to an anonymous file and dlopen'ed through
// /proc/self/fd. In development both are in build/Release.
import { closeSync, constants, existsSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { embeddedAsset, executableDir } from './engine.js';
import { HakoError } from './errors.js';
import type { AddressToAdd, LinkAddress } from './plan/net-devices.js';
import type { SeccompRequest } from './plan/seccomp.js';

/**
 * A D-Bus value as the addon takes it, by its signature: integers as numbers or bigints,
 * d a number, b a boolean, s/o/g strings; arrays and structs as arrays (a dict: an array of
 * [key, value]); a variant as { signature, value }.
 */
export type DbusValue = number | bigint | string | boolean | readonly DbusValue[] | { readonly signature: string; readonly value: DbusValue };

/** A systemd unit property: name, D-Bus signature, value (t: a number or bigint). */
export type UnitProperty =
  | readonly [string, 's', string]
  | readonly [string, 'b', boolean]
  | readonly [string, 't' | 'u', number | bigint]
  | readonly [string, 'as', readonly string[]]
  | readonly [string, 'au' | 'ay', readonly number[]]
  | readonly [string, 'a(ss)', readonly (readonly [string, string])[]]
  /** any other type (the org.systemd.property.* annotations) */
  | readonly [string, string, DbusValue];

export interface Addon {
  version: string;
  /**
   * One of the front's verbs (cpp/front/verbs.cc, the code dist/hako runs): state, list,
   * kill, pause, resume, ps, delete, start. Returns what goes to stdout and stderr; a
   * failure throws its message (code EHAKORECORD: a record version it does not read).
   */
  frontVerb(
    verb: string,
    root: string,
    args: readonly string[],
    opts: { force?: boolean; all?: boolean; quiet?: boolean; format?: string; notifyHost?: string; debug?: boolean },
  ): { stdout: string; stderr: string; log: Array<[string, string]> };
  /**
   * One OCI hook with the runner the front and hako-init use (cpp/common/run_captured.cc):
   * its failure in runc's words (after "error running hook #i: "), or undefined.
   */
  runHook(path: string, args: readonly string[], env: readonly string[], timeoutSeconds: number, cwd: string, state: string): string | undefined;
  /**
   * systemd's manager over the system bus (sd-bus, libsystemd loaded on first use):
   * StartTransientUnit and its job ("exists": UnitExists), StopUnit and its job (a unit not
   * loaded is no error), SetUnitProperties (runtime). A D-Bus error carries dbusName.
   */
  systemdStartUnit(unit: string, properties: readonly UnitProperty[]): 'started' | 'exists';
  systemdStopUnit(unit: string): void;
  systemdSetUnitProperties(unit: string, properties: readonly UnitProperty[]): void;
  /** flock(2); false when nonblocking and the lock is held elsewhere */
  flock(fd: number, exclusive: boolean, nonblocking: boolean): boolean;
  mkfifo(path: string, mode: number): void;
  /** The pid file's content written to tmp, then renamed to path, by a forked child given timeoutMs; undefined once written, else the step that failed (errno) or was still waiting (timedOut). */
  writePidFile(path: string, tmp: string, content: string, timeoutMs: number): { step: 'open' | 'write' | 'close' | 'rename'; errno?: number; timedOut?: true } | undefined;
  /** whether fd is the memfd of a hako-init copy the front started (HAKO_INIT_MEMFD), made close-on-exec */
  frontInitCopy(fd: number): boolean;
  /** whether the copy in fd is done: not empty, and sealed as sealedCopy's */
  isSealedCopy(fd: number): boolean;
  /** a memfd holding bytes, sealed with SEAL_SEAL|SHRINK|GROW|WRITE (and EXEC where known) */
  sealedCopy(name: string, bytes: Uint8Array): number;
  /** the same of the regular file at path (copied by sendfile); undefined when there is no file there */
  sealedCopyOfFile(name: string, path: string): number | undefined;
  /** F_GET_SEALS of fd */
  seals(fd: number): number;
  /** the front's check (cpp/front/host_rootfs.cc): the topmost mount at path in this mountinfo text is a bind of path onto itself */
  topIsSelfBind(mountinfo: string, path: string): boolean;
  /** the front's delete step: detach hako-init's bind of the rootfs (and all below it) if it is there */
  releaseHostRootfs(rootfs: string): void;
  /**
   * A vfork (clone CLONE_VM|CLONE_VFORK) that execs /proc/<our pid>/fd/<exeFd> with argv and an empty environment;
   * the child's fd i is fds[i], it has no other fd, signals at their defaults: hako-init.
   * Returns its pid (waited for with waitpid).
   */
  spawnInit(exeFd: number, argv: readonly string[], fds: readonly number[]): number;
  /** one whole sync frame (type u32 LE, payload) read on a thread of its own; null once the peer closed */
  syncRecv(fd: number): Promise<Buffer | null>;
  /** a connected AF_UNIX stream socket (blocking, close-on-exec); fails as "connect: <strerror>" */
  unixConnect(path: string): number;
  /** shutdown(fd, SHUT_RDWR): a read blocked on the socket ends */
  socketShutdown(fd: number): void;
  /** waitpid(pid, __WALL) on a thread of its own: a child the engine did not spawn (the container's init) */
  waitpid(pid: number): Promise<{ code?: number; signal?: number }>;
  /** receive one SCM_RIGHTS fd on a blocking socket, on a thread of its own */
  recvFd(socket: number): Promise<number>;
  setSubreaper(on: boolean): void;
  /** pipe2(O_CLOEXEC): [read end, write end] */
  pipe(): [number, number];
  /** socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC) */
  socketpair(): [number, number];
  /** cfmakeraw on a terminal; returns the termios to restore */
  makeRaw(fd: number): Buffer;
  restoreTermios(fd: number, saved: Buffer): void;
  getWinsize(fd: number): { rows: number; cols: number };
  setWinsize(fd: number, rows: number, cols: number): void;
  /** an eventfd registered on <memoryDir>/memory.oom_control through cgroup.event_control (cgroup v1) */
  oomEventfd(memoryDir: string): number;
  /**
   * The kernel's cgroup writer lock warmed up for the placement to come (cpp/front/warm.cc):
   * on a thread of its own, write this process into the cgroup.procs of its own cgroup (a
   * move that changes nothing) in a cgroup v1 hierarchy, now and every 3 ms, until
   * cgroupWriterCool() or ms have passed; nothing if a warm-up runs already, where no v1
   * hierarchy is mounted, or where the write is refused.
   */
  cgroupWriterWarm(ms: number): void;
  /** take over the warm-up process the front started (its pid, the write end of its stop pipe); false if they are not that */
  cgroupWriterAdopt(pid: number, stopFd: number): boolean;
  /** the warm-up stops (an adopted process is reaped if it has exited already) */
  cgroupWriterCool(): void;
  /** cgroupWriterCool, then wait for an adopted process to exit */
  cgroupWriterReap(): void;
  /** poll an eventfd for up to timeoutMs on a thread of its own, then read it: its counter, 0 on timeout */
  eventfdWait(fd: number, timeoutMs: number): Promise<number>;
  /** the BPF_PROG_TYPE_CGROUP_DEVICE instructions (struct bpf_insn) for a device state */
  deviceProgram(state: { defaultAllow: boolean; exceptions: readonly { type: string; major: number; minor: number; access: string }[] }): Buffer;
  /** load `program` and attach it to a cgroup v2 directory (BPF_F_ALLOW_MULTI), in place of hako's previous one */
  attachDeviceProgram(cgroupDir: string, program: Buffer): void;
  /** how many of hako's device programs are attached to the cgroup v2 directory */
  deviceProgramCount(cgroupDir: string): number;
  /** pidfd_open(pid, 0) */
  pidfdOpen(pid: number): number;
  /** sched_setaffinity(pid) to exactly these CPUs (each below 1024) */
  setAffinity(pid: number, cpus: readonly number[]): void;
  /**
   * libseccomp (loaded on first use; throws "seccomp: libseccomp.so.2 not found: ..."):
   * the BPF program of request, and the indexes of the rules whose syscall name it does
   * not know (skipped). A failed rule or architecture is named by the error's `rule` or
   * `arch` property (an index into request.rules or request.arches).
   */
  seccompCompile(request: SeccompRequest): { program: Buffer; skipped: number[] };
  /** libseccomp's version ("2.5.4"), API level and the file it was loaded from */
  seccompLibrary(): { version: string; api: number; path?: string };
  /** seccomp_arch_resolve_name("x86_64"): 0 when libseccomp does not know the name */
  seccompArchToken(name: string): number;
  /** connect to a seccomp agent's unix socket and send payload with fd (SCM_RIGHTS), in one message */
  seccompSendToAgent(path: string, payload: string, fd: number): void;
  /** socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC) bound at path ("@name": abstract), the file chmod 0777 */
  notifyListen(path: string): number;
  /**
   * The front's READY forwarding (start's, cpp/front/notify.cc) on a thread of its own:
   * wait on `listening` for a datagram starting with "READY=", send its first line and
   * "MAINPID=<mainPid>" to host; false once the init (pid, start time) is gone first.
   */
  notifyForward(listening: number, host: string, mainPid: number, initPid: number, initStartTime: string): Promise<boolean>;
  /** an unbound datagram socket (close-on-exec) connected to path ("@name": abstract) */
  notifyConnect(path: string): number;
  /** send one datagram on a connected socket */
  notifySend(fd: number, bytes: Uint8Array): void;
  /** wait up to timeoutMs for one datagram (at most 4096 bytes kept), on a thread of its own; null when none came */
  notifyRecv(fd: number, timeoutMs: number): Promise<Buffer | null>;
  /** whether the kernel accepts these SECCOMP_FILTER_FLAG_* bits (no privilege needed) */
  seccompFlagSupported(flags: number): boolean;
  /**
   * Copy from -> to with blocking read/write on a thread of its own until EOF on from (EIO
   * on a terminal master counts as EOF) or until to refuses (EPIPE ends it quietly). The fds
   * named by closeFrom/closeTo are the copy's from then on and closed when it ends.
   * keepAlive (default true) false: the pending copy does not keep the process alive.
   */
  /** a NETLINK_ROUTE socket (close-on-exec) in hako's network namespace, or in the one at nsPath */
  rtnlOpen(nsPath?: string): number;
  /** RTM_GETLINK by name or index; null when there is no such link */
  rtnlLink(sock: number, nameOrIndex: string | number): { index: number; name: string; up: boolean } | null;
  /** the IPv4 and IPv6 addresses of link `index` (flags: IFA_F_*, with IFA_FLAGS; scope: RT_SCOPE_*) */
  rtnlAddresses(sock: number, index: number): LinkAddress[];
  /** set IFF_UP on or off */
  rtnlSetUp(sock: number, index: number, up: boolean): void;
  /** move link `index` into the network namespace at nsPath, named name (one RTM_NEWLINK) */
  rtnlMove(sock: number, index: number, nsPath: string, name: string): void;
  /** add an address (local = address, no peer; scope global unless given); a failure has the kernel's extack message, if any */
  rtnlAddAddress(sock: number, index: number, address: AddressToAdd): void;
  copyFd(from: number, to: number, opts?: { closeFrom?: boolean; closeTo?: boolean; keepAlive?: boolean }): Promise<{ bytes: number; error?: Error }>;
}

export const SEALS = { SEAL: 0x1, SHRINK: 0x2, GROW: 0x4, WRITE: 0x8, EXEC: 0x20 } as const;

// open(dir, O_TMPFILE|O_RDWR): an unnamed file that vanishes with its last fd.
const O_TMPFILE = 0o20000000 | constants.O_DIRECTORY;

let addon: Addon | undefined;

// The names of the addon and hako-init beside the executable: the build's (esbuild
// --define), a hash of their content in each, so a brain never takes another build's.
declare const HAKO_ADDON_FILE: string;
declare const HAKO_INIT_FILE: string;
const ADDON_FILE = typeof HAKO_ADDON_FILE === 'string' ? HAKO_ADDON_FILE : 'hako.node';
const INIT_FILE = typeof HAKO_INIT_FILE === 'string' ? HAKO_INIT_FILE : 'hako-init';

/** Where the addon and the last sealed copy of hako-init came from: a file's path, or "embedded" (self-test reports it). */
export const loadedFrom: { addon?: string; init?: string } = {};

export function native(): Addon {
  addon ??= loadAddon();
  return addon;
}

/** Where the development build keeps the addon and hako-init (one level above src/ and dist/). */
export function devBuildDir(): string {
  // new URL, not node:url's fileURLToPath: that module costs every call 0.2-0.3 ms to load.
  return join(dirname(decodeURIComponent(new URL(import.meta.url).pathname)), '..', 'build', 'Release');
}

function loadAddon(): Addon {
  const dir = executableDir();
  const beside = dir === undefined ? undefined : join(dir, ADDON_FILE);
  if (beside !== undefined && existsSync(beside)) return dlopenFile(beside, '');
  const embedded = embeddedAsset('hako.node');
  if (embedded) {
    const loaded = loadEmbeddedAddon(embedded);
    loadedFrom.addon = 'embedded';
    return loaded;
  }
  return dlopenFile(join(devBuildDir(), 'hako.node'), ' (run npm run build)');
}

function dlopenFile(file: string, hint: string): Addon {
  const mod = { exports: {} as Addon };
  try {
    process.dlopen(mod, file);
  } catch (err) {
    throw new HakoError(`load addon ${file}: ${(err as Error).message}${hint}`, { path: file });
  }
  loadedFrom.addon = file;
  return mod.exports;
}

// Directories tried for the addon's anonymous file, in order. A noexec mount (a hardened
// /dev/shm or /tmp) refuses the executable mapping, so each is tried until dlopen succeeds.
function anonymousFileDirs(): string[] {
  const dirs = ['/dev/shm', process.env.TMPDIR, '/tmp', '/var/tmp', '/run', dirname(process.execPath)];
  return [...new Set(dirs.filter((d): d is string => !!d))];
}

function loadEmbeddedAddon(bytes: Uint8Array): Addon {
  const failures: string[] = [];
  for (const dir of anonymousFileDirs()) {
    let fd = -1;
    try {
      fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o700);
      writeFileSync(fd, bytes); // all of it (a short write on a filling file system)
      const mod = { exports: {} as Addon };
      process.dlopen(mod, `/proc/self/fd/${fd}`);
      return mod.exports;
    } catch (err) {
      failures.push(`${dir}: ${(err as Error).message}`);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
  throw new HakoError(`load the embedded addon from an anonymous file: ${failures.join('; ')}`);
}

/**
 * A sealed, executable memfd copy of hako-init; exec it through /proc/self/fd/N. From the
 * file beside the executable (or in the development build), else from the embedded bytes.
 */
export function sealedInit(): number {
  const addon = native();
  const dir = executableDir();
  const file = dir === undefined ? join(devBuildDir(), 'hako-init') : join(dir, INIT_FILE);
  const front = takeFrontInitCopy();
  if (front !== undefined) {
    if (addon.isSealedCopy(front)) {
      loadedFrom.init = `${file} (copied by the front)`;
      return front;
    }
    closeSync(front);
  }
  const fd = addon.sealedCopyOfFile('hako-init', file);
  if (fd !== undefined) {
    loadedFrom.init = file;
    return fd;
  }
  const embedded = dir === undefined ? undefined : embeddedAsset('hako-init');
  if (embedded) {
    loadedFrom.init = 'embedded';
    return addon.sealedCopy('hako-init', embedded);
  }
  throw new HakoError(`open ${file}: no such file${dir === undefined ? ' (run npm run build)' : ''}`, { path: file });
}

// The sealed copy of hako-init the front had made while this brain started
// (HAKO_INIT_MEMFD="<fd>:<file>", cpp/front/main.cc): taken once, and only a copy of the
// file this build names; see main.ts for when it is taken and released.
let frontInit: number | undefined;

/** From the environment (the engine's children do not inherit it), at the start of a command. */
export function adoptFrontInitCopy(env: NodeJS.ProcessEnv = process.env): void {
  const value = env.HAKO_INIT_MEMFD;
  if (value === undefined) return;
  delete env.HAKO_INIT_MEMFD;
  const m = /^([0-9]{1,9}):(.+)$/.exec(value);
  if (!m || m[2] !== INIT_FILE) return;
  const fd = Number(m[1]);
  if (native().frontInitCopy(fd)) frontInit = fd;
}

function takeFrontInitCopy(): number | undefined {
  const fd = frontInit;
  frontInit = undefined;
  return fd;
}

/** The front's copy, if no launch took it. */
export function releaseFrontInitCopy(): void {
  const fd = takeFrontInitCopy();
  if (fd !== undefined) closeSync(fd);
}
