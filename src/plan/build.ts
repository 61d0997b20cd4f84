// config.json + the create options + host facts -> the launch plan hako-init carries
// out. A pure function: everything it needs about the host comes in through
// PlanOptions.host (see host.ts), so it runs the same in a unit test as in `create`.
// It expects a config that src/oci/validate.ts accepted; what it still cannot turn into
// a plan it refuses with a HakoError naming the JSON pointer.
//
// Decisions, where runc offers a choice or the plan cannot say what runc does:
// - /dev is set up (FLAG_SETUP_DEV: default devices, linux.devices, /dev links) unless
//   a bind mount covers /dev: runc's needsSetupDev. Without it no device is planned,
//   as runc creates none then.
// - Devices are bind-mounted from the host (bind=1) when the container has a user
//   namespace, created or joined, or hako itself runs in one (runc: the same).
// - Mount destinations are made absolute and lexically clean ("dev/" -> "/dev").
// - A "bind" type alone makes a bind mount (MS_BIND), as the runtime-spec reads it.
// - Unknown or unavailable capability names are left out of the masks, as runc does
//   (runc logs a warning; unknownCapabilities() lists them for the caller to warn).
// - A uint64 rlimit above 2^64-1 (JSON rounding of 18446744073709551615) is RLIM_INFINITY.
// - Id-mapped mounts are refused: the plan has no field for their mappings yet.
// - process.execCPUAffinity is not planned for the init: the runtime-spec says it does not
//   apply to the container's init (runc: the same); it is the default of later execs.
// - linux.personality.flags are ignored, as runc ignores them (validate warns).
// - linux.memoryPolicy is set as runc 1.4 sets it (runc 1.3 has no such field).
import { posix } from 'node:path';
import { HakoError } from '../errors.js';
import { isBindMount } from '../oci/mount-options.js';
import type { LinuxCapabilities, LinuxIDMapping, LinuxIOPriority, LinuxMemoryPolicy, LinuxNamespaceType, LinuxPersonality, Mount, Process, Scheduler, Spec } from '../oci/types.js';
import { parseCpuList } from '../oci/cpu-list.js';
import { expandCgroupMount } from './cgroup-mount.js';
import { devSymlinks, setupDevices } from './devices.js';
import type { HostFacts } from './host.js';
import {
  CAP_LAST_CAP,
  CLOCK_BOOTTIME,
  CLOCK_MONOTONIC,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  IOPRIO_CLASS,
  type JoinNamespace,
  type LaunchPlan,
  MS,
  MPOL_FLAG,
  MPOL_MODE,
  MountExt,
  MountIdmapFlag,
  PERSONALITY_DOMAIN,
  type PlanCapabilities,
  type PlanIoPriority,
  type PlanMemoryPolicy,
  PlanFlag,
  type PlanMount,
  type PlanMountIdmap,
  type PlanRlimit,
  type PlanScheduler,
  type PlanSeccomp,
  type PlanSymlink,
  type PlanTimeOffset,
  RLIMIT,
  RLIM_INFINITY,
  SCHED_FLAG,
  SCHED_POLICY,
  capabilityNumber,
} from './launch-plan.js';
import { PROPAGATION_TABLE, parseMountOptions } from './mount-flags.js';

export { idMaps, type IdMaps, type IdMapCaller } from './id-maps.js';
export type { HostFacts } from './host.js';

export interface PlanOptions {
  /** the container's id */
  containerId: string;
  /** absolute host path of the root filesystem, symlinks already resolved */
  rootfs: string;
  /** absolute path of the bundle: relative bind mount sources are resolved against it */
  bundleDir: string;
  /** --no-pivot */
  noPivot: boolean;
  /** --no-new-keyring */
  noNewKeyring: boolean;
  /** fds the init receives (numbers as the init sees them) */
  fds: { consoleSocket: number; execFifo: number; preserved: number };
  /** fchown fds 0-2 to the container's root (hako made them) */
  chownStdio: boolean;
  host: HostFacts;
  /** linux.seccomp compiled (seccomp-cache.ts planSeccomp): the plan carries it as given */
  seccomp?: PlanSeccomp;
}

/** The clone flag of each namespace type. */
export const NAMESPACE_CLONE_FLAGS: Readonly<Record<LinuxNamespaceType, bigint>> = {
  user: CLONE_NEWUSER,
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  network: CLONE_NEWNET,
  pid: CLONE_NEWPID,
  mount: CLONE_NEWNS,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

/** The order namespaces are joined in (runc's): user first, so the others are allowed. */
export const NAMESPACE_JOIN_ORDER: readonly LinuxNamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'mount', 'cgroup', 'time'];

