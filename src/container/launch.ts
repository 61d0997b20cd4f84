// Starting a container's init: hako-init from its sealed copy, the plan over the sync
// socket, the parent's part of the conversation (id maps, hooks), and the init's pid.
// On any failure the processes it started are killed and reaped before the error returns.
import { closeSync, constants, openSync, readSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HakoError } from '../errors.js';
import { readInputFile } from '../input-limits.js';
import { loadedFrom, native, sealedInit } from '../native.js';
import { placeStage0, type Placement } from '../cgroups/placement.js';
import type { ContainerProcessState, Spec } from '../oci/types.js';
import { OCI_VERSION } from '../oci/default-spec.js';
import { buildLaunchPlan, idMaps, type PlanOptions } from '../plan/build.js';
import type { LaunchPlan, PlanSeccomp } from '../plan/launch-plan.js';
import { encodePlan } from '../plan/wire.js';
import { readHostFacts } from '../plan/host.js';
import { hookPlan } from './hooks.js';
import { readProcStat } from './status.js';
import { MSG, SyncChannel, decodeFailure, describeFailure } from './sync.js';
import { isOwnIdOnly } from './rootless.js';
import { launchStopPoint } from './stop-point.js';

export interface LaunchRequest {
  spec: Spec;
  /** the state root (--root): compiled seccomp programs are cached there */
  stateRoot: string;
  /** --debug log lines */
  debug?: (msg: string) => void;
  id: string;
  bundle: string;
  /** absolute, symlinks resolved */
  rootfs: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  /** 'inherit': the container gets hako's own fds 0-2; 'pipe': new pipes (foreground run) */
  stdio: 'inherit' | 'pipe';
  /** fds (3, 4, ...) passed through at the same numbers */
  preserved: number[];
  /** a connected console socket, or our end of a socketpair */
  consoleSocket?: number;
  /** O_PATH fd of exec.fifo */
  execFifo?: number;
  /** stage 0 reported the init's pid and exited; the init now prepares its rootfs (hako waits for it meanwhile) */
  onInitPid?: (initPid: number) => void;
  /** prestart/createRuntime time: mounts are done, pivot_root is not */
  onRunHooks?: (initPid: number) => Promise<void>;
  /** stage 0 runs, has read nothing yet, and is not in the container's cgroup yet */
  beforePlan?: (stage0Pid: number) => void | Promise<void>;
  /**
   * Into the container's cgroup: stage 0, which has read nothing yet, is moved into the
   * placement's stage0Dirs (all it forks follows), and the plan names the cgroup2
   * directory the process is cloned into.
   */
  placement?: Placement;
  /** /proc/self/cgroup as the placed init reads it (the cgroup mount binds those paths) */
  procCgroup?: string;
  /** exec: the container's state for a seccomp agent (default: creating, the new init's pid) */
  agentState?: { status: ContainerProcessState['state']['status']; pid: number };
  /** a plan other than buildLaunchPlan's (exec.ts), given the fds and compiled seccomp */
  makePlan?: (o: { fds: PlanOptions['fds']; seccomp?: PlanSeccomp }) => LaunchPlan;
}

export interface Launched {
  initPid: number;
  initStartTime: string;
  /** with stdio 'pipe': our ends of the container's stdin, stdout and stderr pipes */
  pipes?: { stdin: number; stdout: number; stderr: number };
}

/** Stage 0 (hako-init as first spawned), our child: its exit is waited for on a thread of the addon's. */
interface Stage0 {
  pid: number;
  /** its exit status, null when killed by a signal (or not ours to wait for) */
  exit: Promise<number | null>;
  /** set once it is reaped: its pid is not signalled after that */
  reaped: boolean;
  code?: number;
}

