// buildLaunchPlan(): config + options + host facts -> launch plan, checked piece by
// piece against what runc does, and over every real-world config in the shared fixtures.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type PlanOptions, buildLaunchPlan, capabilityMask, idMaps, planMount, unknownCapabilities } from '../../src/plan/build.js';
import { type HostFacts, isUidMapNested, parseMountinfo, parseProcCgroup, procCgroupAt, readHostFacts } from '../../src/plan/host.js';
import {
  CAPABILITIES,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  DeviceType,
  MS,
  MountExt,
  MountIdmapFlag,
  PlanFlag,
  RLIM_INFINITY,
  type LaunchPlan,
} from '../../src/plan/launch-plan.js';
import { encodePlan } from '../../src/plan/wire.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import type { Spec } from '../../src/oci/types.js';
import { HakoError } from '../../src/errors.js';
import { FIXTURES_DIR } from '../helpers/paths.js';
import { THIS_HOST_CGROUP, THIS_HOST_MOUNTINFO } from '../helpers/host-samples.js';

// ---------------------------------------------------------------- host texts

/** A systemd hybrid host with co-mounted controllers (Debian 10 / Ubuntu 20.04 style). */
const HYBRID_MOUNTINFO = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
33 25 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
38 33 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
39 33 0:34 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio
40 33 0:35 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
41 33 0:35 / /mnt/memory-again rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
`;
const HYBRID_CGROUP = `12:memory:/user.slice
5:net_cls,net_prio:/
3:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/session-1.scope
0::/user.slice/session-1.scope
`;

/** A cgroup v2 host (Debian 12 default). */
const V2_MOUNTINFO = `23 29 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const V2_CGROUP = '0::/user.slice/user-1000.slice/session-3.scope\n';

const THIS_HOST: HostFacts = { mountinfo: THIS_HOST_MOUNTINFO, cgroup: THIS_HOST_CGROUP, hasProcKcore: false };
const V2_HOST: HostFacts = { mountinfo: V2_MOUNTINFO, cgroup: V2_CGROUP, hasProcKcore: true };

function options(over: Partial<PlanOptions> = {}): PlanOptions {
  return {
    containerId: 'c1',
    rootfs: '/bundle/rootfs',
    bundleDir: '/bundle',
    noPivot: false,
    noNewKeyring: false,
    chownStdio: false,
    fds: { consoleSocket: -1, execFifo: 5, preserved: 0 },
    host: THIS_HOST,
    ...over,
  };
}

function spec(edit: (s: Spec) => void = () => {}): Spec {
  const s = defaultSpec();
  edit(s);
  return s;
}

function build(edit: (s: Spec) => void = () => {}, over: Partial<PlanOptions> = {}): LaunchPlan {
  return buildLaunchPlan(spec(edit), options(over));
}

const has = (flags: bigint, f: bigint) => (flags & f) === f;

/** The JSON pointer of the HakoError fn throws; undefined when it does not throw. */
function pointerOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof HakoError) return err.where.pointer ?? '';
    throw err;
  }
  return undefined;
}

// ---------------------------------------------------------------- namespaces

t.test('new namespaces become clone flags', async (t) => {
  const all = { pid: CLONE_NEWPID, network: CLONE_NEWNET, mount: CLONE_NEWNS, ipc: CLONE_NEWIPC, uts: CLONE_NEWUTS, user: CLONE_NEWUSER, cgroup: CLONE_NEWCGROUP, time: CLONE_NEWTIME } as const;
  t.equal(CLONE_NEWNS, 0x20000n);
  t.equal(CLONE_NEWUSER, 0x10000000n);
  t.equal(CLONE_NEWTIME, 0x80n);
  for (const [type, flag] of Object.entries(all)) {
    const p = build((s) => (s.linux!.namespaces = [{ type: type as keyof typeof all }]));
    t.equal(p.cloneFlags, flag, type);
    t.same(p.joinNamespaces, []);
    t.equal(has(p.flags, PlanFlag.USERNS_MAPS), type === 'user', `USERNS_MAPS for ${type}`);
  }
  const d = build();
  t.equal(d.cloneFlags, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS, 'the default spec');
  t.equal(build((s) => delete s.linux!.namespaces).cloneFlags, 0n);
  t.equal(build((s) => (s.linux!.namespaces = [{ type: 'pid', path: '' }])).cloneFlags, CLONE_NEWPID, 'an empty path means new');
});

