// Checks the schemas cannot express: rules that tie fields together, and the rules runc
// enforces beyond the spec (libcontainer/configs/validate, specconv). Each check is a
// small function from an already schema-valid document to the problems it finds.
//
// Decisions that differ from a plain reading of runc:
// - A relative mount destination is accepted (the spec allows it for old configs and
//   runc only warns); configWarnings() reports it.
// - A user namespace joined by path *and* given mappings is accepted (containerd and
//   CRI-O write both; runc accepts it when the mappings match the namespace's, which
//   only the create path can read); configWarnings() reports it.
// - errnoRet/defaultErrnoRet with an action that takes no errno is an error, as the
//   spec says (runc silently ignores it).
// - A joined network namespace counts as private for net.* sysctls; runc also refuses
//   a path that is the host's own netns, which needs a stat at create time.
// - cgroupsPath ".." components are refused rather than cleaned away.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { KNOWN_MOUNT_OPTIONS, isBindMount, isIdMappedMount } from './mount-options.js';
import { type Problem, escapeToken, pointer, problem } from './problem.js';
import { parseCpuList } from './cpu-list.js';
import { flatMap } from '../flat-map.js';

export { MAX_CPU, parseCpuList } from './cpu-list.js';
import type { LinuxIDMapping, LinuxNamespace, LinuxNamespaceType, LinuxSeccompAction, Process, Spec } from './types.js';

export interface SemanticOptions {
  /** The bundle directory: enables the checks that look at the filesystem. */
  bundleDir?: string;
  /** The cgroup manager the container will use; "systemd" wants "slice:prefix:name". */
  cgroupManager?: 'cgroupfs' | 'systemd';
  /** The root will be entered with chroot/MS_MOVE instead of pivot_root (--no-pivot). */
  noPivotRoot?: boolean;
}

type SpecCheck = (spec: Spec, opts: SemanticOptions) => Problem[];
type ProcessCheck = (proc: Process, base: string) => Problem[];

// ---------------------------------------------------------------- helpers

function namespaces(spec: Spec): LinuxNamespace[] {
  return spec.linux?.namespaces ?? [];
}

function findNamespace(spec: Spec, type: LinuxNamespaceType): LinuxNamespace | undefined {
  return namespaces(spec).find((ns) => ns.type === type);
}

function hasNamespace(spec: Spec, type: LinuxNamespaceType): boolean {
  return findNamespace(spec, type) !== undefined;
}

function isJoined(ns: LinuxNamespace | undefined): boolean {
  return ns?.path !== undefined && ns.path !== '';
}

function nonEmpty(list: unknown[] | undefined): boolean {
  return list !== undefined && list.length > 0;
}

