// create: validate the bundle, make the state dir and exec fifo, launch the init, record
// the container, write the pid file. A failure leaves nothing behind.
import { closeSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import { loadBundleConfig } from '../oci/load.js';
import { semanticWarnings } from '../oci/semantic.js';
import { formatProblem } from '../oci/validate.js';
import type { Spec } from '../oci/types.js';
import { OCI_VERSION } from '../oci/default-spec.js';
import { native } from '../native.js';
import { checkCgroupUsable, containerCgroup, removeFailedCgroup, type Cgroup, type ContainerCgroup } from '../cgroups/manager.js';
import { planPlacement } from '../cgroups/placement.js';
import { ROOTLESS_RESOURCES, checkRootlessLimits, mayUseCgroupDir } from '../cgroups/rootless.js';
import { checkRootlessMappings } from './rootless.js';
import { startScope, stopScopeQuietly } from '../cgroups/systemd-scope.js';
import { connectConsoleSocket } from './console-socket.js';
import { makeExecFifo } from './exec-fifo.js';
import { checkContainerId } from './id.js';
import { hookState, runHooks } from './hooks.js';
import { releaseHostRootfs, setUpInHostMountNamespace } from './host-rootfs.js';
import { killAndReap, launchInit, type Launched } from './launch.js';
import { netDevicesFor } from './net-devices.js';
import { makeNotifyDir, notifySocketPath, withNotifySocket } from './notify-socket.js';
import { writePidFile } from './pid-file.js';
import { preservedFds } from './preserved-fds.js';
import { sendPidfd } from './pidfd-socket.js';
import { recordInit, recordIntent } from './intent.js';
import { stopPoint } from './stop-point.js';
import { lockContainerDir, makeContainerDir, removeContainerDir, writeContainer, type ContainerRecord, type RecordCgroup, type RecordHook } from './state-store.js';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  /** absolute already (made so before anything else, as runc) */
  pidFile?: string;
  /** as given; a relative path is taken from the bundle */
  consoleSocket?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** false for a foreground run: the container gets new pipes instead of hako's stdio */
  detach: boolean;
  /** --debug log lines */
  debug?: (msg: string) => void;
  /** with --debug: what the config asks for that has no effect (validate's warnings) */
  warn?: (msg: string) => void;
  /** --pidfd-socket, absolute: the init's pidfd is sent there ("standard") */
  pidfdSocket?: string;
  /** --systemd-cgroup */
  systemdCgroup?: boolean;
  /** --rootless (auto: not root): only the cgroups the user may use (cgroups/rootless.ts) */
  rootless?: boolean;
  /** the host's NOTIFY_SOCKET: the container gets a socket of its own in the state dir to send READY to */
  notifySocket?: string;
}

export interface Created {
  record: ContainerRecord;
  dir: string;
  launched: Launched;
  /** foreground run with a terminal: the pty master, received from the init */
  consoleMaster?: number;
}