t.test('namespaces with a path are joined, in runc order (user first)', async (t) => {
  const p = build((s) => {
    s.linux!.namespaces = [
      { type: 'time', path: '/proc/1/ns/time' },
      { type: 'mount', path: '/proc/1/ns/mnt' },
      { type: 'network', path: '/run/netns/x' },
      { type: 'pid' },
      { type: 'cgroup', path: '/proc/1/ns/cgroup' },
      { type: 'uts', path: '/proc/1/ns/uts' },
      { type: 'ipc', path: '/proc/1/ns/ipc' },
      { type: 'user', path: '/proc/1/ns/user' },
    ];
  });
  t.same(
    p.joinNamespaces.map((j) => [j.cloneFlag, j.path]),
    [
      [CLONE_NEWUSER, '/proc/1/ns/user'],
      [CLONE_NEWIPC, '/proc/1/ns/ipc'],
      [CLONE_NEWUTS, '/proc/1/ns/uts'],
      [CLONE_NEWNET, '/run/netns/x'],
      [CLONE_NEWNS, '/proc/1/ns/mnt'],
      [CLONE_NEWCGROUP, '/proc/1/ns/cgroup'],
      [CLONE_NEWTIME, '/proc/1/ns/time'],
    ],
  );
  t.equal(p.cloneFlags, CLONE_NEWPID);
  t.notOk(has(p.flags, PlanFlag.USERNS_MAPS), 'a joined user namespace has its maps');
  t.equal(pointerOf(() => build((s) => s.linux!.namespaces!.push({ type: 'pid' }))), '/linux/namespaces/5', 'a namespace listed twice');
});

// ---------------------------------------------------------------- mounts

t.test('plain mounts: flags, data, destination', async (t) => {
  const p = build();
  const dev = p.mounts.find((m) => m.destination === '/dev')!;
  t.same(dev, {
    flags: MS.NOSUID | MS.STRICTATIME,
    propagation: 0n,
    attrSet: 0n,
    attrClr: 0n,
    ext: 0,
    source: 'tmpfs',
    destination: '/dev',
    type: 'tmpfs',
    data: 'mode=755,size=65536k',
  });
  const sys = p.mounts.find((m) => m.destination === '/sys')!;
  t.equal(sys.flags, MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
  t.equal(sys.data, '');
  t.equal(planMount({ destination: 'dev/shm/', type: 'tmpfs', source: 'shm' }, '/b', '/mounts/0').destination, '/dev/shm', 'made absolute and clean');
  const copyup = planMount({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'rro'] }, '/b', '/mounts/0');
  t.equal(copyup.ext, MountExt.TMPCOPYUP | MountExt.RRO);
  t.equal(planMount({ destination: '/x' }, '/b', '/mounts/0').type, '', 'no type, no source');
});

t.test('bind mounts', async (t) => {
  const rel = planMount({ destination: '/data', source: 'data/dir', options: ['rbind', 'ro', 'rprivate'] }, '/bundle', '/mounts/3');
  t.same(rel, {
    flags: MS.BIND | MS.REC | MS.RDONLY,
    propagation: MS.PRIVATE | MS.REC,
    attrSet: 0n,
    attrClr: 0n,
    ext: MountExt.BIND,
    source: '/bundle/data/dir',
    destination: '/data',
    type: 'bind',
    data: '',
  });
  const typeOnly = planMount({ destination: '/etc/hosts', type: 'bind', source: '/var/lib/x/hosts' }, '/bundle', '/mounts/0');
  t.equal(typeOnly.flags, MS.BIND, 'type "bind" alone is MS_BIND, not recursive');
  t.equal(typeOnly.ext, MountExt.BIND);
  t.equal(typeOnly.source, '/var/lib/x/hosts', 'an absolute source stays');
  const none = planMount({ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }, '/b', '/mounts/0');
  t.equal(none.type, 'bind', 'any type of a bind mount is "bind"');
  t.equal(none.flags, MS.BIND | MS.REC | MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY);
  const rec = planMount({ destination: '/m', type: 'bind', source: '/m', options: ['rbind', 'rro', 'rnosuid'] }, '/b', '/mounts/0');
  t.equal(rec.ext, MountExt.BIND | MountExt.RRO);
  t.equal(rec.attrSet, 0x3n);
});