export async function launchInit(req: LaunchRequest): Promise<Launched> {
  // The container's stdio pipes (foreground run), the sync socket, hako-init spawned by the
  // addon (a vfork) with exactly these fds at these numbers.
  const pipes = req.stdio === 'pipe' ? [native().pipe(), native().pipe(), native().pipe()] : undefined;
  const childEnds = pipes ? [pipes[0]![0], pipes[1]![1], pipes[2]![1]] : undefined;
  const stdio: number[] = childEnds ? [...childEnds] : [0, 1, 2];
  stdio.push(...req.preserved);
  const sync = native().socketpair();
  const syncIndex = stdio.push(sync[1]) - 1;
  const consoleIndex = req.consoleSocket === undefined ? -1 : stdio.push(req.consoleSocket) - 1;
  const fifoIndex = req.execFifo === undefined ? -1 : stdio.push(req.execFifo) - 1;
  // With SCMP_ACT_NOTIFY the init sends its listener fd back over a socket of its own, so
  // a profile that may notify is compiled before the spawn; any other while stage 0 is placed.
  const mayNotify = req.spec.linux?.seccomp?.syscalls?.some((c) => c.action === 'SCMP_ACT_NOTIFY') === true;
  let seccomp = mayNotify ? await compiledSeccomp(req) : undefined;
  const listener = seccomp?.notify ? native().socketpair() : undefined;
  const listenerIndex = listener ? stdio.push(listener[1]) - 1 : -1;
  const fds = { consoleSocket: consoleIndex, execFifo: fifoIndex, preserved: req.preserved.length };
  const initLog = req.debug ? openInitLog(stdio) : undefined;

  let stage0: Stage0;
  try {
    const memfd = sealedInit();
    req.debug?.(`hako-init: ${loadedFrom.init}`);
    try {
      stage0 = waitStage0(native().spawnInit(memfd, ['hako-init', '--sync', String(syncIndex), ...(initLog?.args ?? [])], stdio));
    } finally {
      closeSync(memfd);
    }
  } catch (err) {
    closeSync(sync[0]);
    pipes?.forEach(([r, w], i) => closeSync(i === 0 ? w : r));
    if (listener) closeSync(listener[0]);
    throw err;
  } finally {
    closeSync(sync[1]);
    childEnds?.forEach((fd) => closeSync(fd));
    if (listener) closeSync(listener[1]);
    initLog?.spawned();
  }
  const stage0Exit = stage0.exit;
  launchStopPoint(req.makePlan !== undefined, 'spawned', stage0.pid);
  const channel = new SyncChannel(sync[0]);
  // Known as soon as stage 0 reports it, so a failure after that still kills and reaps it.
  const progress = { initPid: 0 };
  let placed: Promise<void> | undefined;
  try {
    if (req.beforePlan) await req.beforePlan(stage0.pid);
    // Stage 0 waits for its plan: the placement (a grace period on cgroup v1, see
    // placement.ts) runs while the plan is made, and the plan goes once it is done.
    if (req.placement) {
      placed = placeStage0(req.placement, stage0.pid);
      placed.catch(() => undefined);
    }
    if (req.spec.linux?.seccomp && !mayNotify) seccomp = await compiledSeccomp(req);
    const plan = encodePlan(makePlan(req, fds, seccomp && { ...seccomp, listenerSocket: listenerIndex }));
    await placed;
    channel.send(MSG.PLAN, plan);
    launchStopPoint(req.makePlan !== undefined, 'plan-sent', stage0.pid);
    const handedOver = listener ? handOverListener(listener[0], req, progress) : undefined;
    const [initPid, sent] = await Promise.all([converse(channel, req, stage0, stage0Exit, progress), handedOver]);
    if (sent === false) throw new HakoError('unable to start container process: hako-init did not hand over the seccomp listener');
    const stat = readProcStat(initPid);
    if (!stat) throw new HakoError('container init exited during setup');
    const ours = pipes && { stdin: pipes[0]![1], stdout: pipes[1]![0], stderr: pipes[2]![0] };
    return { initPid, initStartTime: stat.startTime, ...(ours ? { pipes: ours } : {}) };
  } catch (err) {
    await placed?.catch(() => undefined);
    await abandon(stage0, stage0Exit, progress.initPid);
    pipes?.forEach(([r, w], i) => closeSync(i === 0 ? w : r));
    throw err;
  } finally {
    // Placed or not (no cgroup, a failure), the warm-up main.ts started is no longer needed.
    native().cgroupWriterCool();
    channel.close();
    if (listener) closeSync(listener[0]);
    if (initLog && req.debug) initLog.relay(req.debug);
  }
}

