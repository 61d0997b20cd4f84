// The cgroup drivers without root: where a container's cgroup goes (runc's layout, checked
// against what runc 1.1.5 recorded on this project's machines), the v1 -> v2 conversions,
// the device rules, the file writes each resource becomes, and the drivers' writes into a
// throwaway directory tree standing in for cgroupfs.
import t, { type Test } from 'tap';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupLayout, detectDriver, innerPath, layoutPaths, procCgroupFor, uniqueDirs } from '../../src/cgroups/paths.js';
import { blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, int, memorySwapToV2, rdmaLine } from '../../src/cgroups/convert.js';
import {
  DEFAULT_DEVICE_RULES,
  applyDeviceRules,
  containerDeviceRules,
  deviceWrites,
  formatDeviceRule,
  parseDevicesList,
} from '../../src/cgroups/devices.js';
import { v1ResourceWrites } from '../../src/cgroups/v1-resources.js';
import { v2ResourceWrites } from '../../src/cgroups/v2-resources.js';
import { V1Cgroup } from '../../src/cgroups/v1.js';
import { V2Cgroup } from '../../src/cgroups/v2.js';
import { checkCgroupUsable, containerCgroup, removeFailedCgroup } from '../../src/cgroups/manager.js';
import { mergeResources } from '../../src/cgroups/merge.js';
import { placeStage0, planPlacement } from '../../src/cgroups/placement.js';
import { memoryBytes, parseResources, resourcesFromFlags } from '../../src/cli/update.js';
import { parseDuration } from '../../src/cli/events.js';
import { blkioEntries, cpuList, hugePageSizes, oomCount, statsJson, v1Stats, v2Stats } from '../../src/cgroups/stats.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import type { LinuxResources } from '../../src/oci/types.js';
import { HakoError } from '../../src/errors.js';
import { THIS_HOST_CGROUP, THIS_HOST_MOUNTINFO } from '../helpers/host-samples.js';

// ---------------------------------------------------------------- host texts

/** A systemd hybrid host with co-mounted controllers. */
const HYBRID_MOUNTINFO = `33 25 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
38 33 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
40 33 0:35 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
41 33 0:35 / /mnt/memory-again rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
`;
const HYBRID_CGROUP = `12:memory:/user.slice
3:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/session-1.scope
0::/user.slice/session-1.scope
`;

/** A cgroup v2 host. */
const V2_MOUNTINFO = `26 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
`;
const V2_CGROUP = '0::/user.slice/user-1000.slice/session-3.scope\n';

/** Inside a container: each hierarchy's mount shows only the container's subtree. */
const NESTED_MOUNTINFO = `700 600 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
701 600 0:33 /docker/abc /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
`;
const NESTED_CGROUP = `4:memory:/docker/abc/sub
8:pids:/docker/abc
`;

// ---------------------------------------------------------------- paths

t.test('the path inside each hierarchy: cgroupsPath, else the id (relative)', async (t) => {
  t.equal(innerPath(undefined, 'c1'), 'c1');
  t.equal(innerPath('', 'c1'), 'c1');
  t.equal(innerPath('/a/b', 'c1'), '/a/b');
  t.equal(innerPath('/a//b/', 'c1'), '/a/b');
  t.equal(innerPath('a/b', 'c1'), 'a/b');
  t.equal(innerPath('/a/../../b', 'c1'), '/b', '".." stops at the root');
  t.throws(() => innerPath('..', 'c1'), HakoError);
});

t.test('driver: v2 only when cgroup2 is mounted at /sys/fs/cgroup', async (t) => {
  t.equal(detectDriver(THIS_HOST_MOUNTINFO), 'v1');
  t.equal(detectDriver(HYBRID_MOUNTINFO), 'v1');
  t.equal(detectDriver(V2_MOUNTINFO), 'v2');
});

t.test('this host, default path: what runc 1.1.5 recorded as cgroup_paths', async (t) => {
  const layout = cgroupLayout(THIS_HOST_MOUNTINFO, THIS_HOST_CGROUP, innerPath(undefined, 'x1'));
  t.equal(layout.driver, 'v1');
  t.same(layoutPaths(layout), {
    '': '/sys/fs/cgroup/unified/x1',
    blkio: '/sys/fs/cgroup/blkio/x1',
    cpu: '/sys/fs/cgroup/cpu/x1',
    cpuacct: '/sys/fs/cgroup/cpuacct/x1',
    cpuset: '/sys/fs/cgroup/cpuset/x1',
    devices: '/sys/fs/cgroup/devices/x1',
    freezer: '/sys/fs/cgroup/freezer/x1',
    memory: '/sys/fs/cgroup/memory/process_api/2ffb92027ef78fa4b00ef6f191497ff0/x1',
    'name=systemd': '/sys/fs/cgroup/systemd/x1',
    pids: '/sys/fs/cgroup/pids/x1',
  });
  t.equal(
    procCgroupFor(THIS_HOST_CGROUP, layout),
    `9:name=systemd:/x1
8:pids:/x1
7:blkio:/x1
6:freezer:/x1
5:devices:/x1
4:memory:/process_api/2ffb92027ef78fa4b00ef6f191497ff0/x1
3:cpuset:/x1
2:cpuacct:/x1
1:cpu:/x1
0::/x1
`,
    "the init's /proc/self/cgroup as runc's showed it",
  );
});

