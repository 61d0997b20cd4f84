// The OCI features document: only what hako implements at this commit.
// Each later piece of work (lifecycle, confinement, cgroups, hooks) extends these lists.
import type { Features } from './types.js';
import { OCI_VERSION } from './default-spec.js';

export function hakoFeatures(version: string, commit: string): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: [],
    mountOptions: [],
    linux: {
      namespaces: [],
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