function quoted(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

// ---------------------------------------------------------------- process

export const KNOWN_RLIMITS: readonly string[] = [
  'RLIMIT_AS', 'RLIMIT_CORE', 'RLIMIT_CPU', 'RLIMIT_DATA', 'RLIMIT_FSIZE', 'RLIMIT_LOCKS',
  'RLIMIT_MEMLOCK', 'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_NOFILE', 'RLIMIT_NPROC',
  'RLIMIT_RSS', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME', 'RLIMIT_SIGPENDING', 'RLIMIT_STACK',
];

/** An rlimit type the kernel knows, listed once, with soft <= hard. */
export const rlimits: ProcessCheck = (proc, base) => {
  const out: Problem[] = [];
  const seen = new Map<string, number>();
  (proc.rlimits ?? []).forEach((r, i) => {
    const at = `${base}/rlimits/${i}`;
    if (!KNOWN_RLIMITS.includes(r.type)) {
      out.push(problem(`${at}/type`, `must be a Linux rlimit: one of ${quoted(KNOWN_RLIMITS)}`));
    }
    const first = seen.get(r.type);
    if (first !== undefined) {
      out.push(problem(`${at}/type`, `${JSON.stringify(r.type)} is listed twice (first at ${base}/rlimits/${first})`));
    } else {
      seen.set(r.type, i);
    }
    if (r.soft > r.hard) out.push(problem(`${at}/soft`, `must not be greater than hard (${r.hard})`));
  });
  return out;
};

/**
 * sched_setattr(2) rules: runc's (nice range for the fair policies, priority only for the
 * real-time ones, runtime/deadline/period only for SCHED_DEADLINE), and what the kernel
 * would refuse with a bare EINVAL once the container is half made (a real-time priority
 * outside 1..99; a deadline task without a runtime of at least 1024 ns, runtime <=
 * deadline <= period).
 */
export const scheduler: ProcessCheck = (proc, base) => {
  const s = proc.scheduler;
  if (s === undefined) return [];
  const at = `${base}/scheduler`;
  const out: Problem[] = [];
  const nice = s.nice ?? 0;
  const realtime = s.policy === 'SCHED_FIFO' || s.policy === 'SCHED_RR';
  if ((s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH') && (nice < -20 || nice > 19)) {
    out.push(problem(`${at}/nice`, `must be between -20 and 19 with ${s.policy}`));
  }
  const priority = s.priority ?? 0;
  if (priority !== 0 && !realtime) {
    out.push(problem(`${at}/priority`, 'can only be set with SCHED_FIFO or SCHED_RR'));
  }
  if (realtime && (priority < 1 || priority > 99)) {
    out.push(problem(`${at}/priority`, `must be between 1 and 99 with ${s.policy}`));
  }
  if (s.policy !== 'SCHED_DEADLINE') {
    for (const key of ['runtime', 'deadline', 'period'] as const) {
      if ((s[key] ?? 0) !== 0) out.push(problem(`${at}/${key}`, 'can only be set with SCHED_DEADLINE'));
    }
  } else {
    out.push(...deadlineProblems(s.runtime ?? 0, s.deadline ?? 0, s.period ?? 0, at));
  }
  return out;
};

/** The kernel's __checkparam_dl, less the period bounds its sysctls set. */
function deadlineProblems(runtime: number, deadline: number, period: number, at: string): Problem[] {
  const out: Problem[] = [];
  const tooBig = 2 ** 63;
  if (runtime < 1024) out.push(problem(`${at}/runtime`, 'must be at least 1024 (nanoseconds) with SCHED_DEADLINE'));
  if (deadline === 0) out.push(problem(`${at}/deadline`, 'is required with SCHED_DEADLINE'));
  else if (deadline >= tooBig) out.push(problem(`${at}/deadline`, 'must be below 2^63'));
  else if (deadline < runtime) out.push(problem(`${at}/deadline`, `must not be less than runtime (${runtime})`));
  if (period >= tooBig) out.push(problem(`${at}/period`, 'must be below 2^63'));
  else if (period !== 0 && period < deadline) out.push(problem(`${at}/period`, `must be 0 or not less than deadline (${deadline})`));
  return out;
}

/** execCPUAffinity: each list must parse (runc's rules). */
export const execCPUAffinity: ProcessCheck = (proc, base) => {
  const a = proc.execCPUAffinity;
  if (a === undefined) return [];
  const out: Problem[] = [];
  for (const key of ['initial', 'final'] as const) {
    const text = a[key];
    if (text === undefined) continue;
    const { error } = parseCpuList(text);
    if (error !== undefined) out.push(problem(`${base}/execCPUAffinity/${key}`, error));
  }
  return out;
};

// Every string of a config reaches a system call as a C string (a path, an argument, an
// environment entry, a mount option, a name, a sysctl): a NUL byte would cut it short, so
// it is refused where it is, keys too (annotations excepted: they only go into JSON).
// Iterative, and at most 20 reported: a hostile config may hold a great many. JSON.stringify
// writes a NUL as \u0000: a document whose text has no such escape has none, and is not
// walked (the walk, a pointer per value, cost a create 0.5-1 ms in the Bun build).
function nulBytes(value: unknown, base: string, skip: (at: string) => boolean = () => false): Problem[] {
  if (!(JSON.stringify(value) ?? '').includes('\\u0000')) return [];
  const out: Problem[] = [];
  const stack: [unknown, string][] = [[value, base]];
  while (stack.length > 0 && out.length < 20) {
    const [v, at] = stack.pop()!;
    if (skip(at)) continue;
    if (typeof v === 'string') {
      if (v.includes('\0')) out.push(problem(at, 'must not contain a NUL byte'));
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}/${i}`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v).reverse()) {
        const here = `${at}/${escapeToken(k)}`;
        if (k.includes('\0') && !skip(here)) out.push(problem(here, 'must not contain a NUL byte (in its key)'));
        else stack.push([child, here]);
      }
    }
  }
  return out;
}

const noNulInProcess: ProcessCheck = (proc, base) => nulBytes(proc, base);

/** The rest of the config (the process with the process checks, cgroupsPath with its own). */
export const noNulBytes: SpecCheck = (spec) => nulBytes(spec, '', (at) => at === '/process' || at === '/annotations' || at === '/linux/cgroupsPath');

const PROCESS_CHECKS: ProcessCheck[] = [rlimits, scheduler, execCPUAffinity, noNulInProcess];

/** Semantic checks of a process object; pointers start at `base` ("" for process.json). */
export function processProblems(proc: Process, base = ''): Problem[] {
  return flatMap(PROCESS_CHECKS, (check) => check(proc, base));
}

// ---------------------------------------------------------------- namespaces and ids

/** A namespace type may appear once. */
export const duplicateNamespaces: SpecCheck = (spec) => {
  const out: Problem[] = [];
  const seen = new Map<string, number>();
  namespaces(spec).forEach((ns, i) => {
    const first = seen.get(ns.type);
    if (first === undefined) seen.set(ns.type, i);
    else
      out.push(
        problem(pointer('linux', 'namespaces', i, 'type'), `${JSON.stringify(ns.type)} is listed twice (first at /linux/namespaces/${first})`),
      );
  });
  return out;
};

/** uid/gid mappings go with a user namespace; a new one needs both. */
export const userNamespaceMappings: SpecCheck = (spec) => {
  const linux = spec.linux;
  const uid = nonEmpty(linux?.uidMappings);
  const gid = nonEmpty(linux?.gidMappings);
  const userns = findNamespace(spec, 'user');
  const out: Problem[] = [];
  if (userns === undefined) {
    if (uid) out.push(problem('/linux/uidMappings', 'needs a user namespace in linux.namespaces'));
    if (gid) out.push(problem('/linux/gidMappings', 'needs a user namespace in linux.namespaces'));
    return out;
  }
  if (isJoined(userns)) return out; // mappings with a path: see configWarnings
  if (!uid) out.push(problem('/linux/uidMappings', 'is required when creating a user namespace'));
  if (!gid) out.push(problem('/linux/gidMappings', 'is required when creating a user namespace'));
  return out;
};

export const TIME_CLOCKS: readonly string[] = ['monotonic', 'boottime'];

/** timeOffsets need a new time namespace, name real clocks, and keep nanosecs < 1s. */
export const timeOffsets: SpecCheck = (spec) => {
  const offsets = spec.linux?.timeOffsets;
  if (offsets === undefined) return [];
  const timens = findNamespace(spec, 'time');
  if (timens === undefined) return [problem('/linux/timeOffsets', 'needs a time namespace in linux.namespaces')];
  if (isJoined(timens)) return [problem('/linux/timeOffsets', 'cannot be set when joining a time namespace by path')];
  const out: Problem[] = [];
  for (const [clock, offset] of Object.entries(offsets)) {
    if (!TIME_CLOCKS.includes(clock)) {
      out.push(problem(pointer('linux', 'timeOffsets', clock), `is not a clock: must be one of ${quoted(TIME_CLOCKS)}`));
    }
    if ((offset.nanosecs ?? 0) >= 1e9) {
      out.push(problem(pointer('linux', 'timeOffsets', clock, 'nanosecs'), 'must be less than 1000000000'));
    }
  }
  return out;
};

/** hostname and domainname are set in a UTS namespace of the container's own. */
export const utsNamespace: SpecCheck = (spec) => {
  if (hasNamespace(spec, 'uts')) return [];
  const out: Problem[] = [];
  if (spec.hostname) out.push(problem('/hostname', 'needs a UTS namespace in linux.namespaces'));
  if (spec.domainname) out.push(problem('/domainname', 'needs a UTS namespace in linux.namespaces'));
  return out;
};

/** Masking and read-only remounts need a mount namespace (runc). */
export const pathRestrictions: SpecCheck = (spec) => {
  if (hasNamespace(spec, 'mount')) return [];
  const out: Problem[] = [];
  if (nonEmpty(spec.linux?.maskedPaths)) out.push(problem('/linux/maskedPaths', 'needs a mount namespace in linux.namespaces'));
  if (nonEmpty(spec.linux?.readonlyPaths)) out.push(problem('/linux/readonlyPaths', 'needs a mount namespace in linux.namespaces'));
  return out;
};

// ---------------------------------------------------------------- sysctl

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/** sysctl(8) accepts "net/ipv4/ip_forward" for "net.ipv4.ip_forward". */
export function normalizeSysctlKey(key: string): string {
  const sep = key.search(/[./]/);
  if (sep === -1 || key[sep] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** Which namespace a sysctl needs, or why it is refused. */
function sysctlProblem(spec: Spec, key: string): string | undefined {
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
    return hasNamespace(spec, 'ipc') ? undefined : 'needs an IPC namespace in linux.namespaces';
  }
  if (key.startsWith('net.')) {
    return hasNamespace(spec, 'network') ? undefined : 'needs a network namespace in linux.namespaces';
  }
  if (key === 'kernel.hostname') return 'cannot be set as a sysctl: use the "hostname" field';
  if (key === 'kernel.domainname') {
    return hasNamespace(spec, 'uts') ? undefined : 'needs a UTS namespace in linux.namespaces';
  }
  if (key.startsWith('user.')) {
    return hasNamespace(spec, 'user') ? undefined : 'needs a user namespace in linux.namespaces';
  }
  return 'is not namespaced: setting it would change the host';
}

export const sysctls: SpecCheck = (spec) => {
  const out: Problem[] = [];
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    const message = sysctlProblem(spec, normalizeSysctlKey(key));
    if (message !== undefined) out.push(problem(pointer('linux', 'sysctl', key), message));
  }
  return out;
};

// ---------------------------------------------------------------- mounts

/** A bind mount needs a source. */
export const bindMountSource: SpecCheck = (spec) =>
  flatMap(spec.mounts ?? [], (m, i) =>
    isBindMount(m) && !m.source ? [problem(pointer('mounts', i, 'source'), 'is required for a bind mount')] : [],
  );

/**
 * Id-mapped mounts: both mappings or neither, and a user namespace to borrow from. Bind
 * mounts and other types alike: whether a filesystem can be id-mapped is the kernel's
 * answer, given at create with the mount named.
 */
export const idMappedMounts: SpecCheck = (spec) => {
  const out: Problem[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    if (!isIdMappedMount(m)) return;
    const uid = m.uidMappings !== undefined;
    const gid = m.gidMappings !== undefined;
    if (uid && !gid) out.push(problem(pointer('mounts', i, 'gidMappings'), 'is required with uidMappings'));
    if (gid && !uid) out.push(problem(pointer('mounts', i, 'uidMappings'), 'is required with gidMappings'));
    if (uid && m.uidMappings!.length === 0) out.push(problem(pointer('mounts', i, 'uidMappings'), 'must not be empty for an id-mapped mount'));
    if (gid && m.gidMappings!.length === 0) out.push(problem(pointer('mounts', i, 'gidMappings'), 'must not be empty for an id-mapped mount'));
    if (!uid && !gid && !hasNamespace(spec, 'user')) {
      const k = (m.options ?? []).findIndex((o) => o === 'idmap' || o === 'ridmap');
      out.push(problem(pointer('mounts', i, 'options', k), `${JSON.stringify(m.options![k])} needs uidMappings and gidMappings on the mount, or a user namespace`));
    }
  });
  return out;
};

/** The kernel's limit on the lines of a uid_map or gid_map (since Linux 4.15). */
export const MAX_ID_MAP_LINES = 340;
const ID_LIMIT = 2 ** 32;

/**
 * One list of id mappings as the kernel takes it in a uid_map/gid_map: sizes of at least
 * 1, ranges inside 32 bits, no two ranges overlapping on either side, at most 340.
 */
export function idMappingProblems(maps: readonly LinuxIDMapping[] | undefined, at: string): Problem[] {
  if (maps === undefined) return [];
  const out: Problem[] = [];
  if (maps.length > MAX_ID_MAP_LINES) out.push(problem(at, `has ${maps.length} mappings: the kernel takes at most ${MAX_ID_MAP_LINES}`));
  maps.forEach((m, k) => {
    if (m.size < 1) {
      out.push(problem(`${at}/${k}/size`, 'must be at least 1'));
      return;
    }
    for (const side of ['containerID', 'hostID'] as const) {
      if (m[side] + m.size > ID_LIMIT) {
        out.push(problem(`${at}/${k}`, `${side} ${m[side]} + size ${m.size} goes beyond the last id (${ID_LIMIT - 1})`));
      }
    }
    for (let j = 0; j < k; j++) {
      const o = maps[j]!;
      if (o.size < 1) continue;
      for (const side of ['containerID', 'hostID'] as const) {
        if (m[side] < o[side] + o.size && o[side] < m[side] + m.size) {
          out.push(problem(`${at}/${k}`, `its ${side} range [${m[side]}, ${m[side] + m.size - 1}] overlaps that of ${at}/${j} ([${o[side]}, ${o[side] + o.size - 1}])`));
        }
      }
    }
  });
  return out;
}

/** linux.uidMappings/gidMappings and every mount's: each list as the kernel takes it. */
export const idMappingRanges: SpecCheck = (spec) => [
  ...idMappingProblems(spec.linux?.uidMappings, '/linux/uidMappings'),
  ...idMappingProblems(spec.linux?.gidMappings, '/linux/gidMappings'),
  ...flatMap(spec.mounts ?? [], (m, i) => [
    ...idMappingProblems(m.uidMappings, pointer('mounts', i, 'uidMappings')),
    ...idMappingProblems(m.gidMappings, pointer('mounts', i, 'gidMappings')),
  ]),
];

/**
 * In a new user namespace, the process's uid and gid must be mapped: an id without a
 * mapping cannot be taken (a mapping without root in it, and a process that runs as root).
 */
export const processUserMapped: SpecCheck = (spec) => {
  const userns = findNamespace(spec, 'user');
  if (userns === undefined || isJoined(userns)) return [];
  const user = spec.process?.user;
  if (user === undefined) return [];
  const mapped = (maps: readonly LinuxIDMapping[] | undefined, id: number) =>
    maps === undefined || maps.length === 0 || maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
  const out: Problem[] = [];
  if (!mapped(spec.linux?.uidMappings, user.uid)) out.push(problem('/process/user/uid', `${user.uid} is not mapped in /linux/uidMappings: the container has no such user`));
  if (!mapped(spec.linux?.gidMappings, user.gid)) out.push(problem('/process/user/gid', `${user.gid} is not mapped in /linux/gidMappings: the container has no such group`));
  (user.additionalGids ?? []).forEach((g, k) => {
    if (!mapped(spec.linux?.gidMappings, g)) out.push(problem(`/process/user/additionalGids/${k}`, `${g} is not mapped in /linux/gidMappings`));
  });
  return out;
};

// ---------------------------------------------------------------- devices and resources

/** c, b and u devices need major and minor numbers. */
export const deviceNumbers: SpecCheck = (spec) =>
  flatMap(spec.linux?.devices ?? [], (d, i) => {
    if (d.type === 'p') return [];
    const out: Problem[] = [];
    if (d.major === undefined) out.push(problem(pointer('linux', 'devices', i, 'major'), `is required for a "${d.type}" device`));
    if (d.minor === undefined) out.push(problem(pointer('linux', 'devices', i, 'minor'), `is required for a "${d.type}" device`));
    return out;
  });

/** runc refuses a device cgroup rule without access. */
export const deviceRuleAccess: SpecCheck = (spec) =>
  flatMap(spec.linux?.resources?.devices ?? [], (d, i) =>
    d.access === undefined ? [problem(pointer('linux', 'resources', 'devices', i, 'access'), 'is required')] : [],
  );

/** memory.swap counts memory plus swap, so it cannot be below memory.limit. */
export const memorySwap: SpecCheck = (spec) => {
  const mem = spec.linux?.resources?.memory;
  if (mem?.limit === undefined || mem.swap === undefined) return [];
  if (mem.limit > 0 && mem.swap > 0 && mem.swap < mem.limit) {
    return [problem('/linux/resources/memory/swap', `must be at least memory.limit (${mem.limit}): it counts memory plus swap`)];
  }
  return [];
};

/** cgroupsPath: "slice:prefix:name" for systemd, a path without ".." for cgroupfs. */
export const cgroupsPath: SpecCheck = (spec, opts) => {
  const path = spec.linux?.cgroupsPath;
  if (path === undefined || path === '') return [];
  const at = '/linux/cgroupsPath';
  if (path.includes('\0')) return [problem(at, 'must not contain a NUL byte')];
  if (opts.cgroupManager === 'systemd') {
    const parts = path.split(':');
    if (parts.length !== 3) return [problem(at, 'must be "slice:prefix:name" with the systemd cgroup manager')];
    const [slice, , name] = parts as [string, string, string];
    if (slice !== '' && (!slice.endsWith('.slice') || slice.includes('/'))) {
      return [problem(at, 'must start with a slice name ending in ".slice" (or be ":prefix:name")')];
    }
    if (name === '') return [problem(at, 'must end with a non-empty name ("slice:prefix:name")')];
    return [];
  }
  if (path.split('/').includes('..')) return [problem(at, 'must not contain ".." components')];
  return [];
};

/**
 * Network devices move into the container's network namespace (new or joined by path, as
 * runc 1.4 allows), under valid names (runc's devValidName, with the kernel's 15 bytes), and
 * beyond runc: no two under the same name inside, and a name template ("eth%d") the kernel
 * takes (one "%d", no other "%").
 */
export const netDevices: SpecCheck = (spec) => {
  const devices = spec.linux?.netDevices;
  if (devices === undefined || Object.keys(devices).length === 0) return [];
  if (!hasNamespace(spec, 'network')) return [problem('/linux/netDevices', 'needs a network namespace in linux.namespaces')];
  const out: Problem[] = [];
  const inside = new Map<string, string>();
  for (const [hostName, dev] of Object.entries(devices)) {
    const at = pointer('linux', 'netDevices', hostName);
    const renamed = dev.name !== undefined && dev.name !== '';
    const name = renamed ? dev.name! : hostName;
    const nameAt = renamed ? `${at}/name` : at;
    if (!validInterfaceName(hostName)) out.push(problem(at, 'is not a valid network interface name'));
    if (renamed && !validInterfaceName(name)) out.push(problem(nameAt, 'is not a valid network interface name'));
    else if (renamed && name.includes('%') && !/^[^%]*%d[^%]*$/.test(name)) {
      out.push(problem(nameAt, 'is not a valid name template: one "%d" and no other "%"'));
    }
    const first = inside.get(name);
    if (first !== undefined && !name.includes('%')) out.push(problem(nameAt, `is also the name ${first} has in the container`));
    else inside.set(name, at);
  }
  return out;
};

/** The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no "/", ":" or whitespace. */
function validInterfaceName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

// ---------------------------------------------------------------- seccomp

const ERRNO_ACTIONS: readonly LinuxSeccompAction[] = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'];

export const seccomp: SpecCheck = (spec) => {
  const sc = spec.linux?.seccomp;
  if (sc === undefined) return [];
  const at = '/linux/seccomp';
  const out: Problem[] = [];
  if (sc.defaultAction === 'SCMP_ACT_NOTIFY') out.push(problem(`${at}/defaultAction`, 'cannot be SCMP_ACT_NOTIFY'));
  if (sc.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.includes(sc.defaultAction)) {
    out.push(problem(`${at}/defaultErrnoRet`, 'only applies when defaultAction is SCMP_ACT_ERRNO or SCMP_ACT_TRACE'));
  }
  if (sc.listenerMetadata !== undefined && sc.listenerMetadata !== '' && !sc.listenerPath) {
    out.push(problem(`${at}/listenerMetadata`, 'needs listenerPath'));
  }
  let notify = false;
  (sc.syscalls ?? []).forEach((call, i) => {
    const cat = `${at}/syscalls/${i}`;
    call.names.forEach((name, k) => {
      if (name === '') out.push(problem(`${cat}/names/${k}`, 'must not be empty'));
      if (name === 'write' && call.action === 'SCMP_ACT_NOTIFY') {
        out.push(problem(`${cat}/names/${k}`, '"write" cannot use SCMP_ACT_NOTIFY (the runtime needs it to hand over the listener)'));
      }
    });
    if (call.action === 'SCMP_ACT_NOTIFY') notify = true;
    if (call.errnoRet !== undefined && !ERRNO_ACTIONS.includes(call.action)) {
      out.push(problem(`${cat}/errnoRet`, 'only applies with SCMP_ACT_ERRNO or SCMP_ACT_TRACE'));
    }
    (call.args ?? []).forEach((arg, k) => {
      if (arg.index > 5) out.push(problem(`${cat}/args/${k}/index`, 'must be between 0 and 5 (a syscall has six arguments)'));
    });
  });
  if (notify && !sc.listenerPath) out.push(problem(`${at}/listenerPath`, 'is required when a rule uses SCMP_ACT_NOTIFY'));
  return out;
};

// ---------------------------------------------------------------- other linux parts

/** Without pivot_root a private root would hide the old root's mounts from cleanup (runc refuses it). */
export const rootfsPropagation: SpecCheck = (spec, opts) => {
  const prop = spec.linux?.rootfsPropagation;
  if (!opts.noPivotRoot || (prop !== 'private' && prop !== 'rprivate')) return [];
  return [problem('/linux/rootfsPropagation', `${JSON.stringify(prop)} is not safe without pivot_root (--no-pivot)`)];
};

/**
 * set_mempolicy(2), as runc 1.4 checks it: the node list parses as a CPU list does; some
 * modes take no nodes, others need at least one (MPOL_PREFERRED takes either).
 */
export const memoryPolicy: SpecCheck = (spec) => {
  const mp = spec.linux?.memoryPolicy;
  if (mp === undefined) return [];
  const at = '/linux/memoryPolicy/nodes';
  const { cpus: nodes, error } = parseCpuList(mp.nodes ?? '', 'node');
  if (error !== undefined) return [problem(at, error)];
  const hasNodes = nodes !== undefined;
  switch (mp.mode) {
    case 'MPOL_DEFAULT':
    case 'MPOL_LOCAL':
      return hasNodes ? [problem(at, `must be empty with ${mp.mode}`)] : [];
    case 'MPOL_BIND':
    case 'MPOL_INTERLEAVE':
    case 'MPOL_WEIGHTED_INTERLEAVE':
    case 'MPOL_PREFERRED_MANY':
      return hasNodes ? [] : [problem(at, `must name at least one node with ${mp.mode}`)];
    default:
      return [];
  }
};

/** closID names one resctrl directory ("/" is the default group). */
export const intelRdt: SpecCheck = (spec) => {
  const clos = spec.linux?.intelRdt?.closID;
  if (clos === undefined) return [];
  if (clos === '.' || clos === '..' || (clos.length > 1 && clos.includes('/'))) {
    return [problem('/linux/intelRdt/closID', 'must be a single directory name (or "/")')];
  }
  return [];
};

export const processChecks: SpecCheck = (spec) => (spec.process ? processProblems(spec.process, '/process') : []);

// ---------------------------------------------------------------- bundle

/** root.path, relative to the bundle, must be an existing directory. */
export const rootDirectory: SpecCheck = (spec, opts) => {
  if (opts.bundleDir === undefined || spec.root === undefined) return [];
  const path = resolve(opts.bundleDir, spec.root.path);
  let st;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    return [problem('/root/path', `cannot stat ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)];
  }
  if (st === undefined) return [problem('/root/path', `${path} does not exist`)];
  if (!st.isDirectory()) return [problem('/root/path', `${path} is not a directory`)];
  return [];
};

