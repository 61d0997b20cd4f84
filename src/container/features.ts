// The OCI features document: only what hako implements at this commit.
// Each later piece of work (confinement, cgroups, hooks) extends these lists.
import { readFileSync } from 'node:fs';
import { CAPABILITIES, MPOL_FLAG, MPOL_MODE } from '../plan/launch-plan.js';
import { native } from '../native.js';
import type { Features, LinuxFeatures, LinuxSeccompFlag } from '../oci/types.js';
import { OCI_VERSION } from '../oci/default-spec.js';
import { isUidMapNested } from '../plan/host.js';
import { EXTENSION_TABLE, IDMAP_OPTIONS, MOUNT_FLAG_TABLE, PROPAGATION_TABLE, RECURSIVE_ATTR_TABLE } from '../plan/mount-flags.js';
import { NAMESPACE_CLONE_FLAGS } from '../plan/build.js';
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FILTER_FLAG, SECCOMP_FLAGS, SECCOMP_OPERATORS } from '../plan/seccomp.js';
import { HOOK_NAMES } from './hooks.js';

/** Every mount option the plan builder turns into flags, propagation or attributes, sorted. */
export function mountOptions(): string[] {
  const names = new Set([
    ...(idmapWorks() ? IDMAP_OPTIONS : []),
    ...Object.keys(MOUNT_FLAG_TABLE),
    ...Object.keys(PROPAGATION_TABLE),
    ...Object.keys(RECURSIVE_ATTR_TABLE),
    ...Object.keys(EXTENSION_TABLE),
  ]);
  return [...names].sort();
}

/**
 * Whether hako can make id-mapped mounts here: mount_setattr(MOUNT_ATTR_IDMAP) needs
 * Linux 5.12, and CAP_SYS_ADMIN over the host's filesystems, which only root in the
 * initial user namespace has (not a rootless hako, nor one in a user namespace).
 */
export function idmapWorks(): boolean {
  if ((process.geteuid?.() ?? 0) !== 0) return false;
  let uidMap: string | undefined;
  try {
    uidMap = readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return false;
  }
  if (isUidMapNested(uidMap)) return false;
  const [major = 0, minor = 0] = (readOptional('/proc/sys/kernel/osrelease') ?? '').split(/[.-]/).map((x) => Number.parseInt(x, 10));
  return major > 5 || (major === 5 && minor >= 12);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The bits the kernel is asked about for each flag (WAIT_KILLABLE_RECV only goes with a listener). */
const KERNEL_FLAG_BITS: Readonly<Record<LinuxSeccompFlag, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV | SECCOMP_FILTER_FLAG.NEW_LISTENER,
};

/**
 * The seccomp section, asking libseccomp (loaded here, and only here in `features`) which
 * architectures it knows and the kernel which filter flags it takes. Without
 * libseccomp.so.2 seccomp is not enabled, as in a runc built without it.
 */
export function seccompFeatures(): { section: NonNullable<LinuxFeatures['seccomp']>; libseccompVersion?: string } {
  let version: string;
  try {
    version = native().seccompLibrary().version;
  } catch {
    return { section: { enabled: false } };
  }
  const n = native();
  const knownFlags = (Object.keys(SECCOMP_FLAGS) as LinuxSeccompFlag[]).sort();
  return {
    section: {
      enabled: true,
      actions: Object.keys(SECCOMP_ACTIONS).sort(),
      operators: Object.keys(SECCOMP_OPERATORS).sort(),
      archs: (Object.keys(SECCOMP_ARCHES) as (keyof typeof SECCOMP_ARCHES)[]).filter((a) => n.seccompArchToken(SECCOMP_ARCHES[a]) !== 0).sort(),
      knownFlags,
      supportedFlags: knownFlags.filter((f) => n.seccompFlagSupported(KERNEL_FLAG_BITS[f])),
    },
    libseccompVersion: version,
  };
}

/** The capabilities hako applies: the ones it knows, up to the running kernel's last. */
export function knownCapabilities(): string[] {
  let last = CAPABILITIES.length - 1;
  try {
    last = Math.min(last, Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10));
  } catch {
    // no procfs: everything hako knows
  }
  return CAPABILITIES.slice(0, last + 1);
}

export function hakoFeatures(version: string, commit: string): Features {
  const seccomp = seccompFeatures();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_NAMES],
    mountOptions: mountOptions(),
    linux: {
      namespaces: (Object.keys(NAMESPACE_CLONE_FLAGS) as (keyof typeof NAMESPACE_CLONE_FLAGS)[]).sort(),
      capabilities: knownCapabilities(),
      // cgroupfs drivers for both, and the systemd driver (--systemd-cgroup; no user manager)
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: false },
      seccomp: seccomp.section,
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      // as runc 1.4 lists them: the modes and mode flags hako passes to set_mempolicy
      memoryPolicy: { modes: Object.keys(MPOL_MODE).sort(), flags: Object.keys(MPOL_FLAG).sort() },
      mountExtensions: { idmap: { enabled: idmapWorks() } },
      netDevices: { enabled: true },
    },
    annotations: {
      ...(seccomp.libseccompVersion ? { 'io.github.seccomp.libseccomp.version': seccomp.libseccompVersion } : {}),
      'org.hako.version': version,
      'org.hako.commit': commit,
    },
    potentiallyUnsafeConfigAnnotations: [],
  };
}
