// The OCI runtime-spec 1.3 documents as TypeScript types: config.json (Spec), the
// process object (also exec --process FILE), the state given to hooks (State) and the
// runtime's features (Features). They describe what the schemas in schemas/ accept;
// code only sees a value as one of these after src/oci/validate.ts passed it.
//
// Integer fields are `number`. JSON numbers above 2^53 (some uint64 fields such as
// seccomp argument values) lose precision when parsed; see validate.ts.

/** A JSON object of string values (annotations, sysctl, unified). */
export type StringMap = Record<string, string>;

// ---------------------------------------------------------------- config.json

export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: StringMap;
  linux?: Linux;
  /** Other platforms' sections: accepted, never used by hako. */
  solaris?: Record<string, unknown>;
  windows?: Record<string, unknown>;
  vm?: Record<string, unknown>;
  zos?: Record<string, unknown>;
  freebsd?: Record<string, unknown>;
}

export interface Root {
  /** The root filesystem; relative paths are relative to the bundle directory. */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  /** Absolute path in the container (old configs: relative to "/"). */
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  /** Id-mapped mount: both or neither. */
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

export interface Hook {
  /** Absolute path of the program. */
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds, greater than zero. */
  timeout?: number;
}

export type HookName =
  | 'prestart'
  | 'createRuntime'
  | 'createContainer'
  | 'startContainer'
  | 'poststart'
  | 'poststop';

export type Hooks = Partial<Record<HookName, Hook[]>>;

// ---------------------------------------------------------------- process

export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user: User;
  /** At least one entry; args[0] is looked up like execvp's file. */
  args: string[];
  /** Windows only. */
  commandLine?: string;
  /** "KEY=value" strings. */
  env?: string[];
  /** Absolute path in the container. */
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  execCPUAffinity?: CPUAffinity;
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

/** Capability names like "CAP_CHOWN". */
export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export type CapabilitySet = keyof LinuxCapabilities;

export interface POSIXRlimit {
  /** "RLIMIT_NOFILE", ... */
  type: string;
  soft: number;
  hard: number;
}

export type LinuxSchedulerPolicy =
  | 'SCHED_OTHER'
  | 'SCHED_FIFO'
  | 'SCHED_RR'
  | 'SCHED_BATCH'
  | 'SCHED_ISO'
  | 'SCHED_IDLE'
  | 'SCHED_DEADLINE';

export type LinuxSchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK'
  | 'SCHED_FLAG_RECLAIM'
  | 'SCHED_FLAG_DL_OVERRUN'
  | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS'
  | 'SCHED_FLAG_UTIL_CLAMP_MIN'
  | 'SCHED_FLAG_UTIL_CLAMP_MAX';

export interface Scheduler {
  policy: LinuxSchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: LinuxSchedulerFlag[];
  /** Nanoseconds; SCHED_DEADLINE only. */
  runtime?: number;
  deadline?: number;
  period?: number;
}

export type IOPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';

export interface LinuxIOPriority {
  class: IOPriorityClass;
  /** 0 (highest) to 7 (lowest). */
  priority: number;
}

/** CPU lists like "0-3,7". */
export interface CPUAffinity {
  initial?: string;
  final?: string;
}

// ---------------------------------------------------------------- linux

export interface Linux {
  namespaces?: LinuxNamespace[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  /** Keyed by clock name: "monotonic", "boottime". */
  timeOffsets?: Record<string, LinuxTimeOffset>;
  devices?: LinuxDevice[];
  /** Keyed by the device's name on the host. */
  netDevices?: Record<string, LinuxNetDevice>;
  cgroupsPath?: string;
  resources?: LinuxResources;
  sysctl?: StringMap;
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: RootfsPropagation;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  memoryPolicy?: LinuxMemoryPolicy;
  personality?: LinuxPersonality;
}

export type LinuxNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export const NAMESPACE_TYPES: readonly LinuxNamespaceType[] = [
  'pid',
  'network',
  'mount',
  'ipc',
  'uts',
  'user',
  'cgroup',
  'time',
];

export interface LinuxNamespace {
  type: LinuxNamespaceType;
  /** Join this existing namespace instead of creating one. */
  path?: string;
}

export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}

export type LinuxDeviceType = 'c' | 'b' | 'u' | 'p';

export interface LinuxDevice {
  type: LinuxDeviceType;
  /** Absolute path in the container. */
  path: string;
  /** Required unless type is "p". */
  major?: number;
  minor?: number;
  /** Permission bits, as a decimal number. */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxNetDevice {
  /** Name inside the container; defaults to the host name. */
  name?: string;
}

export type RootfsPropagation =
  | 'shared'
  | 'slave'
  | 'private'
  | 'unbindable'
  | 'rshared'
  | 'rslave'
  | 'rprivate'
  | 'runbindable';

// ---------------------------------------------------------------- resources

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  /** Keyed by RDMA device name. */
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name -> value. */
  unified?: StringMap;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** "a" (all), "c" or "b"; default "a". */
  type?: 'a' | 'c' | 'b';
  /** Absent means any (-1). */
  major?: number;
  minor?: number;
  /** Some of "rwm". */
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  /** Deprecated by the spec; ignored on cgroup v2. */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  /** -1 or absent: no limit. */
  limit?: number;
}

export interface LinuxBlockIODevice {
  major: number;
  minor: number;
}

/** At least one of weight, leafWeight. */
export interface LinuxWeightDevice extends LinuxBlockIODevice {
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice extends LinuxBlockIODevice {
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** "2MB", "1GB", ... */
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

/** At least one of hcaHandles, hcaObjects. */
export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

// ---------------------------------------------------------------- seccomp

export type LinuxSeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type LinuxSeccompArch =
  | 'SCMP_ARCH_X86'
  | 'SCMP_ARCH_X86_64'
  | 'SCMP_ARCH_X32'
  | 'SCMP_ARCH_ARM'
  | 'SCMP_ARCH_AARCH64'
  | 'SCMP_ARCH_MIPS'
  | 'SCMP_ARCH_MIPS64'
  | 'SCMP_ARCH_MIPS64N32'
  | 'SCMP_ARCH_MIPSEL'
  | 'SCMP_ARCH_MIPSEL64'
  | 'SCMP_ARCH_MIPSEL64N32'
  | 'SCMP_ARCH_PPC'
  | 'SCMP_ARCH_PPC64'
  | 'SCMP_ARCH_PPC64LE'
  | 'SCMP_ARCH_S390'
  | 'SCMP_ARCH_S390X'
  | 'SCMP_ARCH_PARISC'
  | 'SCMP_ARCH_PARISC64'
  | 'SCMP_ARCH_RISCV64'
  | 'SCMP_ARCH_LOONGARCH64'
  | 'SCMP_ARCH_M68K'
  | 'SCMP_ARCH_SH'
  | 'SCMP_ARCH_SHEB';

export type LinuxSeccompFlag =
  | 'SECCOMP_FILTER_FLAG_TSYNC'
  | 'SECCOMP_FILTER_FLAG_LOG'
  | 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'
  | 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV';

export type LinuxSeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export interface LinuxSeccompArg {
  /** Syscall argument index, 0 to 5. */
  index: number;
  value: number;
  valueTwo?: number;
  op: LinuxSeccompOperator;
}

export interface LinuxSyscall {
  /** At least one non-empty name. */
  names: string[];
  action: LinuxSeccompAction;
  /** Only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE. */
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  architectures?: LinuxSeccompArch[];
  flags?: LinuxSeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

// ---------------------------------------------------------------- other linux parts

export interface LinuxIntelRdt {
  closID?: string;
  schemata?: string[];
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableMonitoring?: boolean;
}

export type MemoryPolicyMode =
  | 'MPOL_DEFAULT'
  | 'MPOL_BIND'
  | 'MPOL_INTERLEAVE'
  | 'MPOL_WEIGHTED_INTERLEAVE'
  | 'MPOL_PREFERRED'
  | 'MPOL_PREFERRED_MANY'
  | 'MPOL_LOCAL';

export type MemoryPolicyFlag = 'MPOL_F_NUMA_BALANCING' | 'MPOL_F_RELATIVE_NODES' | 'MPOL_F_STATIC_NODES';

export interface LinuxMemoryPolicy {
  mode: MemoryPolicyMode;
  /** Node list like "0-3,7". */
  nodes?: string;
  flags?: MemoryPolicyFlag[];
}

export type LinuxPersonalityDomain = 'LINUX' | 'LINUX32';

export interface LinuxPersonality {
  domain: LinuxPersonalityDomain;
  flags?: string[];
}

// ---------------------------------------------------------------- state

/** "paused" is runc's (and hako's) addition to the spec's four. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** The OCI state: `hako state` output's core, and what hooks read on stdin. */
export interface State {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** Required while created or running. */
  pid?: number;
  /** Absolute path of the bundle directory. */
  bundle: string;
  annotations?: StringMap;
}

/** Sent to a seccomp agent over linux.seccomp.listenerPath. */
export interface ContainerProcessState {
  ociVersion: string;
  fds: string[];
  pid: number;
  metadata?: string;
  state: State;
}

// ---------------------------------------------------------------- features

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: string[];
  mountOptions?: string[];
  linux?: LinuxFeatures;
  annotations?: StringMap;
  potentiallyUnsafeConfigAnnotations?: string[];
}

export interface EnabledFeature {
  enabled?: boolean;
}

export interface LinuxFeatures {
  namespaces?: LinuxNamespaceType[];
  capabilities?: string[];
  cgroup?: {
    v1?: boolean;
    v2?: boolean;
    systemd?: boolean;
    systemdUser?: boolean;
    rdma?: boolean;
  };
  seccomp?: {
    enabled?: boolean;
    actions?: string[];
    operators?: string[];
    archs?: string[];
    knownFlags?: string[];
    supportedFlags?: string[];
  };
  apparmor?: EnabledFeature;
  selinux?: EnabledFeature;
  intelRdt?: {
    enabled?: boolean;
    schemata?: boolean;
    monitoring?: boolean;
  };
  memoryPolicy?: {
    modes?: string[];
    flags?: string[];
  };
  mountExtensions?: {
    idmap?: EnabledFeature;
  };
  netDevices?: EnabledFeature;
}