// ---------------------------------------------------------------- all together

export const SPEC_CHECKS: readonly SpecCheck[] = [
  processChecks,
  noNulBytes,
  duplicateNamespaces,
  userNamespaceMappings,
  idMappingRanges,
  processUserMapped,
  timeOffsets,
  utsNamespace,
  pathRestrictions,
  sysctls,
  bindMountSource,
  idMappedMounts,
  deviceNumbers,
  deviceRuleAccess,
  memorySwap,
  cgroupsPath,
  rootfsPropagation,
  netDevices,
  seccomp,
  memoryPolicy,
  intelRdt,
  rootDirectory,
];

/** Every semantic problem of a schema-valid config. */
export function semanticProblems(spec: Spec, opts: SemanticOptions = {}): Problem[] {
  return flatMap(SPEC_CHECKS, (check) => check(spec, opts));
}

/** Accepted but doubtful: shown to the user as warnings, never refused. */
export function semanticWarnings(spec: Spec): Problem[] {
  const out: Problem[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    if (!m.destination.startsWith('/')) {
      out.push(problem(pointer('mounts', i, 'destination'), 'is relative: taken as relative to "/" (deprecated)'));
    }
  });
  // Filesystem data on a bind mount: the kernel ignores it. runc 1.1.5 accepts it (1.2
  // refuses it), and the conformance suite sends mode= and size= on every mount.
  (spec.mounts ?? []).forEach((m, i) => {
    if (!isBindMount(m)) return;
    (m.options ?? []).forEach((o, k) => {
      if (!KNOWN_MOUNT_OPTIONS.has(o)) {
        out.push(problem(pointer('mounts', i, 'options', k), `${JSON.stringify(o)} is a filesystem option: it has no effect on a bind mount`));
      }
    });
  });
  if (nonEmpty(spec.linux?.personality?.flags)) {
    out.push(problem('/linux/personality/flags', 'is ignored: no personality flags are supported (runc ignores them too)'));
  }
  const userns = findNamespace(spec, 'user');
  if (isJoined(userns) && (nonEmpty(spec.linux?.uidMappings) || nonEmpty(spec.linux?.gidMappings))) {
    out.push(problem('/linux/uidMappings', 'is ignored: the user namespace is joined by path, and its own mappings apply'));
  }
  return out;
}