const TIME_CLOCKS: Readonly<Record<string, number>> = { monotonic: CLOCK_MONOTONIC, boottime: CLOCK_BOOTTIME };

export const DEFAULT_UMASK = 0o022;

// ---------------------------------------------------------------- namespaces

interface Namespaces {
  cloneFlags: bigint;
  join: JoinNamespace[];
  /** type -> present (created or joined) */
  has: Set<LinuxNamespaceType>;
}

function namespaces(spec: Spec): Namespaces {
  let cloneFlags = 0n;
  const paths = new Map<LinuxNamespaceType, string>();
  const has = new Set<LinuxNamespaceType>();
  (spec.linux?.namespaces ?? []).forEach((ns, i) => {
    const flag = NAMESPACE_CLONE_FLAGS[ns.type];
    if (flag === undefined) throw new HakoError(`namespace "${ns.type}" is not known`, { pointer: `/linux/namespaces/${i}/type` });
    if (has.has(ns.type)) throw new HakoError(`namespace "${ns.type}" is listed twice`, { pointer: `/linux/namespaces/${i}` });
    has.add(ns.type);
    if (ns.path !== undefined && ns.path !== '') paths.set(ns.type, ns.path);
    else cloneFlags |= flag;
  });
  const join = NAMESPACE_JOIN_ORDER.filter((t) => paths.has(t)).map((t) => ({ cloneFlag: NAMESPACE_CLONE_FLAGS[t], path: paths.get(t)! }));
  return { cloneFlags, join, has };
}

// ---------------------------------------------------------------- mounts

/** A config mount as one plan mount (a "cgroup" mount is expanded later). */
export function planMount(m: Mount, bundleDir: string, at: string, spec?: Spec): PlanMount {
  const o = parseMountOptions(m.options);
  const out: PlanMount = {
    flags: o.flags,
    propagation: o.propagation,
    attrSet: o.attrSet,
    attrClr: o.attrClr,
    ext: o.ext,
    source: m.source ?? '',
    destination: posix.resolve('/', m.destination),
    type: m.type ?? '',
    data: o.data,
  };
  if (isBindMount(m)) {
    out.flags |= MS.BIND;
    out.ext |= MountExt.BIND;
    out.type = 'bind';
    out.data = ''; // ignored by the kernel on a bind (validate and --debug warn)
    if (o.clearedFlags !== 0n) out.ext |= MountExt.REMOUNT;
    if (!posix.isAbsolute(out.source)) out.source = posix.join(bundleDir, out.source);
  }
  if (o.idmap || m.uidMappings !== undefined || m.gidMappings !== undefined) out.idmap = mountIdmap(m, at, spec);
  return out;
}

/**
 * The user namespace an id-mapped mount takes its mapping from, as runc 1.2 picks it: the
 * mount's own uidMappings/gidMappings, else the container's user namespace (its mappings,
 * or its path when it is joined). "ridmap" maps the mounts below too.
 */
function mountIdmap(m: Mount, at: string, spec: Spec | undefined): PlanMountIdmap {
  const recursive = (m.options ?? []).includes('ridmap') ? MountIdmapFlag.RECURSIVE : 0;
  const text = (maps: readonly LinuxIDMapping[]) => maps.map((x) => `${x.containerID} ${x.hostID} ${x.size}\n`).join('');
  const userns = (spec?.linux?.namespaces ?? []).find((n) => n.type === 'user');
  if (m.uidMappings !== undefined || m.gidMappings !== undefined) {
    if (!m.uidMappings?.length) throw new HakoError(`${at}/uidMappings: is required (non-empty) for an id-mapped mount`, { pointer: `${at}/uidMappings` });
    if (!m.gidMappings?.length) throw new HakoError(`${at}/gidMappings: is required (non-empty) for an id-mapped mount`, { pointer: `${at}/gidMappings` });
    if (!isBindMount(m) && userns !== undefined && !userns.path) {
      // Made inside the container's user namespace: the mapping's too, in its ids.
      const uid = inContainerIds(m.uidMappings, spec?.linux?.uidMappings ?? [], `${at}/uidMappings`, '/linux/uidMappings');
      const gid = inContainerIds(m.gidMappings, spec?.linux?.gidMappings ?? [], `${at}/gidMappings`, '/linux/gidMappings');
      return { flags: recursive | MountIdmapFlag.IN_CONTAINER, uidMap: text(uid), gidMap: text(gid), usernsPath: '', pointer: at };
    }
    return { flags: recursive, uidMap: text(m.uidMappings), gidMap: text(m.gidMappings), usernsPath: '', pointer: at };
  }
  if (userns?.path) return { flags: recursive, uidMap: '', gidMap: '', usernsPath: userns.path, pointer: at };
  const uid = spec?.linux?.uidMappings ?? [];
  const gid = spec?.linux?.gidMappings ?? [];
  if (userns === undefined || uid.length === 0 || gid.length === 0) {
    throw new HakoError(`${at}: an id-mapped mount needs uidMappings and gidMappings on the mount, or a user namespace`, { pointer: at });
  }
  if (!isBindMount(m)) {
    // The container's own mapping, for a filesystem made inside its user namespace: the
    // identity in its ids, which the kernel refuses as the filesystem's own.
    throw new HakoError(`${at}: a ${JSON.stringify(m.type ?? '')} mount made in the container's user namespace cannot take that namespace's own mapping: give the mount uidMappings and gidMappings`, { pointer: at });
  }
  return { flags: recursive, uidMap: text(uid), gidMap: text(gid), usernsPath: '', pointer: at };
}

