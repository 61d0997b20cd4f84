// The launch plan in TypeScript: the mirror of `struct Plan` in cpp/common/plan.h,
// which is the one definition of the plan and of its wire format. Field names are the
// ones plan_to_json (cpp/common/plan.cc) prints; 64-bit values are bigint.
//
// Also here: the kernel's numbers the plan is made of (clone flags, mount flags, mount
// attributes, rlimits, capabilities), so nothing else in src/ spells them out.

// ---------------------------------------------------------------- plan.h

export const PLAN_MAGIC = 'HAKOPLAN';
export const PLAN_VERSION = 1;

/** Record tags (enum PlanTag). */
export const PlanTag = {
  CONTAINER_ID: 1,
  ROOTFS: 2,
  FLAGS: 3,
  CLONE_FLAGS: 4,
  JOIN_NS: 5,
  ROOT_PROPAGATION: 6,
  MOUNT: 7,
  DEVICE: 8,
  SYMLINK: 9,
  MASKED_PATH: 10,
  READONLY_PATH: 11,
  HOSTNAME: 12,
  DOMAINNAME: 13,
  TIME_OFFSET: 14,
  SYSCTL: 15,
  ARG: 20,
  ENV: 21,
  CWD: 22,
  USER: 23,
  ADDITIONAL_GID: 24,
  RLIMIT: 25,
  OOM_SCORE_ADJ: 26,
  CONSOLE_SIZE: 27,
  CAPABILITIES: 28,
  FDS: 29,
  SECCOMP: 30,
  HOOK: 31,
  HOOK_STATE: 32,
  SCHEDULER: 33,
  IO_PRIORITY: 34,
  CPU_AFFINITY: 35,
  PERSONALITY: 36,
  MEMORY_POLICY: 37,
  CGROUP2_DIR: 38,
  MOUNT_IDMAP: 60,
} as const;

/** Plan.flags bits (enum PlanFlag). */
export const PlanFlag = {
  /** MS_MOVE the rootfs onto / and chroot instead of pivot_root */
  NO_PIVOT: 1n << 0n,
  /** do not join a new session keyring "_ses.<id>" */
  NO_NEW_KEYRING: 1n << 1n,
  /** remount / read-only at the end */
  ROOT_READONLY: 1n << 2n,
  /** process.terminal: make a pty in the container */
  TERMINAL: 1n << 3n,
  /** create the default devices, plan.devices and the /dev links */
  SETUP_DEV: 1n << 4n,
  /** prctl(PR_SET_NO_NEW_PRIVS) */
  NO_NEW_PRIVS: 1n << 5n,
  /** fchown fds 0-2 to the container's root */
  CHOWN_STDIO: 1n << 6n,
  /** a new user namespace: the parent writes the id maps */
  USERNS_MAPS: 1n << 7n,
  /** hako exec: join the container's namespaces, create nothing, set up only the process */
  EXEC: 1n << 8n,
} as const;

/** User.umask value meaning "leave the umask alone". */
export const UMASK_UNSET = 0xffffffff;

/** Mount.ext bits (enum MountExt). */
export const MountExt = {
  BIND: 1 << 0,
  TMPCOPYUP: 1 << 1,
  RRO: 1 << 2,
  RRW: 1 << 3,
  /** a bind whose options cleared flags: remount it even with no flag set */
  REMOUNT: 1 << 4,
} as const;

export interface JoinNamespace {
  /** CLONE_NEW* of the namespace */
  cloneFlag: bigint;
  path: string;
}

export interface PlanMount {
  /** MS_* for mount(2) */
  flags: bigint;
  /** MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (|MS_REC), applied after the mount; 0: none */
  propagation: bigint;
  /** MOUNT_ATTR_* to set with mount_setattr(AT_RECURSIVE) (from the r* options) */
  attrSet: bigint;
  /** MOUNT_ATTR_* to clear with mount_setattr(AT_RECURSIVE) */
  attrClr: bigint;
  /** MountExt bits */
  ext: number;
  source: string;
  /** absolute, inside the container */
  destination: string;
  type: string;
  /** filesystem options, comma-separated */
  data: string;
  /** an id-mapped mount ("idmap"/"ridmap", uidMappings/gidMappings): TAG_MOUNT_IDMAP */
  idmap?: PlanMountIdmap;
}