t.test('an absolute cgroupsPath is the same path in every hierarchy', async (t) => {
  const layout = cgroupLayout(THIS_HOST_MOUNTINFO, THIS_HOST_CGROUP, innerPath('/bad/path', 'x'));
  t.equal(layout.placements.memory?.dir, '/sys/fs/cgroup/memory/bad/path');
  t.equal(layout.placements.memory?.cgroupPath, '/bad/path');
  t.equal(layout.placements['']?.dir, '/sys/fs/cgroup/unified/bad/path');
});

t.test('co-mounted controllers share one directory; the first mount of a hierarchy is used', async (t) => {
  const layout = cgroupLayout(HYBRID_MOUNTINFO, HYBRID_CGROUP, 'c1');
  const paths = layoutPaths(layout);
  t.equal(paths.cpu, '/sys/fs/cgroup/cpu,cpuacct/user.slice/c1');
  t.equal(paths.cpuacct, paths.cpu);
  t.equal(paths.memory, '/sys/fs/cgroup/memory/user.slice/c1');
  t.equal(paths['name=systemd'], '/sys/fs/cgroup/systemd/user.slice/session-1.scope/c1');
  t.equal(paths[''], '/sys/fs/cgroup/unified/user.slice/session-1.scope/c1');
  t.equal(uniqueDirs(paths).length, 4);
  t.equal(
    procCgroupFor(HYBRID_CGROUP, layout),
    '12:memory:/user.slice/c1\n3:cpu,cpuacct:/user.slice/c1\n1:name=systemd:/user.slice/session-1.scope/c1\n0::/user.slice/session-1.scope/c1\n',
  );
});

t.test('v2: one directory under the caller\'s cgroup, or at the absolute path', async (t) => {
  const rel = cgroupLayout(V2_MOUNTINFO, V2_CGROUP, 'c1');
  t.equal(rel.driver, 'v2');
  t.same(layoutPaths(rel), { '': '/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/c1' });
  const abs = cgroupLayout(V2_MOUNTINFO, V2_CGROUP, '/machine/c1');
  t.same(layoutPaths(abs), { '': '/sys/fs/cgroup/machine/c1' });
  t.equal(procCgroupFor(V2_CGROUP, abs), '0::/machine/c1\n');
});

t.test('a hierarchy mounted from a subtree (inside a container)', async (t) => {
  const layout = cgroupLayout(NESTED_MOUNTINFO, NESTED_CGROUP, 'c1');
  t.same(layout.placements.memory, { dir: '/sys/fs/cgroup/memory/sub/c1', cgroupPath: '/docker/abc/sub/c1' });
  t.same(layout.placements.pids, { dir: '/sys/fs/cgroup/pids/c1', cgroupPath: '/docker/abc/c1' });
  const abs = cgroupLayout(NESTED_MOUNTINFO, NESTED_CGROUP, '/x');
  t.same(abs.placements.pids, { dir: '/sys/fs/cgroup/pids/x', cgroupPath: '/docker/abc/x' });
});

t.test('--systemd-cgroup: a cgroupsPath not of the form slice:prefix:name is refused first', async (t) => {
  const spec = defaultSpec();
  spec.linux!.cgroupsPath = 'bad/path';
  t.throws(() => containerCgroup(spec, 'x', true, { mountinfo: THIS_HOST_MOUNTINFO, procCgroup: THIS_HOST_CGROUP }), {
    message: 'expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "bad/path" instead',
  });
});

// ---------------------------------------------------------------- conversions