// --debug: hako-init's steps (cpp/init/debug_log.h) come back through a pipe, as runc's
// nsexec stage logs do, and go out through hako's logger. The init writes its last line
// and closes the pipe before it reports ready, so what it has to say is there by then;
// the read end is drained without waiting (a line a stage had no room for is lost, never
// waited for).
function openInitLog(stdio: unknown[]): { args: string[]; spawned: () => void; relay: (debug: (msg: string) => void) => void } {
  const [readEnd, writeEnd] = native().pipe();
  const index = stdio.push(writeEnd) - 1;
  // A second open of the pipe, non-blocking, for the drain.
  const reader = openSync(`/proc/self/fd/${readEnd}`, constants.O_RDONLY | constants.O_NONBLOCK);
  closeSync(readEnd);
  return {
    args: ['--log-pipe', String(index)],
    spawned: () => closeSync(writeEnd),
    relay: (debug) => {
      let text = '';
      const buf = Buffer.alloc(65536);
      try {
        for (;;) {
          const n = readSync(reader, buf, 0, buf.length, null);
          if (n === 0) break;
          text += buf.toString('utf8', 0, n);
        }
      } catch {
        // EAGAIN: all there is
      }
      closeSync(reader);
      for (const line of text.split('\n')) if (line !== '') debug(line);
    },
  };
}

// The launch plan: buildLaunchPlan's, or the request's own (exec), with the hooks hako-init runs.
function makePlan(req: LaunchRequest, fds: PlanOptions['fds'], seccomp: PlanSeccomp | undefined): LaunchPlan {
  const plan = req.makePlan
    ? req.makePlan({ fds, ...(seccomp ? { seccomp } : {}) })
    : buildLaunchPlan(req.spec, {
        containerId: req.id,
        bundleDir: req.bundle,
        rootfs: req.rootfs,
        noPivot: req.noPivot,
        noNewKeyring: req.noNewKeyring,
        chownStdio: req.stdio === 'pipe',
        fds,
        host: req.procCgroup === undefined ? readHostFacts() : { ...readHostFacts(), cgroup: req.procCgroup },
        seccomp,
      });
  // createContainer and startContainer hooks: hako-init runs them (cpp/init/hooks.cc).
  if (!req.makePlan) Object.assign(plan, hookPlan(req.spec, req.id, req.bundle));
  if (req.placement?.cloneInto !== undefined) plan.cgroup2Dir = req.placement.cloneInto;
  return plan;
}

// Stage 0 reports the init's pid and stage 2 reports its progress over the same socket,
// so RUN_HOOKS or READY may in principle overtake INIT_PID: they wait for it.
async function converse(
  channel: SyncChannel,
  req: LaunchRequest,
  stage0: Stage0,
  stage0Exit: Promise<number | null>,
  progress: { initPid: number },
): Promise<number> {
  let initPid = 0;
  let hooksPending = false;
  let ready = false;
  for (;;) {
    if (initPid && hooksPending) {
      hooksPending = false;
      launchStopPoint(req.makePlan !== undefined, 'run-hooks', initPid);
      await req.onRunHooks?.(initPid);
      channel.send(MSG.HOOKS_DONE);
    }
    if (initPid && ready) {
      launchStopPoint(req.makePlan !== undefined, 'ready', initPid);
      return initPid;
    }
    const frame = await channel.next();
    if (frame === null) {
      const code = stage0.code;
      throw new HakoError(
        `unable to start container process: ${initPid ? 'container init' : 'hako-init'} exited before it was ready${code !== undefined ? ` (status ${code})` : ''}`,
      );
    }
    switch (frame.type) {
      case MSG.NEED_MAPS:
        await writeIdMaps(stage0.pid, req.spec);
        channel.send(MSG.MAPS_WRITTEN);
        break;
      case MSG.INIT_PID:
        initPid = frame.payload.readUInt32LE(0);
        progress.initPid = initPid;
        launchStopPoint(req.makePlan !== undefined, 'init-pid', initPid);
        if (await stage0Exit !== 0) throw new HakoError('unable to start container process: hako-init stage 0 failed');
        req.onInitPid?.(initPid);
        break;
      case MSG.RUN_HOOKS:
        hooksPending = true;
        break;
      case MSG.READY:
        ready = true;
        break;
      case MSG.ERROR:
        throw new HakoError(`unable to start container process: ${describeFailure(decodeFailure(frame.payload))}`);
      default:
        throw new HakoError(`unable to start container process: unexpected message ${frame.type} from hako-init`);
    }
  }
}

// plan/seccomp*.ts is loaded only for a container with a profile.
async function compiledSeccomp(req: LaunchRequest) {
  const { planSeccomp } = await import('../plan/seccomp-cache.js');
  const planned = planSeccomp(req.spec.linux!.seccomp!, {
    compiler: { library: () => native().seccompLibrary(), compile: (r) => native().seccompCompile(r) },
    cacheDir: req.stateRoot,
    configText: () => readInputFile(join(req.bundle, 'config.json'), 'config.json'),
  });
  // runc ignores syscall names libseccomp does not know; hako too, but says so with --debug.
  if (planned.skipped.length > 0) req.debug?.(`seccomp: syscalls unknown to libseccomp, skipped: ${planned.skipped.join(', ')}`);
  return planned;
}