/** MountIdmap.flags bits (enum MountIdmapFlag). */
export const MountIdmapFlag = {
  /** "ridmap": the mounts below get the mapping too */
  RECURSIVE: 1 << 0,
  /**
   * Not a bind, and the container has a new user namespace: the init makes the mapping's
   * user namespace as a child of its own (mount_setattr wants CAP_SYS_ADMIN over it), so
   * the maps' host side is in the container's ids.
   */
  IN_CONTAINER: 1 << 1,
} as const;

/**
 * The user namespace an id-mapped mount takes its mapping from: uidMap and gidMap (stage 0
 * makes a user namespace with them) or usernsPath (one joined by path).
 */
export interface PlanMountIdmap {
  flags: number;
  /** "containerID hostID size\n" lines, as /proc/<pid>/uid_map takes them */
  uidMap: string;
  gidMap: string;
  usernsPath: string;
  /** the config mount ("/mounts/3"), named in errors */
  pointer: string;
}

/** Device.type values: the characters' codes. */
export const DeviceType = {
  CHAR: 0x63, // 'c'
  BLOCK: 0x62, // 'b'
  FIFO: 0x70, // 'p'
} as const;

export interface PlanDevice {
  /** DeviceType: 'c', 'b' or 'p' as a number */
  type: number;
  major: number;
  minor: number;
  /** permission bits */
  mode: number;
  uid: number;
  gid: number;
  /** 1: bind-mount the host's node instead of mknod (user namespaces) */
  bind: number;
  /** absolute, inside the container */
  path: string;
}

export interface PlanSymlink {
  target: string;
  /** inside the rootfs */
  link: string;
}

export interface PlanTimeOffset {
  /** CLOCK_MONOTONIC (1) or CLOCK_BOOTTIME (7) */
  clock: number;
  secs: bigint;
  nanos: number;
}

export interface PlanSysctl {
  /** dotted, as in the config */
  key: string;
  value: string;
}

export interface PlanRlimit {
  /** RLIMIT_* number */
  resource: number;
  soft: bigint;
  hard: bigint;
}

export interface PlanCapabilities {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

export interface PlanConsoleSize {
  rows: number;
  cols: number;
}

export interface PlanSeccomp {
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER) */
  flags: number;
  /** with SECCOMP_FILTER_FLAG_NEW_LISTENER: the socket the init sends the notification fd over; else -1 */
  listenerSocket: number;
  /** the compiled filter: struct sock_filter[], 8 bytes each */
  program: Uint8Array;
}

export interface PlanFds {
  /** connected console socket, or -1 */
  consoleSocket: number;
  /** O_PATH fd of <state>/exec.fifo, or -1 */
  execFifo: number;
  /** fds 3 .. 3+preserved-1 pass to the process */
  preserved: number;
}

/** Hook.kind (enum HookKind): the hooks hako-init runs itself. */
export const PlanHookKind = {
  /** after HOOKS_DONE, before pivot_root; cwd = the rootfs */
  CREATE_CONTAINER: 0,
  /** after the exec fifo is released, before execve; cwd = process.cwd */
  START_CONTAINER: 1,
} as const;

export interface PlanHook {
  /** PlanHookKind */
  kind: number;
  /** seconds; 0: none */
  timeout: number;
  /** 0: env was absent from the config (a startContainer hook then gets the process's env) */
  hasEnv: number;
  path: string;
  /** argv as is; empty: [path] */
  args: string[];
  env: string[];
}

/** The state JSON of one hook kind: the init writes head + getpid() + tail. */
export interface PlanHookState {
  kind: number;
  head: string;
  tail: string;
}

/** process.scheduler as sched_setattr(2) takes it (struct sched_attr). */
export interface PlanScheduler {
  /** SCHED_* number (SCHED_POLICY) */
  policy: number;
  /** SCHED_FLAG_* bits */
  flags: bigint;
  nice: number;
  priority: number;
  /** nanoseconds, SCHED_DEADLINE only */
  runtime: bigint;
  deadline: bigint;
  period: bigint;
}