t.test('v1 -> v2 conversions', async (t) => {
  t.equal(cpuSharesToWeight(0), 0);
  t.equal(cpuSharesToWeight(2), 1);
  t.equal(cpuSharesToWeight(1024), 39);
  t.equal(cpuSharesToWeight(262144), 10000);
  t.equal(blkioWeightToIoWeight(0), 0);
  t.equal(blkioWeightToIoWeight(10), 1);
  t.equal(blkioWeightToIoWeight(500), 4950);
  t.equal(blkioWeightToIoWeight(1000), 10000);
  t.equal(memorySwapToV2(0, -1), -1, 'unlimited memory, swap unset: unlimited swap');
  t.equal(memorySwapToV2(-1, 100), -1);
  t.equal(memorySwapToV2(0, 100), 0);
  t.equal(memorySwapToV2(300, 100), 200, 'memsw counts memory plus swap; v2 counts swap alone');
  t.throws(() => memorySwapToV2(300, 0), { message: 'unable to set swap limit without memory limit' });
  t.throws(() => memorySwapToV2(50, 100), { message: 'memory+swap limit should be >= memory limit' });
  t.equal(cpuMax(50000, 100000), '50000 100000');
  t.equal(cpuMax(-1, 100000), 'max 100000');
  t.equal(cpuMax(20000, 0), '20000');
  t.equal(int(9223372036854775807), '9223372036854775808', 'no exponent notation');
  t.equal(rdmaLine('mlx4_0', { hcaHandles: 2 }), 'mlx4_0 hca_handle=2 hca_object=max');
});

// ---------------------------------------------------------------- devices

t.test('device rules: the default config gives what runc 1.1.5 wrote to devices.list', async (t) => {
  const spec = defaultSpec();
  const state = applyDeviceRules(containerDeviceRules(spec.linux?.resources?.devices));
  t.equal(state.defaultAllow, false);
  t.same(
    state.exceptions.map(formatDeviceRule).sort(),
    ['b *:* m', 'c *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:2 rwm', 'c 10:200 rwm', 'c 136:* rwm'].sort(),
  );
  const writes = deviceWrites(state);
  t.same(writes[0], { controller: 'devices', file: 'devices.deny', value: 'a' }, 'deny everything first');
  t.equal(writes.length, 1 + DEFAULT_DEVICE_RULES.length);
  t.ok(writes.slice(1).every((w) => w.file === 'devices.allow'));
});