// The runtime-spec's handover: one connection to linux.seccomp.listenerPath, one message
// with the container process state and the listener fd. Done as soon as the init sends
// the fd (it may go on to make calls the agent must answer), not at READY. Resolves false
// when the init went away first: converse() reports why.
async function handOverListener(sock: number, req: LaunchRequest, progress: { initPid: number }): Promise<boolean> {
  let fd: number;
  try {
    fd = await native().recvFd(sock);
  } catch {
    return false;
  }
  // Stage 0 sent INIT_PID before the process could load its filter, but converse() may
  // not have read it yet: the state must carry the pid (bounded: a failed launch ends).
  for (let i = 0; progress.initPid === 0 && i < 500; i++) await new Promise((r) => setTimeout(r, 2));
  const sc = req.spec.linux!.seccomp!;
  const path = resolve(req.bundle, sc.listenerPath!);
  const state: ContainerProcessState = {
    ociVersion: OCI_VERSION,
    fds: ['seccompFd'],
    pid: progress.initPid,
    ...(sc.listenerMetadata ? { metadata: sc.listenerMetadata } : {}),
    state: { ociVersion: OCI_VERSION, id: req.id, status: req.agentState?.status ?? 'creating', pid: req.agentState?.pid ?? progress.initPid, bundle: req.bundle, ...(req.spec.annotations ? { annotations: req.spec.annotations } : {}) },
  };
  try {
    native().seccompSendToAgent(path, JSON.stringify(state), fd);
  } catch (err) {
    throw new HakoError(`unable to start container process: send the seccomp listener to ${path}: ${(err as Error).message}`, { path, pointer: '/linux/seccomp/listenerPath' });
  } finally {
    closeSync(fd);
  }
  return true;
}

async function writeIdMaps(pid: number, spec: Spec): Promise<void> {
  const maps = idMaps(spec);
  const write = (name: string, text: string): void => {
    const file = `/proc/${pid}/${name}`;
    try {
      writeFileSync(file, text);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new HakoError(`unable to start container process: write ${file}: ${e.message}`, { path: file, errno: e.code });
    }
  };
  if (maps.setgroups) write('setgroups', maps.setgroups);
  // Not root: beyond the user's own id, through newuidmap/newgidmap (rootless-helpers.ts).
  const rootless = (process.geteuid?.() ?? 0) !== 0;
  const uidHelper = rootless && !isOwnIdOnly(spec.linux?.uidMappings, process.geteuid!());
  const gidHelper = rootless && !isOwnIdOnly(spec.linux?.gidMappings, process.getegid!());
  const helpers = uidHelper || gidHelper ? await import('./rootless-helpers.js') : undefined;
  if (uidHelper) helpers!.writeMapWithHelper('uid', pid, spec.linux?.uidMappings ?? []);
  else write('uid_map', maps.uidMap);
  if (gidHelper) helpers!.writeMapWithHelper('gid', pid, spec.linux?.gidMappings ?? []);
  else write('gid_map', maps.gidMap);
}

function waitStage0(pid: number): Stage0 {
  const s: Stage0 = { pid, reaped: false, exit: Promise.resolve(null) };
  s.exit = native()
    .waitpid(pid)
    .then(
      (r) => {
        s.reaped = true;
        if (r.code !== undefined) s.code = r.code;
        return r.code ?? null;
      },
      () => {
        s.reaped = true;
        return null;
      },
    );
  return s;
}

// A failed launch leaves no process behind: the init (our child through CLONE_PARENT)
// is killed and reaped, stage 0 killed and awaited.
async function abandon(stage0: Stage0, stage0Exit: Promise<number | null>, initPid: number): Promise<void> {
  if (!stage0.reaped) {
    try {
      process.kill(stage0.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  if (initPid > 0) await killAndReap(initPid);
  await stage0Exit;
}

/**
 * SIGKILL a process launchInit started (our child through CLONE_PARENT) and reap it: what
 * create and exec do when they fail after the process exists, so none is left running
 * unreported, nor a zombie for the caller's subreaper.
 */
export async function killAndReap(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await native()
    .waitpid(pid)
    .catch(() => undefined);
}