/**
 * A mount's mappings with their host side in the container's ids (through the container's
 * own mappings), split where they cross from one of its ranges to the next. Every host id
 * must be mapped in the container.
 */
function inContainerIds(maps: readonly LinuxIDMapping[], container: readonly LinuxIDMapping[], at: string, containerAt: string): LinuxIDMapping[] {
  const out: LinuxIDMapping[] = [];
  maps.forEach((m, k) => {
    let done = 0;
    while (done < m.size) {
      const host = m.hostID + done;
      const c = container.find((x) => host >= x.hostID && host < x.hostID + x.size);
      if (c === undefined) {
        throw new HakoError(`${at}/${k}: host id ${host} is not mapped in the container's user namespace (${containerAt}): a mount made inside it can only be id-mapped to the container's ids`, { pointer: `${at}/${k}` });
      }
      const size = Math.min(m.size - done, c.hostID + c.size - host);
      out.push({ containerID: m.containerID + done, hostID: c.containerID + (host - c.hostID), size });
      done += size;
    }
  });
  return out;
}

// ---------------------------------------------------------------- process

function u64(value: number, at: string): bigint {
  if (!Number.isInteger(value) || value < 0) throw new HakoError(`${value} is not an unsigned 64-bit integer`, { pointer: at });
  const v = BigInt(value);
  return v > RLIM_INFINITY ? RLIM_INFINITY : v;
}

/** process.rlimits as plan rlimits (also the exec plan's). */
export function rlimits(proc: Process): PlanRlimit[] {
  return (proc.rlimits ?? []).map((r, i) => {
    const resource = RLIMIT[r.type];
    if (resource === undefined) throw new HakoError(`rlimit "${r.type}" is not known`, { pointer: `/process/rlimits/${i}/type` });
    return { resource, soft: u64(r.soft, `/process/rlimits/${i}/soft`), hard: u64(r.hard, `/process/rlimits/${i}/hard`) };
  });
}

const CAP_SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/** The capability names of one set as a bit mask; names hako does not know, or above lastCap, are left out. */
export function capabilityMask(names: readonly string[] | undefined, lastCap = CAP_LAST_CAP): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = capabilityNumber(name);
    if (n !== undefined && n <= lastCap) mask |= 1n << BigInt(n);
  }
  return mask;
}

/** Capability names in process.capabilities the masks leave out (unknown, or above lastCap): for a warning. */
export function unknownCapabilities(caps: LinuxCapabilities | undefined, lastCap = CAP_LAST_CAP): string[] {
  const out = new Set<string>();
  for (const set of CAP_SETS) {
    for (const name of caps?.[set] ?? []) {
      const n = capabilityNumber(name);
      if (n === undefined || n > lastCap) out.add(name);
    }
  }
  return [...out];
}

/** process.capabilities as the plan's masks (also the exec plan's). */
export function capabilities(caps: LinuxCapabilities, lastCap: number | undefined): PlanCapabilities {
  const mask = (set: (typeof CAP_SETS)[number]) => capabilityMask(caps[set], lastCap);
  return {
    bounding: mask('bounding'),
    effective: mask('effective'),
    permitted: mask('permitted'),
    inheritable: mask('inheritable'),
    ambient: mask('ambient'),
  };
}