/** process.ioPriority for ioprio_set(2). */
export interface PlanIoPriority {
  /** IOPRIO_CLASS number (IOPRIO_CLASS) */
  class: number;
  /** 0 (highest) to 7 */
  priority: number;
}

/** linux.memoryPolicy for set_mempolicy(2). */
export interface PlanMemoryPolicy {
  /** MPOL_* mode (MPOL_MODE) */
  mode: number;
  /** MPOL_F_* mode flags (MPOL_FLAG) */
  flags: number;
  /** NUMA nodes (each below 1024); empty: no node mask */
  nodes: number[];
}

export interface LaunchPlan {
  containerId: string;
  /** absolute host path of the root filesystem */
  rootfs: string;
  /** PlanFlag bits */
  flags: bigint;
  /** CLONE_NEW* of the namespaces to create */
  cloneFlags: bigint;
  /** namespaces to join, in order (user first) */
  joinNamespaces: JoinNamespace[];
  /** MS_* propagation for "/" (0: MS_SLAVE|MS_REC) */
  rootPropagation: bigint;
  mounts: PlanMount[];
  devices: PlanDevice[];
  /** made after the mounts and devices, in order */
  symlinks: PlanSymlink[];
  maskedPaths: string[];
  readonlyPaths: string[];
  hostname?: string;
  domainname?: string;
  timeOffsets: PlanTimeOffset[];
  sysctls: PlanSysctl[];
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  /** UMASK_UNSET: leave it */
  umask: number;
  additionalGids: number[];
  rlimits: PlanRlimit[];
  oomScoreAdj?: bigint;
  consoleSize?: PlanConsoleSize;
  capabilities?: PlanCapabilities;
  /** linux.seccomp, compiled; loaded before the user switch, or last with no_new_privs */
  seccomp?: PlanSeccomp;
  fds: PlanFds;
  /** createContainer then startContainer hooks, each kind in the config's order (absent: none) */
  hooks?: PlanHook[];
  /** absent: none */
  hookStates?: PlanHookState[];
  /** absent: leave the scheduling policy alone */
  scheduler?: PlanScheduler;
  /** absent: leave the I/O priority alone */
  ioPriority?: PlanIoPriority;
  /** CPUs for sched_setaffinity before execve (exec's execCPUAffinity.final); absent: leave it */
  cpuAffinity?: number[];
  /** personality(2) persona (PER_LINUX, PER_LINUX32); absent: leave it */
  personality?: number;
  /** set_mempolicy before execve; absent: leave it */
  memoryPolicy?: PlanMemoryPolicy;
  /**
   * The cgroup2 directory the process is born in (clone3 CLONE_INTO_CGROUP; hako-init
   * writes cgroup.procs itself where the kernel cannot clone into a cgroup). The cgroup
   * namespace then comes with the clone: made by it, or joined by the cloned process.
   * Absent: hako moved stage 0 into the cgroup2 hierarchy too (placement.ts).
   */
  cgroup2Dir?: string;
}

/** A plan with every field at plan.h's default. */
export function emptyPlan(): LaunchPlan {
  return {
    containerId: '',
    rootfs: '',
    flags: 0n,
    cloneFlags: 0n,
    joinNamespaces: [],
    rootPropagation: 0n,
    mounts: [],
    devices: [],
    symlinks: [],
    maskedPaths: [],
    readonlyPaths: [],
    timeOffsets: [],
    sysctls: [],
    args: [],
    env: [],
    cwd: '/',
    uid: 0,
    gid: 0,
    umask: UMASK_UNSET,
    additionalGids: [],
    rlimits: [],
    fds: { consoleSocket: -1, execFifo: -1, preserved: 0 },
    hooks: [],
    hookStates: [],
  };
}

// ---------------------------------------------------------------- kernel numbers