t.test('device rules follow the kernel: "a" resets, the default takes access from an exception', async (t) => {
  const s = applyDeviceRules(
    containerDeviceRules([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 4, access: 'r' },
      { allow: true, type: 'c', major: 4, access: 'w' },
      { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
    ]),
  );
  t.same(s.exceptions.find((e) => e.major === 4), { allow: true, type: 'c', major: 4, minor: -1, access: 'rw' });
  t.equal(s.exceptions.find((e) => e.major === 1 && e.minor === 3)?.access, 'rwm', 'the default rule for /dev/null comes after and restores w');
  const allowAll = applyDeviceRules([{ allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' }, { allow: false, type: 'b', major: 8, minor: 0, access: 'w' }]);
  t.same(deviceWrites(allowAll), [
    { controller: 'devices', file: 'devices.allow', value: 'a' },
    { controller: 'devices', file: 'devices.deny', value: 'b 8:0 w' },
  ]);
});

t.test('device rules on update: only the differences, no moment without access', async (t) => {
  const current = parseDevicesList('c 1:3 rwm\nc 4:* r\nc 5:0 rwm\n');
  const target = applyDeviceRules([
    { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 5, minor: 0, access: 'r' },
    { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
  ]);
  t.same(deviceWrites(target, current), [
    { controller: 'devices', file: 'devices.deny', value: 'c 4:* r' },
    { controller: 'devices', file: 'devices.deny', value: 'c 5:0 wm' },
    { controller: 'devices', file: 'devices.allow', value: 'c 10:200 rwm' },
  ]);
  t.same(parseDevicesList('a *:* rwm\n'), { defaultAllow: true, exceptions: [] });
});

// ---------------------------------------------------------------- resources -> writes

const RUNC_CHECKED: LinuxResources = {
  // what runc 1.1.5 wrote for these on this machine: pids.max 7, cpu.shares 512,
  // cfs_quota 50000, cfs_period 100000, cpuset 0/0, blkio.bfq.weight 300,
  // memory 104857600 / memsw 209715200 / soft 52428800, swappiness 10, oom_kill_disable 1
  pids: { limit: 7 },
  memory: { limit: 104857600, swap: 209715200, reservation: 52428800, swappiness: 10, disableOOMKiller: true },
  cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
  blockIO: { weight: 300 },
};

const files = (ws: { controller: string; file: string; value: string }[]): string[] => ws.map((w) => `${w.controller}/${w.file}=${w.value}`);

t.test('v1 writes: the resources runc was checked with', async (t) => {
  const reader = { read: (c: string, f: string) => (c === 'blkio' && f === 'blkio.bfq.weight' ? '100' : c === 'memory' && f === 'memory.limit_in_bytes' ? '9223372036854771712' : undefined) };
  const ws = v1ResourceWrites({ devices: [{ allow: false, access: 'rwm' }], ...RUNC_CHECKED }, reader);
  t.same(files(ws.filter((w) => w.controller !== 'devices')), [
    'memory/memory.limit_in_bytes=104857600',
    'memory/memory.memsw.limit_in_bytes=209715200',
    'memory/memory.soft_limit_in_bytes=52428800',
    'memory/memory.swappiness=10',
    'memory/memory.oom_control=1',
    'cpu/cpu.shares=512',
    'cpu/cpu.cfs_period_us=100000',
    'cpu/cpu.cfs_quota_us=50000',
    'cpuset/cpuset.cpus=0',
    'cpuset/cpuset.mems=0',
    'pids/pids.max=7',
    'blkio/blkio.bfq.weight=300',
  ]);
  t.ok(ws.some((w) => w.controller === 'devices'));
});

t.test('v1 writes: memory and memsw in the order the kernel accepts', async (t) => {
  const current = (limit: string) => ({ read: (_c: string, f: string) => (f === 'memory.limit_in_bytes' ? limit : undefined) });
  const order = (r: LinuxResources, cur: string): string[] => files(v1ResourceWrites(r, current(cur), { update: true }));
  t.same(order({ memory: { limit: 100, swap: 200 } }, '1000'), ['memory/memory.limit_in_bytes=100', 'memory/memory.memsw.limit_in_bytes=200'], 'shrinking: memory first');
  t.same(order({ memory: { limit: 1000, swap: 2000 } }, '100'), ['memory/memory.memsw.limit_in_bytes=2000', 'memory/memory.limit_in_bytes=1000'], 'growing: memsw first');
  t.same(order({ memory: { limit: -1 } }, '100'), ['memory/memory.memsw.limit_in_bytes=-1', 'memory/memory.limit_in_bytes=-1'], 'unlimited: both');
  t.same(order({ pids: { limit: -1 } }, ''), ['pids/pids.max=max']);
  t.same(order({ pids: { limit: 0 } }, ''), [], '0 is unset');
  t.same(order({ blockIO: { weight: 500 } }, ''), ['blkio/blkio.weight=500'], 'CFQ file when BFQ is not there');
  t.same(order({ hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }], network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }] } }, ''), [
    'hugetlb/hugetlb.2MB.limit_in_bytes=4194304',
    'net_cls/net_cls.classid=1048577',
    'net_prio/net_prio.ifpriomap=eth0 5',
  ]);
  t.same(
    order({ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }] } }, ''),
    ['blkio/blkio.throttle.read_bps_device=8:0 1048576', 'blkio/blkio.throttle.write_iops_device=8:0 100'],
  );
  t.throws(() => order({ memory: { swappiness: 101 } }, ''), { message: 'invalid value:101. valid memory swappiness range is 0-100' });
  t.throws(() => order({ unified: { 'memory.max': '1' } }, ''), { message: 'invalid configuration: cannot use unified on cgroup v1' });
  t.same(order({}, ''), [], 'update without devices leaves the device rules alone');
  const noRules = files(v1ResourceWrites({}, current('')));
  t.same(noRules[0], 'devices/devices.deny=a', 'create without any device rule denies every device first (as runc)');
  t.same(noRules.slice(1), DEFAULT_DEVICE_RULES.map((r) => `devices/devices.allow=${formatDeviceRule(r)}`), 'then allows only runc\'s default nodes');
  t.same(files(v1ResourceWrites({ devices: [{ allow: true, access: 'rwm' }] }, current(''))), [], 'create with an explicit allow-all writes none (inherited rules stay)');
  t.same(
    files(v1ResourceWrites({ devices: [{ allow: true, type: 'b', major: 7, access: 'r' }] }, current(''))).slice(0, 2),
    ['devices/devices.deny=a', 'devices/devices.allow=b 7:* r'],
    'allow rules alone are exceptions to deny-all',
  );
});

