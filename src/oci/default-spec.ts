// The starter config.json that `hako spec` writes: runc's default, with hako's names.
import type { Spec } from './types.js';

export const OCI_VERSION = '1.3.0';

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export interface DefaultSpecOptions {
  rootless: boolean;
  uid?: number;
  gid?: number;
}

export function defaultSpec(opts: DefaultSpecOptions = { rootless: false }): Spec {
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'hako',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (opts.rootless) makeRootless(spec, opts.uid ?? 0, opts.gid ?? 0);
  return spec;
}

// The same edits `runc spec --rootless` makes: a user namespace mapping the caller to
// root, no network namespace, no gid= on devpts, /sys bound from the host, no device rules.
function makeRootless(spec: Spec, uid: number, gid: number): void {
  const linux = spec.linux!;
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  linux.namespaces = linux.namespaces!.filter((ns) => ns.type !== 'network');
  linux.namespaces.push({ type: 'user' });
  delete linux.resources;
  for (const m of spec.mounts!) {
    if (m.type === 'devpts') m.options = m.options!.filter((o) => !o.startsWith('gid='));
    if (m.destination === '/sys') {
      m.type = 'none';
      m.source = '/sys';
      m.options = ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'];
    }
  }
}
