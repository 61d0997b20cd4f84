// exec: one more process in a created or running container. hako-init (from its sealed
// copy) joins every namespace of the container by its init's /proc/<pid>/ns path, user
// first, placed in the container's cgroup before it reads the plan (or, for the cgroup2
// hierarchy, cloning the process into it: cgroups/placement.ts), and clones the
// process (CLONE_PARENT: a direct child of hako, so it re-parents to the caller's
// subreaper), which sets up only the process part and execs (PlanFlag.EXEC).
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { HakoError } from '../errors.js';
import { native } from '../native.js';
import { sendPidfd } from './pidfd-socket.js';
import { openCgroup, type Cgroup, type CgroupRecord } from '../cgroups/manager.js';
import { planPlacement } from '../cgroups/placement.js';
import type { LinuxNamespaceType, Process, Spec } from '../oci/types.js';
import { buildExecPlan } from '../plan/exec-plan.js';
import { planCpuList } from '../plan/build.js';
import { readCapLastCap } from '../plan/host.js';
import { connectConsoleSocket } from './console-socket.js';
import { preservedFds } from './preserved-fds.js';
import { killAndReap, launchInit, type Launched } from './launch.js';
import { writePidFile } from './pid-file.js';
import { containerDir, readContainer, type ContainerRecord } from './state-store.js';
import { liveStatus } from './status.js';

export interface ExecOptions {
  root: string;
  id: string;
  /** the process to run, given the container: its config's process with the flags applied, or -p's */
  process: (rec: ContainerRecord, spec: Spec) => Process | Promise<Process>;
  /** -d: the process gets hako's fds 0-2, hako returns once it runs */
  detach: boolean;
  /** absolute already */
  pidFile?: string;
  /** as given: relative to the bundle with relativeToBundle (runc chdirs there without -p), else to our cwd */
  consoleSocket?: string;
  relativeToBundle: boolean;
  preserveFds: number;
  ignorePaused: boolean;
  /** --pidfd-socket, made absolute: a pidfd of the process is sent there */
  pidfdSocket?: string;
  /** --cgroup, as given: [<controller>[,<controller>]:]<path> of an existing sub-cgroup */
  subCgroups?: string[];
  /** --debug log lines (hako-init's steps among them) */
  debug?: (msg: string) => void;
}

export interface Execed {
  record: ContainerRecord;
  /** host pid of the exec'd process (a child of this process) */
  pid: number;
  /** foreground without a terminal: our ends of its stdio pipes */
  pipes?: Launched['pipes'];
  /** foreground with a terminal: the pty master */
  consoleMaster?: number;
}