t.test('v2 writes: converted from the same resources', async (t) => {
  const noBfq = { read: () => undefined };
  t.same(files(v2ResourceWrites(RUNC_CHECKED, noBfq)), [
    '/memory.swap.max=104857600',
    '/memory.max=104857600',
    '/memory.low=52428800',
    '/cpu.weight=20',
    '/cpu.max=50000 100000',
    '/cpuset.cpus=0',
    '/cpuset.mems=0',
    '/pids.max=7',
    '/io.weight=2930',
  ]);
  const bfq = { read: (_c: string, f: string) => (f === 'io.bfq.weight' ? 'default 100' : undefined) };
  t.same(files(v2ResourceWrites({ blockIO: { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 200 }] } }, bfq)), ['/io.bfq.weight=300', '/io.bfq.weight=8:0 200']);
  t.same(files(v2ResourceWrites({ memory: { limit: -1 }, pids: { limit: -1 }, unified: { 'memory.high': '1G' } }, noBfq)), [
    '/memory.swap.max=max',
    '/memory.max=max',
    '/pids.max=max',
    '/memory.high=1G',
  ]);
  t.same(files(v2ResourceWrites({ blockIO: { throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }] } }, noBfq)), ['/io.max=8:0 wbps=2097152']);
  t.throws(() => v2ResourceWrites({ cpu: { realtimeRuntime: 100 } }, noBfq), { message: /realtime/ });
  t.throws(() => v2ResourceWrites({ unified: { '../x': '1' } }, noBfq), { message: /not a cgroup v2 file name/ });
  t.throws(() => v2ResourceWrites({ memory: { swap: 100 } }, noBfq), { message: 'unable to set swap limit without memory limit' });
});

// ---------------------------------------------------------------- drivers on a fake tree

function fakeTree(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'hako-cgfake-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function touch(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), v);
}

t.test('placement: the cgroup2 directory is cloned into, unless there is a user namespace', async (t) => {
  const hybrid = layoutPaths(cgroupLayout(HYBRID_MOUNTINFO, HYBRID_CGROUP, 'c1'));
  const cgroup2 = hybrid['']!;
  t.ok(cgroup2, 'the hybrid layout has a cgroup2 placement');
  const v1Dirs = uniqueDirs(hybrid).filter((d) => d !== cgroup2);
  t.same(planPlacement(hybrid, false), { stage0Dirs: v1Dirs, cloneInto: cgroup2 }, 'hybrid: v1 by cgroup.procs, cgroup2 by the clone');
  t.same(planPlacement(hybrid, true), { stage0Dirs: uniqueDirs(hybrid) }, 'hybrid with a user namespace: every hierarchy by cgroup.procs');
  const v2 = layoutPaths(cgroupLayout(V2_MOUNTINFO, V2_CGROUP, 'c1'));
  t.same(planPlacement(v2, false), { stage0Dirs: [], cloneInto: '/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/c1' }, 'v2: nothing for hako to write');
  t.same(planPlacement(v2, true), { stage0Dirs: ['/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/c1'] }, 'v2 with a user namespace: cgroup.procs');
  const v1only = layoutPaths(cgroupLayout(NESTED_MOUNTINFO, NESTED_CGROUP, 'c1'));
  t.same(planPlacement(v1only, false), { stage0Dirs: uniqueDirs(v1only) }, 'no cgroup2 hierarchy: cgroup.procs everywhere');

  const root = fakeTree(t);
  const paths = { memory: join(root, 'memory'), '': join(root, 'unified') };
  touch(paths.memory, { 'cgroup.procs': '' });
  touch(paths[''], { 'cgroup.procs': '' });
  await placeStage0(planPlacement(paths, false), 4242);
  t.equal(readFileSync(join(paths.memory, 'cgroup.procs'), 'utf8'), '4242', 'stage 0 written into the v1 hierarchy');
  t.equal(readFileSync(join(paths[''], 'cgroup.procs'), 'utf8'), '', 'and not into the cgroup2 one');
  await placeStage0(planPlacement(paths, true), 4343);
  t.equal(readFileSync(join(paths[''], 'cgroup.procs'), 'utf8'), '4343', 'with a user namespace: into the cgroup2 one too');
  await t.rejects(placeStage0(planPlacement(paths, false), 0), { message: 'cannot place pid 0 in a cgroup' });
  // A failed write in runc's words, with the path and the errno.
  const gone = join(root, 'gone');
  try {
    await placeStage0({ stage0Dirs: [gone] }, 4444);
    t.fail('placed');
  } catch (err) {
    t.equal((err as HakoError).message, `unable to start container process: error adding pid 4444 to cgroups: failed to write 4444: write ${gone}/cgroup.procs: no such file or directory`);
    t.same((err as HakoError).where, { path: `${gone}/cgroup.procs`, syscall: 'write', errno: 'ENOENT' });
  }
  t.throws(() => new V1Cgroup({ memory: gone }).place(4545), { message: `error adding pid 4545 to cgroups: failed to write 4545: write ${gone}/cgroup.procs: no such file or directory` });
});