t.test('id-mapped mounts: the mount\'s own mappings, else the container\'s; refused with a pointer', async (t) => {
  const map = [{ containerID: 0, hostID: 1000, size: 1 }];
  const own = build((s) => s.mounts!.push({ destination: '/x', type: 'bind', source: '/x', options: ['rbind', 'ridmap'], uidMappings: map, gidMappings: [{ containerID: 0, hostID: 2000, size: 5 }] }));
  t.same(own.mounts.at(-1)!.idmap, { flags: MountIdmapFlag.RECURSIVE, uidMap: '0 1000 1\n', gidMap: '0 2000 5\n', usernsPath: '', pointer: '/mounts/7' }, 'the mount\'s own');
  const userns = (s: Spec) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  const borrowed = build((s) => { userns(s); s.mounts!.push({ destination: '/x', type: 'bind', source: '/x', options: ['bind', 'idmap'] }); });
  t.same(borrowed.mounts.at(-1)!.idmap, { flags: 0, uidMap: '0 100000 65536\n', gidMap: '0 100000 65536\n', usernsPath: '', pointer: '/mounts/7' }, 'the container\'s');
  const joined = build((s) => { s.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' }); s.mounts!.push({ destination: '/x', type: 'bind', source: '/x', options: ['bind', 'idmap'] }); });
  t.equal(joined.mounts.at(-1)!.idmap!.usernsPath, '/proc/1/ns/user', 'a joined user namespace by its path');
  const tmpfs = build((s) => {
    userns(s);
    s.linux!.uidMappings!.push({ containerID: 65536, hostID: 165536, size: 1000 });
    s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'], uidMappings: [{ containerID: 5000, hostID: 165000, size: 1000 }], gidMappings: map.map((m) => ({ ...m, hostID: 100000 })) });
  });
  t.same(tmpfs.mounts.at(-1)!.idmap, { flags: MountIdmapFlag.IN_CONTAINER, uidMap: '5000 65000 536\n5536 65536 464\n', gidMap: '0 0 1\n', usernsPath: '', pointer: '/mounts/7' }, 'a tmpfs in the container\'s user namespace: its ids, cut where its ranges meet');
  t.equal(pointerOf(() => build((s) => s.mounts!.push({ destination: '/x', type: 'bind', source: '/x', options: ['rbind', 'idmap'] }))), '/mounts/7', 'no mappings, no userns');
  t.equal(pointerOf(() => build((s) => { userns(s); s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'], uidMappings: map, gidMappings: map }); })), '/mounts/7/uidMappings/0', 'a host id the container has not');
  t.equal(pointerOf(() => build((s) => { userns(s); s.mounts!.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }); })), '/mounts/7', 'a tmpfs made inside cannot take the container\'s own mapping');
});

// ---------------------------------------------------------------- cgroup mount

const CG_FLAGS = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY; // the default spec's cgroup mount
const TMPFS_FLAGS = MS.NOEXEC | MS.NOSUID | MS.NODEV;

t.test('cgroup v1 (this machine): tmpfs, then a bind of each hierarchy at the own cgroup', async (t) => {
  const p = build();
  const i = p.mounts.findIndex((m) => m.destination === '/sys/fs/cgroup');
  t.same(p.mounts[i], { flags: TMPFS_FLAGS, propagation: 0n, attrSet: 0n, attrClr: 0n, ext: 0, source: 'tmpfs', destination: '/sys/fs/cgroup', type: 'tmpfs', data: 'mode=755' });
  const binds = p.mounts.slice(i + 1);
  t.same(
    binds.map((m) => [m.source, m.destination]),
    [
      ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu'],
      ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpuacct'],
      ['/sys/fs/cgroup/cpuset', '/sys/fs/cgroup/cpuset'],
      ['/sys/fs/cgroup/memory/process_api/2ffb92027ef78fa4b00ef6f191497ff0', '/sys/fs/cgroup/memory'],
      ['/sys/fs/cgroup/devices', '/sys/fs/cgroup/devices'],
      ['/sys/fs/cgroup/freezer', '/sys/fs/cgroup/freezer'],
      ['/sys/fs/cgroup/blkio', '/sys/fs/cgroup/blkio'],
      ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/pids'],
      ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/systemd'],
    ],
    'one bind per v1 hierarchy, in mountinfo order; no "unified"',
  );
  for (const b of binds) {
    t.equal(b.flags, MS.BIND | MS.REC | CG_FLAGS, `${b.destination}: the config's flags on the bind`);
    t.equal(b.ext, MountExt.BIND);
    t.equal(b.type, 'bind');
  }
  t.notOk(p.symlinks.some((l) => l.link.startsWith('/sys/fs/cgroup')), 'nothing co-mounted here, no links');
  t.notOk(p.mounts.some((m) => m.type === 'cgroup'), 'the config mount itself is gone');
});

t.test('cgroup v1 with co-mounted controllers: links per controller, propagation carried', async (t) => {
  const p = buildLaunchPlan(
    spec((s) => {
      const cg = s.mounts!.find((m) => m.type === 'cgroup')!;
      cg.options = ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', 'ro'];
    }),
    options({ host: { mountinfo: HYBRID_MOUNTINFO, cgroup: HYBRID_CGROUP, hasProcKcore: false } }),
  );
  const i = p.mounts.findIndex((m) => m.destination === '/sys/fs/cgroup');
  t.equal(p.mounts[i]!.type, 'tmpfs');
  t.equal(p.mounts[i]!.propagation, MS.PRIVATE | MS.REC);
  t.same(
    p.mounts.slice(i + 1).map((m) => [m.source, m.destination, m.propagation]),
    [
      ['/sys/fs/cgroup/systemd/user.slice/session-1.scope', '/sys/fs/cgroup/systemd', MS.PRIVATE | MS.REC],
      ['/sys/fs/cgroup/cpu,cpuacct/user.slice', '/sys/fs/cgroup/cpu,cpuacct', MS.PRIVATE | MS.REC],
      ['/sys/fs/cgroup/net_cls,net_prio', '/sys/fs/cgroup/net_cls,net_prio', MS.PRIVATE | MS.REC],
      ['/sys/fs/cgroup/memory/user.slice', '/sys/fs/cgroup/memory', MS.PRIVATE | MS.REC],
    ],
    'the second mount of memory is not used',
  );
  t.same(
    p.symlinks.filter((l) => l.link.startsWith('/sys/fs/cgroup')),
    [
      { target: 'cpu,cpuacct', link: '/sys/fs/cgroup/cpu' },
      { target: 'cpu,cpuacct', link: '/sys/fs/cgroup/cpuacct' },
      { target: 'net_cls,net_prio', link: '/sys/fs/cgroup/net_cls' },
      { target: 'net_cls,net_prio', link: '/sys/fs/cgroup/net_prio' },
    ],
  );
  t.same(p.symlinks[0], { target: 'cpu,cpuacct', link: '/sys/fs/cgroup/cpu' }, 'cgroup links come before the /dev links');
});

t.test('cgroup v1 with a cgroup namespace: a fresh cgroup mount per hierarchy', async (t) => {
  const p = buildLaunchPlan(
    spec((s) => s.linux!.namespaces!.push({ type: 'cgroup' })),
    options({ host: { mountinfo: HYBRID_MOUNTINFO, cgroup: HYBRID_CGROUP, hasProcKcore: false } }),
  );
  const i = p.mounts.findIndex((m) => m.destination === '/sys/fs/cgroup');
  t.same(
    p.mounts.slice(i + 1).map((m) => [m.source, m.destination, m.type, m.data, m.flags, m.ext]),
    [
      ['systemd', '/sys/fs/cgroup/systemd', 'cgroup', 'name=systemd', TMPFS_FLAGS | MS.RDONLY, 0],
      ['cgroup', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', 'cpu,cpuacct', TMPFS_FLAGS | MS.RDONLY, 0],
      ['cgroup', '/sys/fs/cgroup/net_cls,net_prio', 'cgroup', 'net_cls,net_prio', TMPFS_FLAGS | MS.RDONLY, 0],
      ['cgroup', '/sys/fs/cgroup/memory', 'cgroup', 'memory', TMPFS_FLAGS | MS.RDONLY, 0],
    ],
  );
  const rw = buildLaunchPlan(
    spec((s) => {
      s.linux!.namespaces!.push({ type: 'cgroup', path: '/proc/1/ns/cgroup' });
      s.mounts!.find((m) => m.type === 'cgroup')!.options = ['nosuid'];
    }),
    options(),
  );
  t.equal(rw.mounts.find((m) => m.destination === '/sys/fs/cgroup/memory')!.flags, TMPFS_FLAGS, 'a joined cgroup namespace counts; rw stays rw');
  t.equal(rw.mounts.find((m) => m.destination === '/sys/fs/cgroup/memory')!.type, 'cgroup');
});

t.test('cgroup v1 nested: the hierarchy root is taken off the own cgroup path', async (t) => {
  const mountinfo = '50 40 0:35 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n';
  const p = buildLaunchPlan(spec(), options({ host: { mountinfo, cgroup: '4:memory:/docker/abc/inner\n', hasProcKcore: false } }));
  t.equal(p.mounts.find((m) => m.destination === '/sys/fs/cgroup/memory')!.source, '/sys/fs/cgroup/memory/inner');
});

t.test('cgroup v2: one cgroup2 mount with the config flags', async (t) => {
  const p = build(() => {}, { host: V2_HOST });
  const cg = p.mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
  t.same(cg, [{ flags: CG_FLAGS, propagation: 0n, attrSet: 0n, attrClr: 0n, ext: 0, source: 'cgroup', destination: '/sys/fs/cgroup', type: 'cgroup2', data: '' }]);
  t.notOk(p.symlinks.some((l) => l.link.startsWith('/sys')));
});

t.test('a cgroup mount with a bind option is a plain bind', async (t) => {
  const p = build((s) => (s.mounts!.find((m) => m.type === 'cgroup')!.options = ['rbind', 'ro']));
  const cg = p.mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
  t.equal(cg.length, 1);
  t.equal(cg[0]!.type, 'bind');
  t.equal(cg[0]!.source, '/bundle/cgroup', 'relative source against the bundle');
});

t.test('host text parsers', async (t) => {
  const [m] = parseMountinfo('36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n');
  t.same(m, { root: '/mnt1', mountPoint: '/mnt/a b', fsType: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'] });
  t.same(parseMountinfo('garbage\n\n'), []);
  const cg = parseProcCgroup(HYBRID_CGROUP);
  t.equal(cg.get('cpuacct'), '/user.slice');
  t.equal(cg.get('name=systemd'), '/user.slice/session-1.scope');
  t.equal(cg.get(''), '/user.slice/session-1.scope');
  t.equal(procCgroupAt('4:memory:/a\n1:name=systemd:/b\n0::/c\n', '/hako/x'), '4:memory:/hako/x\n1:name=systemd:/hako/x\n0::/hako/x\n');
  t.equal(isUidMapNested('         0          0 4294967295\n'), false);
  t.equal(isUidMapNested('0 1000 1\n'), true);
  t.equal(isUidMapNested(undefined), false);
  const live = readHostFacts();
  t.ok(live.mountinfo.length > 0 && live.cgroup.length > 0, 'this machine');
  t.doesNotThrow(() => buildLaunchPlan(spec(), options({ host: live })), 'builds with the live host facts');
});

// ---------------------------------------------------------------- /dev

t.test('/dev: default devices and links when /dev is a fresh mount', async (t) => {
  const p = build();
  t.ok(has(p.flags, PlanFlag.SETUP_DEV));
  t.same(
    p.devices.map((d) => [d.path, d.type, d.major, d.minor, d.mode, d.uid, d.gid, d.bind]),
    [
      ['/dev/null', DeviceType.CHAR, 1, 3, 0o666, 0, 0, 0],
      ['/dev/random', DeviceType.CHAR, 1, 8, 0o666, 0, 0, 0],
      ['/dev/full', DeviceType.CHAR, 1, 7, 0o666, 0, 0, 0],
      ['/dev/tty', DeviceType.CHAR, 5, 0, 0o666, 0, 0, 0],
      ['/dev/zero', DeviceType.CHAR, 1, 5, 0o666, 0, 0, 0],
      ['/dev/urandom', DeviceType.CHAR, 1, 9, 0o666, 0, 0, 0],
    ],
  );
  t.equal(DeviceType.CHAR, 'c'.charCodeAt(0));
  t.same(p.symlinks, [
    { target: 'pts/ptmx', link: '/dev/ptmx' },
    { target: '/proc/self/fd', link: '/dev/fd' },
    { target: '/proc/self/fd/0', link: '/dev/stdin' },
    { target: '/proc/self/fd/1', link: '/dev/stdout' },
    { target: '/proc/self/fd/2', link: '/dev/stderr' },
  ]);
  const kcore = build(() => {}, { host: { ...THIS_HOST, hasProcKcore: true } });
  t.same(kcore.symlinks.at(-1), { target: '/proc/kcore', link: '/dev/core' }, '/dev/core only with /proc/kcore');
  const noDevMount = build((s) => (s.mounts = s.mounts!.filter((m) => m.destination !== '/dev')));
  t.ok(has(noDevMount.flags, PlanFlag.SETUP_DEV), 'no /dev mount at all: runc still sets /dev up');
});

t.test('/dev: linux.devices after the defaults, replacing one by path', async (t) => {
  const p = build((s) => {
    s.linux!.devices = [
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o20660, uid: 0, gid: 5 },
      { type: 'b', path: '/dev/sda', major: 8, minor: 0 },
      { type: 'p', path: '/dev/fifo' },
      { type: 'u', path: '/dev/null', major: 1, minor: 3, fileMode: 0o600 },
      { type: 'c', path: '/dev/ptmx', major: 5, minor: 2 },
    ];
  });
  t.same(
    p.devices.map((d) => [d.path, d.type, d.major, d.minor, d.mode, d.gid]),
    [
      ['/dev/random', DeviceType.CHAR, 1, 8, 0o666, 0],
      ['/dev/full', DeviceType.CHAR, 1, 7, 0o666, 0],
      ['/dev/tty', DeviceType.CHAR, 5, 0, 0o666, 0],
      ['/dev/zero', DeviceType.CHAR, 1, 5, 0o666, 0],
      ['/dev/urandom', DeviceType.CHAR, 1, 9, 0o666, 0],
      ['/dev/fuse', DeviceType.CHAR, 10, 229, 0o660, 5],
      ['/dev/sda', DeviceType.BLOCK, 8, 0, 0o666, 0],
      ['/dev/fifo', DeviceType.FIFO, 0, 0, 0o666, 0],
      ['/dev/null', DeviceType.CHAR, 1, 3, 0o600, 0],
    ],
    'fileMode loses its type bits; default 0666; "u" is a char device; /dev/ptmx stays the link',
  );
});

t.test('/dev bind-mounted from the host: no devices, no links', async (t) => {
  const p = build((s) => {
    s.mounts = s.mounts!.filter((m) => !m.destination.startsWith('/dev'));
    s.mounts.push({ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] });
    s.linux!.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }];
  });
  t.notOk(has(p.flags, PlanFlag.SETUP_DEV));
  t.same(p.devices, []);
  t.same(p.symlinks, []);
});

t.test('devices are bind-mounted in a user namespace', async (t) => {
  const fuse = (s: Spec) => (s.linux!.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }]);
  const created = build((s) => {
    fuse(s);
    s.linux!.namespaces!.push({ type: 'user' });
  });
  t.ok(created.devices.length === 7 && created.devices.every((d) => d.bind === 1), 'new user namespace');
  const joined = build((s) => {
    fuse(s);
    s.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' });
  });
  t.ok(joined.devices.every((d) => d.bind === 1), 'joined user namespace');
  const nested = build(fuse, { host: { ...THIS_HOST, inUserNamespace: true } });
  t.ok(nested.devices.every((d) => d.bind === 1), 'hako itself in a user namespace');
  t.ok(build(fuse).devices.every((d) => d.bind === 0), 'otherwise mknod');
});

// ---------------------------------------------------------------- flags and the rest

t.test('plan flags from the config and the options', async (t) => {
  const p = build();
  t.equal(p.flags, PlanFlag.SETUP_DEV | PlanFlag.ROOT_READONLY | PlanFlag.TERMINAL | PlanFlag.NO_NEW_PRIVS, 'the default spec');
  const q = build(
    (s) => {
      s.root!.readonly = false;
      s.process!.terminal = false;
      s.process!.noNewPrivileges = false;
    },
    { noPivot: true, noNewKeyring: true, chownStdio: true },
  );
  t.equal(q.flags, PlanFlag.SETUP_DEV | PlanFlag.NO_PIVOT | PlanFlag.NO_NEW_KEYRING | PlanFlag.CHOWN_STDIO);
  t.same(q.fds, { consoleSocket: -1, execFifo: 5, preserved: 0 });
  t.equal(q.containerId, 'c1');
  t.equal(q.rootfs, '/bundle/rootfs');
});

t.test('rootfsPropagation', async (t) => {
  t.equal(build().rootPropagation, 0n, 'unset: 0 (hako-init uses MS_SLAVE|MS_REC)');
  t.equal(build((s) => (s.linux!.rootfsPropagation = 'rshared')).rootPropagation, MS.SHARED | MS.REC);
  t.equal(build((s) => (s.linux!.rootfsPropagation = 'slave')).rootPropagation, MS.SLAVE);
  t.equal(build((s) => (s.linux!.rootfsPropagation = 'runbindable')).rootPropagation, MS.UNBINDABLE | MS.REC);
});

t.test('hostname, domainname, masked and read-only paths, sysctls, time offsets', async (t) => {
  const p = build((s) => {
    s.domainname = 'example.org';
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '8192', 'fs.mqueue.queues_max': '10' };
    s.linux!.namespaces!.push({ type: 'time' });
    s.linux!.timeOffsets = { monotonic: { secs: -5, nanosecs: 7 }, boottime: { secs: 86400 } };
  });
  t.equal(p.hostname, 'hako');
  t.equal(p.domainname, 'example.org');
  t.same(p.maskedPaths, defaultSpec().linux!.maskedPaths);
  t.same(p.readonlyPaths, defaultSpec().linux!.readonlyPaths);
  t.same(p.sysctls.map((s) => s.key), ['fs.mqueue.queues_max', 'kernel.msgmax', 'net.ipv4.ip_forward'], 'sorted by key');
  t.same(p.timeOffsets, [
    { clock: 7, secs: 86400n, nanos: 0 },
    { clock: 1, secs: -5n, nanos: 7 },
  ]);
  const q = build((s) => {
    s.hostname = '';
    delete s.linux!.maskedPaths;
  });
  t.equal(q.hostname, undefined, 'an empty hostname is not set (runc)');
  t.equal(q.domainname, undefined);
  t.same(q.maskedPaths, []);
});