export async function createContainer(opts: CreateOptions): Promise<Created> {
  checkContainerId(opts.id);
  const bundle = resolve(opts.bundle);
  const spec = loadBundleConfig(bundle);
  if (opts.warn) for (const w of semanticWarnings(spec)) opts.warn(formatProblem('config.json', w));
  checkTerminal(spec, opts);
  checkSecurityModules(spec);
  checkImplemented(spec);
  const listen = listenFds();
  const preserved = preservedFds(listen + opts.preserveFds);
  const listenSpec = listen > 0 ? withListenEnv(spec, listen) : spec;
  const rootfs = realRootfs(bundle, spec);
  const cg = containerCgroup(spec, opts.id, opts.systemdCgroup === true, undefined, opts.rootless ? mayUseCgroupDir : undefined);
  if (opts.rootless) await checkRootless(cg, spec, opts);

  opts.debug?.(`create ${opts.id}: bundle ${bundle}, rootfs ${rootfs}, cgroup ${Object.values(cg.cgroup.record.paths)[0] ?? 'none'}`);
  const dir = makeContainerDir(opts.root, opts.id);
  stopPoint('create:dir-made');
  // Held until the record is written: a delete meanwhile waits for it, then sees a record.
  let unlock: () => void;
  try {
    unlock = lockContainerDir(opts.root, opts.id);
  } catch (err) {
    removeContainerDir(opts.root, opts.id);
    throw err;
  }
  const runSpec = opts.notifySocket ? withNotifySocket(listenSpec, resolve(dir)) : listenSpec;
  let fifo = -1;
  let consoleSocket: number | undefined;
  let internalConsole: [number, number] | undefined;
  let madeCgroups: string[] | undefined;
  let launched: Launched | undefined;
  const netDevices = netDevicesFor(spec, opts.debug);
  // The systemd driver: the scope is started with stage 0 in it (beforePlan), then the directories are made.
  const scope = { started: false };
  try {
    checkCgroupUsable(cg.cgroup);
    // After the check: the cgroup it names held nothing then, so whatever a delete of an
    // interrupted create finds in it is the container's.
    const early = recordCreating(opts, spec, bundle, rootfs, cg, dir);
    if (opts.notifySocket) makeNotifyDir(dir);
    const hostRoot = hostRootIds(spec);
    fifo = makeExecFifo(dir, hostRoot.uid, hostRoot.gid);
    stopPoint('create:fifo-made');
    if (opts.consoleSocket !== undefined) consoleSocket = connectConsoleSocket(resolve(bundle, opts.consoleSocket));
    else if (spec.process?.terminal && !opts.detach) internalConsole = native().socketpair();
    // foreground.js (node:tty) is loaded only by a call with a terminal to size.
    const sized = internalConsole && runSpec.process ? (await import('./foreground.js')).withHostTerminalSize(runSpec.process) : undefined;
    launched = await launchInit({
      spec: sized ? { ...runSpec, process: sized } : runSpec,
      stateRoot: opts.root,
      debug: opts.debug,
      id: opts.id,
      bundle,
      rootfs,
      noPivot: opts.noPivot,
      noNewKeyring: opts.noNewKeyring,
      stdio: opts.detach ? 'inherit' : 'pipe',
      preserved,
      consoleSocket: consoleSocket ?? internalConsole?.[1],
      execFifo: fifo,
      // As runc: stage 0 joins the cgroup before it forks (v1), or the init is cloned into it
      // (cgroup2); resources are written when the init is set up and before the hooks (a
      // pids limit does not count hako-init's stages).
      placement: planPlacement(cg.cgroup.record.paths, (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'user')),
      procCgroup: cg.procCgroup,
      // The cgroup is made once stage 0 runs: on cgroup v1 a mkdir waits while the writer
      // lock main.ts warms up waits for its grace period, which has passed by then. The
      // systemd driver's scope is started with stage 0 in it, then the directories are made.
      beforePlan: (pid: number) => {
        madeCgroups = cg.systemd ? startSystemdScope(cg, pid, spec, scope) : cg.cgroup.create();
        stopPoint('create:cgroup-made');
      },
      // The init's pid goes into the early record while the init mounts its rootfs (hako
      // has nothing else to do then), not on the path to its hooks.
      onInitPid: (initPid) => {
        recordInit(opts.root, early, initPid);
      },
      onRunHooks: async (initPid) => {
        netDevices?.moveInto(initPid);
        cg.cgroup.setResources(spec.linux?.resources ?? {}, { ...(opts.rootless ? ROOTLESS_RESOURCES : {}), ...(cg.systemd ? { skipMissing: true } : {}) });
        runCreateHooks(spec, opts.id, bundle, initPid, opts.debug);
      },
    });
    const consoleMaster = internalConsole ? await native().recvFd(internalConsole[0]) : undefined;
    // The early record completed: what create learnt since (the init, the namespaces, the hooks).
    const { creating: _creating, ...intended } = early;
    const record: ContainerRecord = {
      ...intended,
      pid: launched.initPid,
      initStartTime: launched.initStartTime,
      config: spec,
      namespacePaths: namespacePaths(spec, launched.initPid),
      ...recordHooks(spec),
    };
    if (opts.pidfdSocket) await sendPidfd(opts.pidfdSocket, launched.initPid, 'standard');
    stopPoint('create:launched');
    writeContainer(opts.root, record);
    stopPoint('create:recorded');
    opts.debug?.(`created ${opts.id}: init pid ${launched.initPid}, state in ${dir}`);
    if (opts.pidFile) writePidFile(opts.pidFile, launched.initPid);
    return { record, dir, launched, consoleMaster };
  } catch (err) {
    // The init exists once launchInit returned: a failure after that (the console, the
    // pidfd socket, the state, the pid file) kills and reaps it, as runc does; nobody
    // could manage a container whose pid was not reported.
    if (launched) await killAndReap(launched.initPid);
    if (netDevices) err = netDevices.afterFailure(err);
    if (scope.started && cg.systemd) stopScopeQuietly(cg.systemd.record.unit);
    if (madeCgroups) removeFailedCgroup(cg.cgroup, madeCgroups);
    try {
      releaseHostRootfs(spec, rootfs);
    } catch {
      // the create's own error is the one to report
    }
    removeContainerDir(opts.root, opts.id);
    throw err;
  } finally {
    netDevices?.close();
    unlock();
    if (fifo >= 0) closeSync(fifo);
    if (consoleSocket !== undefined) closeSync(consoleSocket);
    if (internalConsole) internalConsole.forEach((fd) => closeSync(fd));
  }
}