/** <linux/sched.h> */
export const CLONE_NEWTIME = 0x00000080n;
export const CLONE_NEWNS = 0x00020000n;
export const CLONE_NEWCGROUP = 0x02000000n;
export const CLONE_NEWUTS = 0x04000000n;
export const CLONE_NEWIPC = 0x08000000n;
export const CLONE_NEWUSER = 0x10000000n;
export const CLONE_NEWPID = 0x20000000n;
export const CLONE_NEWNET = 0x40000000n;

/** <linux/mount.h> mount(2) flags */
export const MS = {
  RDONLY: 1n,
  NOSUID: 2n,
  NODEV: 4n,
  NOEXEC: 8n,
  SYNCHRONOUS: 16n,
  REMOUNT: 32n,
  MANDLOCK: 64n,
  DIRSYNC: 128n,
  NOSYMFOLLOW: 256n,
  NOATIME: 1024n,
  NODIRATIME: 2048n,
  BIND: 4096n,
  MOVE: 8192n,
  REC: 16384n,
  SILENT: 32768n,
  POSIXACL: 1n << 16n,
  UNBINDABLE: 1n << 17n,
  PRIVATE: 1n << 18n,
  SLAVE: 1n << 19n,
  SHARED: 1n << 20n,
  RELATIME: 1n << 21n,
  I_VERSION: 1n << 23n,
  STRICTATIME: 1n << 24n,
  LAZYTIME: 1n << 25n,
} as const;

/** <linux/mount.h> mount_setattr(2) attributes */
export const MOUNT_ATTR = {
  RDONLY: 0x00000001n,
  NOSUID: 0x00000002n,
  NODEV: 0x00000004n,
  NOEXEC: 0x00000008n,
  /** the atime field: set one of RELATIME, NOATIME, STRICTATIME with it in attr_clr */
  _ATIME: 0x00000070n,
  RELATIME: 0x00000000n,
  NOATIME: 0x00000010n,
  STRICTATIME: 0x00000020n,
  NODIRATIME: 0x00000080n,
  IDMAP: 0x00100000n,
  NOSYMFOLLOW: 0x00200000n,
} as const;

/** <asm-generic/resource.h> (x86_64 and arm64 use the generic numbers) */
export const RLIMIT: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

export const RLIM_INFINITY = 0xffffffffffffffffn;

/** <linux/sched.h> scheduling policies, by their runtime-spec names */
export const SCHED_POLICY: Readonly<Record<string, number>> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

/** <linux/sched.h> sched_attr.sched_flags */
export const SCHED_FLAG: Readonly<Record<string, bigint>> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01n,
  SCHED_FLAG_RECLAIM: 0x02n,
  SCHED_FLAG_DL_OVERRUN: 0x04n,
  SCHED_FLAG_KEEP_POLICY: 0x08n,
  SCHED_FLAG_KEEP_PARAMS: 0x10n,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
};

/** <linux/ioprio.h> classes */
export const IOPRIO_CLASS: Readonly<Record<string, number>> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};

/** <linux/personality.h> execution domains */
export const PERSONALITY_DOMAIN: Readonly<Record<string, number>> = {
  LINUX: 0x0000,
  LINUX32: 0x0008,
};

/** <linux/mempolicy.h> modes */
export const MPOL_MODE: Readonly<Record<string, number>> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};

/** <linux/mempolicy.h> mode flags */
export const MPOL_FLAG: Readonly<Record<string, number>> = {
  MPOL_F_NUMA_BALANCING: 1 << 13,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_STATIC_NODES: 1 << 15,
};

/** The CPUs a cpu_set_t holds (CPU_SETSIZE): runc refuses higher numbers too. */
export const CPU_SETSIZE = 1024;

/** <linux/time.h> clocks a time namespace can offset */
export const CLOCK_MONOTONIC = 1;
export const CLOCK_BOOTTIME = 7;

/** <linux/capability.h>, in number order (CAPABILITIES[n] is capability n). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The highest capability number hako knows (CAP_CHECKPOINT_RESTORE). */
export const CAP_LAST_CAP = CAPABILITIES.length - 1;

/** "CAP_SYS_ADMIN" -> 21; undefined for a name hako does not know. */
export function capabilityNumber(name: string): number | undefined {
  const n = CAPABILITIES.indexOf(name);
  return n < 0 ? undefined : n;
}