t.test('process: args, env, cwd, user, umask', async (t) => {
  const p = build((s) => {
    s.process!.args = ['/bin/echo', 'a b'];
    s.process!.cwd = '/work';
    s.process!.user = { uid: 1000, gid: 100, additionalGids: [5, 10] };
  });
  t.same(p.args, ['/bin/echo', 'a b']);
  t.same(p.env, defaultSpec().process!.env);
  t.equal(p.cwd, '/work');
  t.equal(p.uid, 1000);
  t.equal(p.gid, 100);
  t.same(p.additionalGids, [5, 10]);
  t.equal(p.umask, 0o022, 'umask defaults to 0022 as runc');
  t.equal(build((s) => (s.process!.user.umask = 0o077)).umask, 0o077);
  t.equal(build((s) => (s.process!.user.umask = 0)).umask, 0);
  t.same(build((s) => delete s.process!.env).env, []);
  t.equal(pointerOf(() => build((s) => delete s.process)), '/process');
});

t.test('rlimits', async (t) => {
  const p = build((s) => {
    s.process!.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615 },
      { type: 'RLIMIT_RTTIME', soft: 2 ** 40, hard: 2 ** 40 },
      { type: 'RLIMIT_CPU', soft: 1, hard: 2 },
      { type: 'RLIMIT_AS', soft: 1, hard: 2 },
    ];
  });
  t.same(p.rlimits, [
    { resource: 7, soft: 1024n, hard: 4096n },
    { resource: 4, soft: 0n, hard: RLIM_INFINITY },
    { resource: 15, soft: 2n ** 40n, hard: 2n ** 40n },
    { resource: 0, soft: 1n, hard: 2n },
    { resource: 9, soft: 1n, hard: 2n },
  ]);
  t.equal(RLIM_INFINITY, 0xffffffffffffffffn);
  t.equal(pointerOf(() => build((s) => (s.process!.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]))), '/process/rlimits/0/type');
  t.equal(pointerOf(() => build((s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: -1, hard: 1 }]))), '/process/rlimits/0/soft');
});