// Rootless (--rootless, or not root): the hierarchies left out are said with --debug; a
// limit in one of them is an error before anything is made.
async function checkRootless(cg: ContainerCgroup, spec: Spec, opts: CreateOptions): Promise<void> {
  for (const [c, dir] of Object.entries(cg.skipped)) opts.debug?.(`rootless: not using the ${c || 'cgroup2'} hierarchy (${dir} is not the user's)`);
  checkRootlessLimits(cg.hostDriver, cg.skipped, spec.linux?.resources);
  if ((process.geteuid?.() ?? 0) !== 0) checkRootlessMappings(spec, (await import('./rootless-helpers.js')).rootlessCaller());
}

/** --systemd-cgroup: the scope with stage 0 in it, then the directories systemd did not make (returned). */
function startSystemdScope(cg: ContainerCgroup, pid: number, spec: Spec, scope: { started: boolean }): string[] {
  const { made, started } = startScope(cg as Required<Pick<ContainerCgroup, 'systemd'>> & ContainerCgroup, pid, spec.linux?.resources ?? {});
  scope.started = started;
  return made;
}

// The record's early form (intent.ts), before anything is made: what a later delete
// needs to find it all if this create is interrupted.
function recordCreating(opts: CreateOptions, spec: Spec, bundle: string, rootfs: string, cg: ContainerCgroup, dir: string): ContainerRecord {
  return recordIntent(opts.root, {
    ociVersion: OCI_VERSION,
    id: opts.id,
    bundle,
    rootfs,
    created: rfc3339Nano(),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
    ...(cg.cgroup.dirs.length > 0 ? { cgroup: recordCgroup(cg.cgroup) } : {}),
    ownPidNamespace: (spec.linux?.namespaces ?? []).some((ns) => ns.type === 'pid' && !ns.path),
    ...(opts.notifySocket ? { notifySocket: notifySocketPath(resolve(dir)) } : {}),
    ...(setUpInHostMountNamespace(spec, rootfs) ? { hostRootfsBind: rootfs } : {}),
    ...(opts.noNewKeyring ? { noNewKeyring: true } : {}),
    ...(opts.rootless ? { rootless: true } : {}),
    ...(cg.systemd ? { systemd: cg.systemd.record } : {}),
  });
}

/** The cgroup as recorded: driver and paths, and the directories the front works on. */
export function recordCgroup(cg: Cgroup): RecordCgroup {
  return { ...cg.record, dirs: [...cg.dirs], probe: cg.probeDir, ...(cg.freezerDir !== undefined ? { freezer: cg.freezerDir } : {}) };
}

/** poststart and poststop as the front runs them: path, args, env and a positive timeout. */
export function recordHooks(spec: Spec): { hooks?: { poststart?: RecordHook[]; poststop?: RecordHook[] } } {
  const hooks: { poststart?: RecordHook[]; poststop?: RecordHook[] } = {};
  for (const name of ['poststart', 'poststop'] as const) {
    const list = spec.hooks?.[name] ?? [];
    if (list.length === 0) continue;
    hooks[name] = list.map((h) => ({
      path: h.path,
      ...(h.args !== undefined ? { args: [...h.args] } : {}),
      ...(h.env !== undefined ? { env: [...h.env] } : {}),
      ...(h.timeout !== undefined && h.timeout > 0 ? { timeout: h.timeout } : {}),
    }));
  }
  return Object.keys(hooks).length > 0 ? { hooks } : {};
}