// On cgroup v1 the first cgroup.procs write may wait for an RCU grace period: hako plans
// the launch meanwhile. Here the first "cgroup.procs" is a FIFO whose buffer is full, so
// the write(2) blocks until this test drains it: a placement on the main thread would
// never return.
t.test('placement: the first write runs off the main thread, the others after it', async (t) => {
  const root = fakeTree(t);
  const first = join(root, 'memory');
  const second = join(root, 'pids');
  mkdirSync(first, { recursive: true });
  const fifo = join(first, 'cgroup.procs');
  execFileSync('mkfifo', [fifo]);
  touch(second, { 'cgroup.procs': '' });
  const r = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => closeSync(r));
  const w = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const page = Buffer.alloc(4096, 'x');
  let filled = 0;
  try {
    for (;;) filled += writeSync(w, page);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
  } finally {
    closeSync(w);
  }

  const placed = placeStage0({ stage0Dirs: [first, second] }, 4545);
  t.equal(readFileSync(join(second, 'cgroup.procs'), 'utf8'), '', 'placeStage0 returned with the first write pending; the second waits');
  const buf = Buffer.alloc(filled + 4096);
  let got = 0;
  const drain = (): void => {
    try {
      for (;;) {
        const n = readSync(r, buf, got, buf.length - got, null);
        if (n === 0) return;
        got += n;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  };
  // The main thread does not yield until the pid is read: the write must be under way already.
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 10_000;
  drain();
  while (got - filled < 4 && Date.now() < deadline) {
    Atomics.wait(pause, 0, 0, 5);
    drain();
  }
  t.equal(buf.subarray(filled, got).toString(), '4545', 'the first write, once there was room, with the main thread busy');
  await placed;
  t.equal(readFileSync(join(second, 'cgroup.procs'), 'utf8'), '4545', 'then the second');
});

t.test('v1 driver writes each resource into its hierarchy; a missing hierarchy is named', async (t) => {
  const root = fakeTree(t);
  const paths: Record<string, string> = {};
  for (const c of ['memory', 'cpu', 'cpuset', 'pids', 'blkio', 'devices']) {
    paths[c] = join(root, c, 'c1');
    touch(paths[c], { 'cgroup.procs': '' });
  }
  touch(paths.blkio!, { 'blkio.bfq.weight': '100' });
  touch(paths.memory!, { 'memory.limit_in_bytes': '9223372036854771712', 'memory.memsw.limit_in_bytes': '9223372036854771712' });
  const cg = new V1Cgroup(paths);
  cg.setResources({ devices: [{ allow: false, access: 'rwm' }], ...RUNC_CHECKED });
  const read = (c: string, f: string): string => readFileSync(join(paths[c]!, f), 'utf8');
  t.equal(read('pids', 'pids.max'), '7');
  t.equal(read('memory', 'memory.limit_in_bytes'), '104857600');
  t.equal(read('memory', 'memory.memsw.limit_in_bytes'), '209715200');
  t.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
  t.equal(read('blkio', 'blkio.bfq.weight'), '300');
  t.equal(read('devices', 'devices.allow'), 'c 10:200 rwm', 'the last allow rule written');
  t.throws(() => cg.setResources({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), {
    message: 'cannot set hugetlb limit: container could not join or create cgroup',
  });
  rmSync(join(paths.memory!, 'memory.memsw.limit_in_bytes'));
  cg.setResources({ memory: { limit: -1 } }, { update: true });
  t.equal(read('memory', 'memory.limit_in_bytes'), '-1', 'without swap accounting, unlimited memory still works');
  t.throws(() => cg.setResources({ memory: { limit: 100, swap: 200 } }, { update: true }), { message: /swap accounting is off/ });
  cg.place(4242);
  t.equal(read('pids', 'cgroup.procs'), '4242');
  t.same(cg.pids(), [4242], 'pids are read from cgroup.procs');
  t.throws(() => checkCgroupUsable(cg), { message: "container's cgroup is not empty: 1 process(es) found" });
});

t.test('v2 driver writes converted values and names a missing controller', async (t) => {
  const root = fakeTree(t);
  const dir = join(root, 'c1');
  touch(dir, { 'cgroup.procs': '', 'cgroup.controllers': 'cpu pids', 'memory.max': 'max', 'memory.swap.max': 'max', 'memory.low': '0', 'cpu.max': 'max 100000', 'cpu.weight': '100', 'pids.max': 'max' });
  const cg = new V2Cgroup({ '': dir });
  // Allow-all: no device program (this fake tree is no cgroup2 directory to attach one to).
  cg.setResources({ devices: [{ allow: true, access: 'rwm' }], memory: { limit: 1048576, swap: 2097152 }, cpu: { shares: 1024, quota: 20000, period: 100000 }, pids: { limit: 10 } });
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  t.equal(read('memory.max'), '1048576');
  t.equal(read('memory.swap.max'), '1048576');
  t.equal(read('cpu.weight'), '39');
  t.equal(read('cpu.max'), '20000 100000');
  t.equal(read('pids.max'), '10');
  t.throws(() => cg.setResources({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), { message: /hugetlb controller is not available/ });
  t.equal(cg.isFrozen(), false, 'no cgroup.freeze: not frozen');
});

t.test('a failed create removes the directories it made, and only those', async (t) => {
  const root = fakeTree(t);
  mkdirSync(join(root, 'pids', 'shared'), { recursive: true });
  const cg = new V1Cgroup({ pids: join(root, 'pids', 'shared', 'new', 'c1'), memory: join(root, 'memory', 'c1') });
  const made = cg.create();
  t.same(made, [join(root, 'pids', 'shared', 'new'), join(root, 'pids', 'shared', 'new', 'c1'), join(root, 'memory'), join(root, 'memory', 'c1')]);
  mkdirSync(join(root, 'pids', 'shared', 'new', 'c1', 'sub'));
  removeFailedCgroup(cg, made);
  t.same(
    ['pids/shared', 'pids/shared/new', 'memory'].map((d) => {
      try {
        readFileSync(join(root, d));
        return 'file';
      } catch (err) {
        return (err as NodeJS.ErrnoException).code;
      }
    }),
    ['EISDIR', 'ENOENT', 'ENOENT'],
    'the pre-existing parent stays, the made ones (and a sub-cgroup) are gone',
  );
});

// ---------------------------------------------------------------- update and ps

t.test('update: the new values laid over the old, section by section', async (t) => {
  const current: LinuxResources = {
    devices: [{ allow: false, access: 'rwm' }],
    memory: { limit: 100, swap: 200 },
    cpu: { quota: 50000, period: 100000 },
    blockIO: { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }] },
  };
  t.same(mergeResources(current, { cpu: { quota: 20000 }, pids: { limit: 5 }, blockIO: { throttleReadBpsDevice: [] } }), {
    devices: [{ allow: false, access: 'rwm' }],
    memory: { limit: 100, swap: 200 },
    cpu: { quota: 20000, period: 100000 },
    blockIO: { weight: 300, throttleReadBpsDevice: [] },
    pids: { limit: 5 },
  });
});

t.test('update flags: sizes with units, -1, and --resources wins', async (t) => {
  t.equal(memoryBytes('memory', '200M'), 200 * 1024 * 1024);
  t.equal(memoryBytes('memory', '1.5g'), 1.5 * 1024 ** 3);
  t.equal(memoryBytes('memory', '1GiB'), 1024 ** 3);
  t.equal(memoryBytes('memory', '4096'), 4096);
  t.equal(memoryBytes('memory', '-1'), -1);
  t.throws(() => memoryBytes('memory', '1q'), { message: "invalid value for memory: invalid size: '1q'" });
  t.same(resourcesFromFlags({ 'cpu-quota': '-1', 'cpu-period': '100000', memory: '64m', 'memory-swap': '-1', 'pids-limit': '10', 'blkio-weight': 300 }), {
    cpu: { period: 100000, quota: -1 },
    memory: { limit: 64 * 1024 * 1024, swap: -1 },
    blockIO: { weight: 300 },
    pids: { limit: 10 },
  });
  t.same(resourcesFromFlags({}), {});
  t.throws(() => resourcesFromFlags({ 'pids-limit': 'abc' }), { message: 'invalid value "abc" for flag -pids-limit: parse error' });
  t.throws(() => resourcesFromFlags({ 'cpu-period': '-5' }), { message: /invalid value for cpu-period/ });
  t.same(parseResources('{"pids":{"limit":50}}', 'stdin'), { pids: { limit: 50 } });
  t.throws(() => parseResources('[1]', 'stdin'), { message: /must be a JSON object/ });
  t.throws(() => parseResources('garbage', 'stdin'), { message: /stdin: invalid resources JSON/ });
});

// ---------------------------------------------------------------- stats

t.test('stats from v1 files, in runc\'s shape; bigints printed exactly', async (t) => {
  const files: Record<string, string> = {
    'cpuacct/cpuacct.usage': '11088529',
    'cpuacct/cpuacct.usage_percpu': '8056336 3032193 ',
    'cpuacct/cpuacct.usage_percpu_sys': '4000000 4000000',
    'cpuacct/cpuacct.usage_percpu_user': '4000000 0',
    'cpuacct/cpuacct.stat': 'user 0\nsystem 1',
    'cpu/cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0',
    'cpuset/cpuset.cpus': '0-1',
    'cpuset/cpuset.mems': '0',
    'cpuset/cpuset.sched_load_balance': '1',
    'cpuset/cpuset.sched_relax_domain_level': '-1',
    'memory/memory.limit_in_bytes': '9223372036854771712',
    'memory/memory.usage_in_bytes': '512000',
    'memory/memory.max_usage_in_bytes': '2256896',
    'memory/memory.failcnt': '0',
    'memory/memory.kmem.tcp.limit_in_bytes': '9223372036854771712',
    'memory/memory.kmem.tcp.usage_in_bytes': '0',
    'memory/memory.stat': 'rss 49152\ncache 0\nactive_anon 4096',
    'pids/pids.current': '1',
    'pids/pids.max': 'max',
    'blkio/blkio.bfq.io_serviced_recursive': 'Total 0',
    'blkio/blkio.bfq.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 0\nTotal 4096',
  };
  const s = v1Stats((c, f) => files[`${c}/${f}`]);
  const json = JSON.parse(statsJson(s).replace(/9223372036854771712/g, '"BIG"'));
  t.same(json.cpu, { usage: { total: 11088529, percpu: [8056336, 3032193], percpu_kernel: [4000000, 4000000], percpu_user: [4000000, 0], kernel: 10000000, user: 0 }, throttling: {} });
  t.same(json.cpuset.cpus, [0, 1]);
  t.equal(json.cpuset.sched_relax_domain_level, -1);
  t.same(json.memory.usage, { limit: 'BIG', usage: 512000, max: 2256896, failcnt: 0 });
  t.same(json.memory.kernelTCP, { limit: 'BIG', failcnt: 0 }, 'zero usage and max are left out, as runc');
  t.notOk('cache' in json.memory, 'a zero cache is left out');
  t.same(Object.keys(json.memory.raw), ['active_anon', 'cache', 'rss'], 'raw keys sorted, as Go prints a map');
  t.same(json.pids, { current: 1 });
  t.same(json.blkio, { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 0 }] });
  t.same([json.hugetlb, json.intel_rdt, json.network_interfaces], [{}, {}, null]);
  t.match(statsJson(s), /"limit":9223372036854771712/, 'the unlimited memory limit, exactly');
});