t.test('capabilities as masks', async (t) => {
  t.equal(CAPABILITIES.length, 41);
  t.equal(CAPABILITIES[21], 'CAP_SYS_ADMIN');
  t.equal(CAPABILITIES[40], 'CAP_CHECKPOINT_RESTORE');
  const p = build();
  const want = (1n << 29n) | (1n << 5n) | (1n << 10n); // AUDIT_WRITE, KILL, NET_BIND_SERVICE
  t.same(p.capabilities, { bounding: want, effective: want, permitted: want, inheritable: 0n, ambient: want });
  t.equal(capabilityMask(CAPABILITIES), (1n << 41n) - 1n, 'every capability');
  t.equal(capabilityMask(['CAP_CHOWN', 'CAP_BOGUS']), 1n, 'unknown names are left out');
  t.equal(capabilityMask(['CAP_BPF', 'CAP_CHECKPOINT_RESTORE'], 39), 1n << 39n, 'above the kernel last cap are left out');
  t.same(unknownCapabilities({ bounding: ['CAP_CHOWN', 'CAP_BOGUS'], ambient: ['CAP_BOGUS', 'CAP_BPF'] }, 38), ['CAP_BOGUS', 'CAP_BPF']);
  t.same(build((s) => delete s.process!.capabilities).capabilities, { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n }, 'no capabilities object: every set empty (as runc), not root\'s');
  const empty = build((s) => (s.process!.capabilities = {}));
  t.same(empty.capabilities, { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n }, 'an empty object: all sets empty');
  t.equal(build(() => {}, { host: { ...THIS_HOST, capLastCap: 9 } }).capabilities!.bounding, 1n << 5n);
});