export async function execInContainer(opts: ExecOptions): Promise<Execed> {
  const rec = readContainer(opts.root, opts.id);
  const status = liveStatus(rec, containerDir(opts.root, opts.id));
  if (status === 'stopped') throw new HakoError('cannot exec in a stopped container');
  if (status === 'creating') throw new HakoError('cannot exec in a container that is being created');
  if (status === 'paused' && !opts.ignorePaused) throw new HakoError('cannot exec in a paused container');
  const spec: Spec = rec.config ?? { ociVersion: rec.ociVersion };
  const proc = withConfigDefaults(await opts.process(rec, spec), spec.process);
  checkTerminal(proc, opts);
  checkSecurityModules(proc);
  const preserved = preservedFds(opts.preserveFds);
  const cgroup = placement(rec, opts.subCgroups ?? []);
  const namespacePaths = (rec.namespacePaths ?? {}) as Partial<Record<LinuxNamespaceType, string>>;
  const initialCpus = planCpuList(proc.execCPUAffinity?.initial, '/execCPUAffinity/initial');
  opts.debug?.(`exec in ${opts.id} (${status}, init pid ${rec.pid}): ${JSON.stringify(proc.args ?? [])}`);

  let consoleSocket: number | undefined;
  let internalConsole: [number, number] | undefined;
  try {
    if (opts.consoleSocket !== undefined) consoleSocket = connectConsoleSocket(resolve(opts.relativeToBundle ? rec.bundle : process.cwd(), opts.consoleSocket));
    else if (proc.terminal && !opts.detach) internalConsole = native().socketpair();
    const chownStdio = !opts.detach && !proc.terminal;
    // foreground.js (node:tty) is loaded only by a call with a terminal to size.
    const planned = internalConsole ? (await import('./foreground.js')).withHostTerminalSize(proc) : proc;
    const launched = await launchInit({
      // The container's config with the process: its seccomp profile applies to the process too.
      spec: { ...spec, process: proc },
      stateRoot: opts.root,
      ...(opts.debug ? { debug: opts.debug } : {}),
      id: rec.id,
      bundle: rec.bundle,
      rootfs: rec.rootfs,
      noPivot: false,
      noNewKeyring: false,
      stdio: opts.detach || proc.terminal ? 'inherit' : 'pipe',
      preserved,
      consoleSocket: consoleSocket ?? internalConsole?.[1],
      // A seccomp agent (SCMP_ACT_NOTIFY) gets the exec'd process's pid and the container's state, as from runc.
      agentState: { status, pid: rec.pid },
      // As create does: stage 0 is moved into the v1 hierarchies, the process is cloned into
      // the cgroup2 one. In a paused container (--ignore-paused) hako-init (v1 freezer) or the
      // process (cgroup2 freeze) is frozen there, and the exec goes on when it is resumed.
      ...(cgroup ? { placement: planPlacement(cgroup.record.paths, namespacePaths.user !== undefined) } : {}),
      // execCPUAffinity.initial: where hako-init runs before it moves to the container's
      // cgroup, as runc starts its init on those CPUs (final comes after the move, or after
      // the clone into the cgroup2 directory, which resets it the same way).
      beforePlan: (pid) => {
        if (initialCpus !== undefined) setInitialAffinity(pid, initialCpus);
      },
      makePlan: ({ fds, seccomp }) =>
        buildExecPlan(planned, {
          containerId: rec.id,
          namespacePaths,
          fds,
          chownStdio,
          noNewKeyring: rec.noNewKeyring === true,
          capLastCap: readCapLastCap(),
          ...(seccomp ? { seccomp } : {}),
          ...(spec.linux?.personality ? { personality: spec.linux.personality } : {}),
          ...(spec.linux?.memoryPolicy ? { memoryPolicy: spec.linux.memoryPolicy } : {}),
        }),
    });
    // The process runs from here: a failure to report it (the pidfd socket, the pty
    // master, the pid file) kills and reaps it, as runc does.
    let consoleMaster: number | undefined;
    try {
      if (opts.pidfdSocket) await sendPidfd(opts.pidfdSocket, launched.initPid, 'setns');
      consoleMaster = internalConsole ? await native().recvFd(internalConsole[0]) : undefined;
      if (opts.pidFile) writePidFile(opts.pidFile, launched.initPid);
    } catch (err) {
      if (consoleMaster !== undefined) closeSync(consoleMaster);
      if (launched.pipes) for (const fd of Object.values(launched.pipes)) closeSync(fd);
      await killAndReap(launched.initPid);
      throw err;
    }
    return {
      record: rec,
      pid: launched.initPid,
      ...(launched.pipes ? { pipes: launched.pipes } : {}),
      ...(consoleMaster !== undefined ? { consoleMaster } : {}),
    };
  } finally {
    if (consoleSocket !== undefined) closeSync(consoleSocket);
    if (internalConsole) internalConsole.forEach((fd) => closeSync(fd));
  }
}


// What a process leaves out comes from the container's process, as runc's newInitConfig
// does it: capabilities, the AppArmor profile, the SELinux label, the scheduler, the I/O
// priority and the exec CPU affinity. Not rlimits (runc's
// exec'd process then keeps the caller's: the differential test shows it), nor
// no_new_privs (runc always takes the process's).
function withConfigDefaults(proc: Process, config: Process | undefined): Process {
  if (!config) return proc;
  const out = { ...proc };
  if (!out.capabilities && config.capabilities) out.capabilities = config.capabilities;
  if (!out.apparmorProfile && config.apparmorProfile) out.apparmorProfile = config.apparmorProfile;
  if (!out.selinuxLabel && config.selinuxLabel) out.selinuxLabel = config.selinuxLabel;
  if (!out.scheduler && config.scheduler) out.scheduler = config.scheduler;
  if (!out.ioPriority && config.ioPriority) out.ioPriority = config.ioPriority;
  if (!out.execCPUAffinity && config.execCPUAffinity) out.execCPUAffinity = config.execCPUAffinity;
  return out;
}