/** process.scheduler as sched_setattr's attributes; `at` is its JSON pointer (also the exec plan's). */
export function planScheduler(s: Scheduler, at: string): PlanScheduler {
  const policy = SCHED_POLICY[s.policy];
  if (policy === undefined) throw new HakoError(`scheduler policy "${s.policy}" is not known`, { pointer: `${at}/policy` });
  let flags = 0n;
  (s.flags ?? []).forEach((name, i) => {
    const bit = SCHED_FLAG[name];
    if (bit === undefined) throw new HakoError(`scheduler flag "${name}" is not known`, { pointer: `${at}/flags/${i}` });
    flags |= bit;
  });
  const u64 = (v: number | undefined, key: string): bigint => {
    if (v === undefined) return 0n;
    if (!Number.isSafeInteger(v) || v < 0) throw new HakoError(`${v} is not an unsigned 64-bit integer`, { pointer: `${at}/${key}` });
    return BigInt(v);
  };
  return {
    policy,
    flags,
    nice: s.nice ?? 0,
    priority: s.priority ?? 0,
    runtime: u64(s.runtime, 'runtime'),
    deadline: u64(s.deadline, 'deadline'),
    period: u64(s.period, 'period'),
  };
}

/** process.ioPriority for ioprio_set (also the exec plan's). */
export function planIoPriority(io: LinuxIOPriority, at: string): PlanIoPriority {
  const cls = IOPRIO_CLASS[io.class];
  if (cls === undefined) throw new HakoError(`I/O priority class "${io.class}" is not known`, { pointer: `${at}/class` });
  if (!Number.isInteger(io.priority) || io.priority < 0 || io.priority > 7) {
    throw new HakoError(`I/O priority ${io.priority} is not between 0 and 7`, { pointer: `${at}/priority` });
  }
  return { class: cls, priority: io.priority };
}

/** linux.personality as personality(2)'s persona (flags ignored, as runc; also the exec plan's). */
export function planPersonality(p: LinuxPersonality): number {
  const domain = PERSONALITY_DOMAIN[p.domain];
  if (domain === undefined) throw new HakoError(`personality domain "${p.domain}" is not known`, { pointer: '/linux/personality/domain' });
  return domain;
}

/** linux.memoryPolicy for set_mempolicy (also the exec plan's). */
export function planMemoryPolicy(mp: LinuxMemoryPolicy): PlanMemoryPolicy {
  const at = '/linux/memoryPolicy';
  const mode = MPOL_MODE[mp.mode];
  if (mode === undefined) throw new HakoError(`memory policy mode "${mp.mode}" is not known`, { pointer: `${at}/mode` });
  let flags = 0;
  (mp.flags ?? []).forEach((name, i) => {
    const bit = MPOL_FLAG[name];
    if (bit === undefined) throw new HakoError(`memory policy flag "${name}" is not known`, { pointer: `${at}/flags/${i}` });
    flags |= bit;
  });
  const { cpus: nodes, error } = parseCpuList(mp.nodes ?? '', 'node');
  if (error !== undefined) throw new HakoError(`bad node list: ${error}`, { pointer: `${at}/nodes` });
  return { mode, flags, nodes: nodes ?? [] };
}

/** A CPU list (execCPUAffinity) as CPU numbers; undefined for "" or absent (no change). */
export function planCpuList(text: string | undefined, at: string): number[] | undefined {
  if (text === undefined) return undefined;
  const { cpus, error } = parseCpuList(text);
  if (error !== undefined) throw new HakoError(`bad CPU list: ${error}`, { pointer: at });
  return cpus;
}

function timeOffsets(spec: Spec): PlanTimeOffset[] {
  const offsets = spec.linux?.timeOffsets ?? {};
  return Object.keys(offsets)
    .sort()
    .map((name) => {
      const clock = TIME_CLOCKS[name];
      if (clock === undefined) throw new HakoError(`"${name}" is not a clock a time namespace offsets`, { pointer: `/linux/timeOffsets/${name}` });
      const o = offsets[name]!;
      return { clock, secs: BigInt(o.secs ?? 0), nanos: o.nanosecs ?? 0 };
    });
}

// ---------------------------------------------------------------- the plan