t.test('oomScoreAdj, consoleSize', async (t) => {
  const p = build((s) => {
    s.process!.oomScoreAdj = -1000;
    s.process!.consoleSize = { height: 24, width: 80 };
  });
  t.equal(p.oomScoreAdj, -1000n);
  t.same(p.consoleSize, { rows: 24, cols: 80 });
  const q = build();
  t.equal(q.oomScoreAdj, undefined);
  t.equal(q.consoleSize, undefined);
});

// ---------------------------------------------------------------- id maps

t.test('idMaps: the map texts and setgroups', async (t) => {
  const s = defaultSpec({ rootless: true, uid: 1000, gid: 1000 });
  s.linux!.uidMappings!.push({ containerID: 1, hostID: 100000, size: 65536 });
  t.same(idMaps(s, { euid: 0, egid: 0 }), { uidMap: '0 1000 1\n1 100000 65536\n', gidMap: '0 1000 1\n' }, 'as root: setgroups left alone');
  t.same(idMaps(s, { euid: 1000, egid: 1000 }), { uidMap: '0 1000 1\n1 100000 65536\n', gidMap: '0 1000 1\n', setgroups: 'deny' }, 'rootless, own gid only: deny');
  s.linux!.gidMappings!.push({ containerID: 1, hostID: 100000, size: 65536 });
  t.equal(idMaps(s, { euid: 1000, egid: 1000 }).setgroups, undefined, 'rootless with more gids (newgidmap): left alone');
  t.same(idMaps(defaultSpec(), { euid: 0, egid: 0 }), { uidMap: '', gidMap: '' });
  t.equal(typeof idMaps(s).uidMap, 'string', 'the caller defaults to this process');
});