function setInitialAffinity(pid: number, cpus: number[]): void {
  try {
    native().setAffinity(pid, cpus);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HakoError(`error setting initial CPU affinity to CPUs ${cpus.join(',')}: ${e.message}`, {
      pointer: '/execCPUAffinity/initial',
      errno: e.code,
    });
  }
}

// runc's rules (runner.checkTerminal): a detached terminal needs a console socket; a
// console socket needs a detached terminal.
function checkTerminal(proc: Process, opts: ExecOptions): void {
  const terminal = proc.terminal === true;
  if (opts.detach && terminal && opts.consoleSocket === undefined) {
    throw new HakoError('cannot allocate tty if runc will detach without setting console socket');
  }
  if ((!opts.detach || !terminal) && opts.consoleSocket !== undefined) {
    throw new HakoError('cannot use console socket if runc will not detach or allocate tty');
  }
}

// hako-init applies neither an AppArmor profile nor an SELinux label yet: refuse one
// rather than run the process unconfined.
function checkSecurityModules(proc: Process): void {
  if (proc.apparmorProfile) {
    if (!apparmorEnabled()) throw new HakoError('apparmor profile set in config, but AppArmor is not enabled on this host');
    throw new HakoError('apparmor profiles for exec are not supported by hako yet');
  }
  if (proc.selinuxLabel) {
    if (!existsSync('/sys/fs/selinux/enforce')) throw new HakoError('selinux label is specified in config, but selinux is disabled or not supported');
    throw new HakoError('selinux labels for exec are not supported by hako yet');
  }
}

function apparmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

/** Where the process goes: the container's cgroup, or the sub-cgroups --cgroup names. */
function placement(rec: ContainerRecord, sub: readonly string[]): Cgroup | undefined {
  if (sub.length === 0) return rec.cgroup ? openCgroup(rec.cgroup) : undefined;
  if (!rec.cgroup) throw new HakoError('--cgroup: the container has no cgroup');
  return openCgroup(subCgroupRecord(rec.cgroup, parseSubCgroups(sub)));
}

/** runc's getSubCgroupPaths: controller -> path ("" alone: every controller, the only way on v2). */
export function parseSubCgroups(args: readonly string[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const c of args) {
    const cs = c.split(':');
    if (cs.length > 2) throw new HakoError(`invalid --cgroup argument: ${c}`);
    if (cs.length === 1) {
      if (args.length !== 1) throw new HakoError(`invalid --cgroup argument: ${c} (missing <controller>: prefix)`);
      paths.set('', c);
      continue;
    }
    for (const ctrl of cs[0]!.split(',')) {
      if (ctrl === '') throw new HakoError(`invalid --cgroup argument: ${c} (empty <controller> prefix)`);
      if (paths.has(ctrl)) throw new HakoError(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`);
      paths.set(ctrl, cs[1]!);
    }
  }
  return paths;
}

/** The container's cgroup record with the sub-cgroups joined on, each checked to stay under its cgroup (runc's rules). */
export function subCgroupRecord(rec: CgroupRecord, sub: Map<string, string>): CgroupRecord {
  const paths = { ...rec.paths };
  const join = (base: string, add: string): string => {
    const joined = posix.join(base, add);
    if (joined !== base && !joined.startsWith(base.endsWith('/') ? base : `${base}/`)) throw new HakoError(`${add} is not a sub cgroup path`);
    return joined;
  };
  const all = sub.get('');
  if (all !== undefined) {
    for (const k of Object.keys(paths)) paths[k] = join(paths[k]!, all);
  } else {
    for (const [ctrl, add] of sub) {
      const base = paths[ctrl];
      if (base === undefined) throw new HakoError(`unknown controller ${ctrl} in SubCgroupPaths`);
      paths[ctrl] = join(base, add);
    }
  }
  return { ...rec, paths };
}