/** The launch plan for `spec`'s process. Throws HakoError for what it cannot plan. */
export function buildLaunchPlan(spec: Spec, opts: PlanOptions): LaunchPlan {
  const proc = spec.process;
  if (proc === undefined) throw new HakoError('process is required to create a container', { pointer: '/process' });
  const ns = namespaces(spec);
  const userns = ns.has.has('user');

  // Mounts, with the cgroup mount expanded for this host.
  const mounts: PlanMount[] = [];
  const symlinks: PlanSymlink[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const pm = planMount(m, opts.bundleDir, `/mounts/${i}`, spec);
    if ((pm.ext & MountExt.BIND) === 0 && pm.type === 'cgroup') {
      const cg = expandCgroupMount(pm, opts.host, ns.has.has('cgroup'));
      mounts.push(...cg.mounts);
      symlinks.push(...cg.symlinks);
    } else {
      mounts.push(pm);
    }
  });

  let flags = 0n;
  const setupDev = !mounts.some((m) => (m.ext & MountExt.BIND) !== 0 && m.destination === '/dev');
  const devices = setupDev ? setupDevices(spec.linux?.devices ?? [], userns || opts.host.inUserNamespace === true) : [];
  if (setupDev) {
    flags |= PlanFlag.SETUP_DEV;
    symlinks.push(...devSymlinks(opts.host.hasProcKcore));
  }
  if (opts.noPivot) flags |= PlanFlag.NO_PIVOT;
  if (opts.noNewKeyring) flags |= PlanFlag.NO_NEW_KEYRING;
  if (spec.root?.readonly) flags |= PlanFlag.ROOT_READONLY;
  if (proc.terminal) flags |= PlanFlag.TERMINAL;
  if (proc.noNewPrivileges) flags |= PlanFlag.NO_NEW_PRIVS;
  if (opts.chownStdio) flags |= PlanFlag.CHOWN_STDIO;
  if ((ns.cloneFlags & CLONE_NEWUSER) !== 0n) flags |= PlanFlag.USERNS_MAPS;

  let rootPropagation = 0n;
  const rp = spec.linux?.rootfsPropagation;
  if (rp !== undefined) {
    const v = PROPAGATION_TABLE[rp];
    if (v === undefined) throw new HakoError(`rootfsPropagation "${rp}" is not supported`, { pointer: '/linux/rootfsPropagation' });
    rootPropagation = v;
  }

  const sysctl = spec.linux?.sysctl ?? {};
  const plan: LaunchPlan = {
    containerId: opts.containerId,
    rootfs: opts.rootfs,
    flags,
    cloneFlags: ns.cloneFlags,
    joinNamespaces: ns.join,
    rootPropagation,
    mounts,
    devices,
    symlinks,
    maskedPaths: [...(spec.linux?.maskedPaths ?? [])],
    readonlyPaths: [...(spec.linux?.readonlyPaths ?? [])],
    timeOffsets: timeOffsets(spec),
    sysctls: Object.keys(sysctl)
      .sort()
      .map((key) => ({ key, value: sysctl[key]! })),
    args: [...proc.args],
    env: [...(proc.env ?? [])],
    cwd: proc.cwd,
    uid: proc.user.uid,
    gid: proc.user.gid,
    umask: proc.user.umask ?? DEFAULT_UMASK,
    additionalGids: [...(proc.user.additionalGids ?? [])],
    rlimits: rlimits(proc),
    fds: { ...opts.fds },
  };
  if (spec.hostname) plan.hostname = spec.hostname;
  if (spec.domainname) plan.domainname = spec.domainname;
  if (proc.oomScoreAdj !== undefined) plan.oomScoreAdj = BigInt(proc.oomScoreAdj);
  if (proc.consoleSize !== undefined) plan.consoleSize = { rows: proc.consoleSize.height, cols: proc.consoleSize.width };
  // No process.capabilities means no capabilities (as runc), never "keep root's".
  plan.capabilities = capabilities(proc.capabilities ?? {}, opts.host.capLastCap);
  if (opts.seccomp !== undefined) plan.seccomp = { flags: opts.seccomp.flags, listenerSocket: opts.seccomp.listenerSocket, program: opts.seccomp.program };
  if (proc.scheduler !== undefined) plan.scheduler = planScheduler(proc.scheduler, '/process/scheduler');
  if (proc.ioPriority !== undefined) plan.ioPriority = planIoPriority(proc.ioPriority, '/process/ioPriority');
  if (spec.linux?.personality !== undefined) plan.personality = planPersonality(spec.linux.personality);
  if (spec.linux?.memoryPolicy !== undefined) plan.memoryPolicy = planMemoryPolicy(spec.linux.memoryPolicy);
  return plan;
}