// prestart then createRuntime, in hako's namespaces, cwd the bundle, with the init's host
// pid in the state; a failure fails create (launchInit then kills the init, create's
// cleanup removes the cgroup and the state dir).
function runCreateHooks(spec: Spec, id: string, bundle: string, initPid: number, debug?: (msg: string) => void): void {
  if (!spec.hooks) return;
  const state = hookState(id, bundle, spec, 'creating', initPid);
  try {
    runHooks(spec.hooks.prestart, state, bundle, debug, 'prestart');
    runHooks(spec.hooks.createRuntime, state, bundle, debug, 'createRuntime');
  } catch (err) {
    throw new HakoError(`unable to start container process: error during container init: ${(err as Error).message}`);
  }
}

// runc's rules: a console socket only with a terminal; a detached terminal needs one.
function checkTerminal(spec: Spec, opts: CreateOptions): void {
  const terminal = spec.process?.terminal === true;
  if (opts.consoleSocket !== undefined && !terminal) {
    throw new HakoError('cannot use console socket if runc will not detach or allocate tty');
  }
  if (terminal && opts.detach && opts.consoleSocket === undefined) {
    throw new HakoError('cannot allocate tty if runc will detach without setting console socket');
  }
}

// Fields of runtime-spec 1.3 that hako does not carry out yet: refused by name rather than
// silently ignored (a container asking for them would not get what it asked for).
const NOT_YET: readonly [string, (s: Spec) => unknown][] = [
  ['/linux/intelRdt', (s) => s.linux?.intelRdt],
];

function checkImplemented(spec: Spec): void {
  const asked = NOT_YET.filter(([, get]) => get(spec) !== undefined).map(([pointer]) => pointer);
  if (asked.length > 0) {
    throw new HakoError(`not supported by hako yet: ${asked.join(', ')}`, { pointer: asked[0] });
  }
}

// A label or profile for an LSM the host does not run would silently not apply: refuse it, as runc does.
function checkSecurityModules(spec: Spec): void {
  if (spec.process?.apparmorProfile && !apparmorEnabled()) {
    throw new HakoError('apparmor profile set in config, but AppArmor is not enabled on this host', { pointer: '/process/apparmorProfile' });
  }
  const label = spec.process?.selinuxLabel ? '/process/selinuxLabel' : spec.linux?.mountLabel ? '/linux/mountLabel' : undefined;
  if (label && !existsSync('/sys/fs/selinux/enforce')) {
    throw new HakoError('selinux label is specified in config, but selinux is disabled or not supported', { pointer: label });
  }
}

function apparmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

/** systemd socket activation: LISTEN_FDS counts when LISTEN_PID is us. */
function listenFds(): number {
  if (process.env.LISTEN_PID !== String(process.pid)) return 0;
  const n = Number(process.env.LISTEN_FDS);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

function withListenEnv(spec: Spec, n: number): Spec {
  const env = (spec.process!.env ?? []).filter((e) => !e.startsWith('LISTEN_FDS=') && !e.startsWith('LISTEN_PID='));
  env.push(`LISTEN_FDS=${n}`, 'LISTEN_PID=1');
  return { ...spec, process: { ...spec.process!, env } };
}

function realRootfs(bundle: string, spec: Spec): string {
  const path = resolve(bundle, spec.root!.path);
  try {
    return realpathSync(path);
  } catch (err) {
    throw fromSystemError(err, 'rootfs');
  }
}

/** The host ids of the container's root (exec.fifo is chowned to them). */
function hostRootIds(spec: Spec): { uid: number; gid: number } {
  const map = (list: { containerID: number; hostID: number; size: number }[] | undefined): number => {
    const m = list?.find((e) => e.containerID === 0);
    return m ? m.hostID : 0;
  };
  return { uid: map(spec.linux?.uidMappings), gid: map(spec.linux?.gidMappings) };
}

const NS_FILE: Record<string, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

function namespacePaths(spec: Spec, pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ns of spec.linux?.namespaces ?? []) {
    const file = NS_FILE[ns.type];
    if (file) out[ns.type] = `/proc/${pid}/ns/${file}`;
  }
  return out;
}

/** Go's RFC3339Nano in UTC: up to nine fractional digits, trailing zeros dropped. */
export function rfc3339Nano(now = Date.now(), nanos = process.hrtime.bigint()): string {
  const base = new Date(now).toISOString().slice(0, 19);
  const frac = `${String(now % 1000).padStart(3, '0')}${String(nanos % 1000000n).padStart(6, '0')}`.replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}
