// The OCI features document: only what hako implements at this commit.
// Each later piece of work (confinement, cgroups, hooks) extends these lists.
import type { Features } from '../oci/types.js';
import { OCI_VERSION } from '../oci/default-spec.js';
import { EXTENSION_TABLE, MOUNT_FLAG_TABLE, PROPAGATION_TABLE, RECURSIVE_ATTR_TABLE } from '../plan/mount-flags.js';
import { NAMESPACE_CLONE_FLAGS } from '../plan/build.js';

/** Every mount option the plan builder turns into flags, propagation or attributes, sorted. */
export function mountOptions(): string[] {
  const names = new Set([
    ...Object.keys(MOUNT_FLAG_TABLE),
    ...Object.keys(PROPAGATION_TABLE),
    ...Object.keys(RECURSIVE_ATTR_TABLE),
    ...Object.keys(EXTENSION_TABLE),
  ]);
  return [...names].sort();
}

export function hakoFeatures(version: string, commit: string): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [],
    mountOptions: mountOptions(),
    linux: {
      namespaces: (Object.keys(NAMESPACE_CLONE_FLAGS) as (keyof typeof NAMESPACE_CLONE_FLAGS)[]).sort(),
      capabilities: [],
      cgroup: { v1: false, v2: false, systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
      netDevices: { enabled: false },
    },
    annotations: {
      'org.hako.version': version,
      'org.hako.commit': commit,
    },
    potentiallyUnsafeConfigAnnotations: [],
  };
}