// ---------------------------------------------------------------- fixtures

t.test('every shared fixture config builds a plan and encodes', async (t) => {
  const dir = FIXTURES_DIR;
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('process-'));
  } catch {
    t.comment(`${dir} is not on this machine`);
    return;
  }
  t.ok(files.length > 0);
  for (const f of files) {
    const s = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Spec;
    for (const host of [THIS_HOST, V2_HOST]) {
      const p = buildLaunchPlan(s, options({ host }));
      const bytes = encodePlan(p);
      t.equal(bytes.subarray(0, 8).toString('latin1'), 'HAKOPLAN', `${f} (${host === THIS_HOST ? 'v1' : 'v2'})`);
      t.same(p.args, s.process!.args);
      t.ok(has(p.flags, PlanFlag.SETUP_DEV), `${f}: /dev is set up`);
    }
  }
});

t.test('a bind whose options only clear flags is marked for a remount', async (t) => {
  const bind = (options: string[]) => planMount({ destination: '/m', source: '/src', type: 'bind', options }, '/bundle', '/mounts/0');
  t.ok(bind(['rbind', 'rw']).ext & MountExt.REMOUNT, 'rw');
  t.ok(bind(['bind', 'suid', 'dev', 'exec']).ext & MountExt.REMOUNT, 'suid, dev, exec');
  t.notOk(bind(['rbind']).ext & MountExt.REMOUNT, 'nothing asked: no remount');
  t.notOk(bind(['rbind', 'ro']).ext & MountExt.REMOUNT, 'ro sets a flag: the flags already ask for a remount');
  t.notOk(
    planMount({ destination: '/t', source: 'tmpfs', type: 'tmpfs', options: ['rw'] }, '/bundle', '/mounts/1').ext & MountExt.REMOUNT,
    'not a bind',
  );
});