t.test('stats from v2 files', async (t) => {
  const files: Record<string, string> = {
    'cpu.stat': 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 30',
    'memory.current': '1048576',
    'memory.max': 'max',
    'memory.swap.current': '0',
    'memory.swap.max': 'max',
    'memory.stat': 'anon 4096\nfile 8192',
    'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1',
    'pids.current': '2',
    'pids.max': '50',
    'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0',
  };
  const json = JSON.parse(statsJson(v2Stats((f) => files[f])).replace(/18446744073709551615/g, '"MAX"'));
  t.same(json.cpu, { usage: { total: 2000000, kernel: 500000, user: 1500000 }, throttling: { periods: 10, throttled_periods: 2, throttled_time: 30000 } });
  t.same(json.memory.usage, { limit: 'MAX', usage: 1048576, failcnt: 3 });
  t.equal(json.memory.cache, 8192);
  t.same(json.pids, { current: 2, limit: 50 });
  t.same(json.blkio.ioServiceBytesRecursive, [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 8192 }]);
  t.equal(oomCount(files['memory.events']), 1n);
  t.equal(oomCount('oom_kill_disable 0\nunder_oom 0\noom_kill 2'), 2n);
  t.same(hugePageSizes(['hugepages-2048kB', 'hugepages-1048576kB', 'other']), ['2MB', '1GB']);
  t.same(cpuList('0-2,4'), [0n, 1n, 2n, 4n]);
  t.same(blkioEntries('8:0 1234\n'), [{ major: 8n, minor: 0n, op: '', value: 1234n }]);
});

t.test('events --interval takes a Go duration', async (t) => {
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('1m30s'), 90000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1.5h'), 5400000);
  t.equal(parseDuration('1x'), undefined);
  t.equal(parseDuration('5'), undefined);
});

t.test('features: both cgroupfs drivers and the systemd driver (no user manager)', async (t) => {
  const { hakoFeatures } = await import('../../src/container/features.js');
  t.same(hakoFeatures('0', 'x').linux?.cgroup, { v1: true, v2: true, systemd: true, systemdUser: false, rdma: false });
});
