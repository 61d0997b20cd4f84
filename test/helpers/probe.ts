// hako-probe (cpp/probe/probe.cc): where the built binary is, and the shape of its report.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export { REPO_ROOT } from './paths.js';

/** The probe as `npx cmake-js build --out build` leaves it; HAKO_TEST_PROBE overrides. */
export const PROBE_PATH =
  process.env.HAKO_TEST_PROBE ?? fileURLToPath(new URL('../../build/Release/hako-probe', import.meta.url));

/** Where the probe sits inside the test rootfs. */
export const PROBE_IN_ROOTFS = '/probe';

export function probeBuilt(): boolean {
  return existsSync(PROBE_PATH);
}

/** Real, effective, saved and filesystem ids ("Uid:"/"Gid:" of /proc/self/status). */
export interface ProbeIdSet {
  real: number | null;
  effective: number | null;
  saved: number | null;
  fs: number | null;
}

/** One capability set: the mask as /proc prints it (16 hex digits) and its names. */
export interface ProbeCapabilitySet {
  hex: string;
  /** OCI spelling ("CAP_KILL"); bits newer than the probe's table appear as "CAP_<bit>". */
  names: string[];
}

/** A limit's value; null means unlimited (RLIM_INFINITY). */
export interface ProbeRlimit {
  soft: number | null;
  hard: number | null;
}

/** One line of /proc/self/mountinfo; `unparsed` (alone) if the line had an unexpected shape. */
export interface ProbeMount {
  id: number | null;
  parent: number | null;
  /** "major:minor" of the filesystem. */
  dev: string;
  /** The root of the mount within its filesystem. */
  root: string;
  mount_point: string;
  /** Per-mount options, e.g. ["ro", "nosuid", "relatime"]. */
  options: string[];
  optional_fields: string[];
  /** "private" | "shared" | "slave" | "shared,slave" | "unbindable". */
  propagation: string;
  fs_type: string;
  source: string;
  /** Per-superblock options, e.g. ["rw", "size=65536k", "mode=755"]. */
  super_options: string[];
  unparsed?: string;
}

/** A line of /proc/self/cgroup: hierarchy id, its controllers ([] for v2), the path. */
export interface ProbeCgroup {
  id: number | null;
  controllers: string[];
  path: string;
  unparsed?: string;
}

/** `--stat`/`--lstat` result: the file's facts, or just `error` (an errno name). */
export interface ProbeStat {
  error?: string;
  type?: 'file' | 'dir' | 'char' | 'block' | 'symlink' | 'fifo' | 'socket' | 'unknown';
  /** Permission bits (mode & 07777) as a number, and as "0666". */
  mode?: number;
  mode_octal?: string;
  uid?: number;
  gid?: number;
  size?: number;
  rdev_major?: number;
  rdev_minor?: number;
  /** For a symlink under --lstat. */
  target?: string;
}

/** `--write` result: opened for writing (created, then removed, if it was missing), or the errno name. */
export interface ProbeWrite {
  ok: boolean;
  created?: boolean;
  error?: string;
}

/** The JSON object hako-probe prints. null anywhere means "could not be read". */
export interface ProbeReport {
  probe_version: number;
  argv: string[];
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  uid: ProbeIdSet | null;
  gid: ProbeIdSet | null;
  /** Supplementary groups (getgroups). */
  groups: number[] | null;
  capabilities: {
    inheritable: ProbeCapabilitySet | null;
    permitted: ProbeCapabilitySet | null;
    effective: ProbeCapabilitySet | null;
    bounding: ProbeCapabilitySet | null;
    ambient: ProbeCapabilitySet | null;
  };
  no_new_privs: number | null;
  seccomp: { mode: number | null; mode_name: 'disabled' | 'strict' | 'filter' | 'unknown' | null; filters: number | null };
  /** PR_GET_DUMPABLE: 0, 1 or 2. */
  dumpable: number | null;
  /** SigBlk/SigIgn/SigCgt masks from /proc/self/status, 16 hex digits each. */
  signals: { blocked: string | null; ignored: string | null; caught: string | null };
  hostname: string | null;
  domainname: string | null;
  cwd: string | null;
  /** The umask as a number (18) and as octal text ("0022"). */
  umask: number;
  umask_octal: string;
  /** Keyed by OCI name: "RLIMIT_NOFILE" -> { soft, hard }. */
  rlimits: Record<string, ProbeRlimit | null>;
  env: string[];
  /** Open fds -> readlink of /proc/self/fd/N; the probe's own listing fd is left out. */
  fds: Record<string, string | null> | null;
  tty: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** Every /proc/self/ns entry -> inode ("pid", "pid_for_children", "net", "mnt", ...). */
  namespaces: Record<string, number | null> | null;
  mounts: ProbeMount[] | null;
  oom_score_adj: number | null;
  cgroup: ProbeCgroup[] | null;
  personality: { value: number; domain: 'LINUX' | 'LINUX32' | 'other' } | null;
  scheduler: { policy: string; reset_on_fork: boolean; priority: number | null; nice: number | null } | null;
  /** ioprio_get(IOPRIO_WHO_PROCESS, 0): "IOPRIO_CLASS_BE", ... and the level; null if it failed. */
  io_priority: { value: number; class: string; priority: number } | null;
  /** sched_getaffinity(0): the CPUs, and as a list like "0-1,3". */
  cpu_affinity: { cpus: number[]; list: string } | null;
  /** get_mempolicy: the mode ("MPOL_BIND", ...), its MPOL_F_* flags and nodes; null if it failed. */
  memory_policy: { mode: string; flags: string[]; nodes: number[] } | null;
  /** --stat PATH results, keyed by PATH (follows symlinks). */
  stat: Record<string, ProbeStat>;
  /** --lstat PATH results, keyed by PATH. */
  lstat: Record<string, ProbeStat>;
  /** --write PATH results, keyed by PATH. */
  write: Record<string, ProbeWrite>;
  /** --syscall NR results, keyed by NR: the raw return value and errno name (null on success). */
  syscall?: Record<string, { ret: number; error: string | null }>;
}

/** Parses the probe's stdout; throws with the text included if it is not one report. */
export function parseProbeReport(stdout: string): ProbeReport {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`probe output is not JSON (${(err as Error).message}): ${JSON.stringify(stdout.slice(0, 500))}`);
  }
  if (typeof value !== 'object' || value === null || (value as { probe_version?: unknown }).probe_version !== 1) {
    throw new Error(`probe output is not a version-1 report: ${JSON.stringify(stdout.slice(0, 500))}`);
  }
  return value as ProbeReport;
}