t.test('scheduler, I/O priority, personality; execCPUAffinity is not the init\'s', async (t) => {
  const p = build((s) => {
    s.process!.scheduler = { policy: 'SCHED_DEADLINE', flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_UTIL_CLAMP_MAX'], runtime: 1024, deadline: 2048, period: 4096 };
    s.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 7 };
    s.process!.execCPUAffinity = { initial: '0', final: '1' };
    s.linux!.personality = { domain: 'LINUX32', flags: ['IGNORED'] };
  });
  t.same(p.scheduler, { policy: 6, flags: 0x41n, nice: 0, priority: 0, runtime: 1024n, deadline: 2048n, period: 4096n }, 'sched_attr, flags as bits');
  t.same(p.ioPriority, { class: 3, priority: 7 }, 'IOPRIO_CLASS_IDLE is 3');
  t.equal(p.personality, 0x0008, 'PER_LINUX32; the flags ignored, as runc');
  t.equal(p.cpuAffinity, undefined, 'execCPUAffinity does not apply to the init (runtime-spec)');
  t.same(build((s) => (s.process!.scheduler = { policy: 'SCHED_BATCH', nice: 5 })).scheduler, { policy: 3, flags: 0n, nice: 5, priority: 0, runtime: 0n, deadline: 0n, period: 0n });
  t.equal(build((s) => (s.linux!.personality = { domain: 'LINUX' })).personality, 0, 'PER_LINUX is planned too (not left alone)');
  const none = build();
  t.same([none.scheduler, none.ioPriority, none.personality, none.cpuAffinity], [undefined, undefined, undefined, undefined], 'absent: left alone');
  // What the schema refuses first, the builder still names by pointer.
  t.equal(pointerOf(() => build((s) => (s.process!.scheduler = { policy: 'SCHED_NORMAL' as 'SCHED_OTHER' }))), '/process/scheduler/policy');
  t.equal(pointerOf(() => build((s) => (s.process!.scheduler = { policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_X' as 'SCHED_FLAG_RECLAIM'] }))), '/process/scheduler/flags/0');
  t.equal(pointerOf(() => build((s) => (s.process!.scheduler = { policy: 'SCHED_DEADLINE', runtime: -1 }))), '/process/scheduler/runtime');
  t.equal(pointerOf(() => build((s) => (s.process!.ioPriority = { class: 'IOPRIO_CLASS_NONE' as 'IOPRIO_CLASS_BE', priority: 0 }))), '/process/ioPriority/class');
  t.equal(pointerOf(() => build((s) => (s.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }))), '/process/ioPriority/priority');
  t.equal(pointerOf(() => build((s) => (s.linux!.personality = { domain: 'LINUX64' as 'LINUX' }))), '/linux/personality/domain');
});

t.test('memoryPolicy: mode | flags and the node list (runc 1.4)', async (t) => {
  t.same(build((s) => (s.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0, 2-3', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_NUMA_BALANCING'] })).memoryPolicy, {
    mode: 2,
    flags: (1 << 15) | (1 << 13),
    nodes: [0, 2, 3],
  });
  t.same(build((s) => (s.linux!.memoryPolicy = { mode: 'MPOL_LOCAL' })).memoryPolicy, { mode: 4, flags: 0, nodes: [] }, 'no nodes: an empty list');
  t.equal(build().memoryPolicy, undefined, 'absent: left alone');
  t.equal(pointerOf(() => build((s) => (s.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '3-1' }))), '/linux/memoryPolicy/nodes');
  t.equal(pointerOf(() => build((s) => (s.linux!.memoryPolicy = { mode: 'MPOL_X' as 'MPOL_BIND', nodes: '0' }))), '/linux/memoryPolicy/mode');
  t.equal(pointerOf(() => build((s) => (s.linux!.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_X' as 'MPOL_F_STATIC_NODES'] }))), '/linux/memoryPolicy/flags/0');
});
