// The systemd cgroup driver's pure parts (src/cgroups/systemd.ts): cgroupsPath, unit and
// slice names as runc reads them, the unit's cgroup path, and linux.resources as unit
// properties. The driver against a real systemd: test/integration/systemd-cgroup.test.ts.
import t from 'tap';
import {
  cpuQuotaProperties,
  deviceProperties,
  expandSlice,
  parseSystemdCgroupsPath,
  rangeToBits,
  resourceProperties,
  sliceOf,
  startProperties,
  unitCgroupPath,
  unitName,
  type DeviceLookup,
} from '../../src/cgroups/systemd.js';
import { checkRootlessSystemd } from '../../src/cgroups/systemd-scope.js';
import type { UnitProperty } from '../../src/native.js';

const lookup: DeviceLookup = {
  group: (type, major) => (type === 'c' && major === 136 ? 'char-pts' : undefined),
  exists: (path) => ['/dev/char/1:3', '/dev/char/1:5', '/dev/char/5:2'].includes(path),
};

const prop = (props: UnitProperty[], name: string): unknown[] => props.filter(([n]) => n === name).map(([, , v]) => v);

t.test('cgroupsPath: "slice:prefix:name", runc\'s defaults when empty, runc\'s error otherwise', async (t) => {
  t.same(parseSystemdCgroupsPath(undefined, 'c1'), { parent: '', prefix: 'runc', name: 'c1' });
  t.same(parseSystemdCgroupsPath('', 'c1'), { parent: '', prefix: 'runc', name: 'c1' });
  t.same(parseSystemdCgroupsPath('system.slice:docker:abc', 'c1'), { parent: 'system.slice', prefix: 'docker', name: 'abc' });
  t.same(parseSystemdCgroupsPath(':crio:abc', 'c1'), { parent: '', prefix: 'crio', name: 'abc' });
  for (const bad of ['bad', '/a/b', 'a:b', 'a:b:c:d']) {
    t.throws(() => parseSystemdCgroupsPath(bad, 'c1'), {
      message: `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(bad)} instead`,
    });
  }
  t.equal(unitName({ parent: '', prefix: 'runc', name: 'c1' }), 'runc-c1.scope');
  t.equal(unitName({ parent: '', prefix: 'x', name: 'pod.slice' }), 'pod.slice', 'a name that is a slice is the unit');
  t.equal(sliceOf({ parent: '', prefix: 'runc', name: 'c1' }), 'system.slice');
  t.equal(sliceOf({ parent: 'user.slice', prefix: 'runc', name: 'c1' }), 'user.slice');
});

t.test('slices are expanded as systemd makes them; runc\'s "invalid slice name" otherwise', async (t) => {
  t.equal(expandSlice('system.slice'), '/system.slice');
  t.equal(expandSlice('a-b.slice'), '/a.slice/a-b.slice');
  t.equal(expandSlice('kubepods-besteffort-pod1.slice'), '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice');
  t.equal(expandSlice('-.slice'), '/');
  for (const bad of ['system', '.slice'.slice(1), 'a--b.slice', '-a.slice', 'a-.slice', 'a/b.slice', 'slice']) {
    t.throws(() => expandSlice(bad), { message: `invalid slice name: ${bad}` }, bad);
  }
});

t.test('the unit\'s cgroup: below systemd\'s own (init.scope left out), the slice, the unit', async (t) => {
  t.equal(unitCgroupPath('1:name=systemd:/init.scope\n0::/init.scope\n', 'system.slice', 'runc-c1.scope'), '/system.slice/runc-c1.scope');
  t.equal(unitCgroupPath('0::/init.scope\n', 'a-b.slice', 'x-n.scope'), '/a.slice/a-b.slice/x-n.scope');
  t.equal(unitCgroupPath('0::/\n', 'system.slice', 'u.scope'), '/system.slice/u.scope', 'PID 1 at the root (not systemd)');
  t.equal(unitCgroupPath('0::/machine/init.scope\n', 'system.slice', 'u.scope'), '/machine/system.slice/u.scope', 'systemd in a container');
});

t.test('start: Slice, Delegate and PIDs for a scope; Wants for a slice; accounting on; no default dependencies', async (t) => {
  const p = startProperties('runc-c1.scope', 'system.slice', 'c1', 4242, {}, 'v1', [], lookup);
  t.same(prop(p, 'Description'), ['libcontainer container c1']);
  t.same(prop(p, 'Slice'), ['system.slice']);
  t.same(prop(p, 'Delegate'), [true]);
  t.same(prop(p, 'PIDs'), [[4242]]);
  t.same(prop(p, 'DefaultDependencies'), [false]);
  t.same(prop(p, 'BlockIOAccounting'), [true]);
  t.same(prop(p, 'IOAccounting'), []);
  const v2 = startProperties('runc-c1.scope', 'system.slice', 'c1', 1, {}, 'v2', [], lookup);
  t.same(prop(v2, 'IOAccounting'), [true]);
  const slice = startProperties('pod.slice', 'kubepods.slice', 'pod.slice', 1, {}, 'v1', [], lookup);
  t.same(prop(slice, 'Wants'), [['kubepods.slice']]);
  t.same(prop(slice, 'Slice'), []);
  t.same(prop(slice, 'Delegate'), []);
});

t.test('start: the annotations\' properties after runc\'s own and before the resources (which win, as runc sets them later)', async (t) => {
  const extra: UnitProperty[] = [['CollectMode', 's', 'inactive-or-failed'], ['TasksMax', 't', 7n]];
  const p = startProperties('runc-c1.scope', 'system.slice', 'c1', 1, { pids: { limit: 50 } }, 'v1', extra, lookup);
  const names = p.map(([n]) => n);
  t.ok(names.indexOf('CollectMode') > names.indexOf('DefaultDependencies'), 'after DefaultDependencies');
  t.same(prop(p, 'TasksMax'), [7n, 50n], 'the config\'s pids limit last');
});

t.test('resources: systemd\'s v1 names on a v1 or hybrid host, its unified ones on v2', async (t) => {
  const r = {
    memory: { limit: 100_000_000, reservation: 50_000_000, swap: 200_000_000 },
    cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0-2,7', mems: '0' },
    blockIO: { weight: 300 },
    pids: { limit: 50 },
  };
  const v1 = resourceProperties(r, 'v1', lookup);
  t.same(prop(v1, 'MemoryLimit'), [100_000_000n]);
  t.same(prop(v1, 'CPUShares'), [512]);
  t.same(prop(v1, 'BlockIOWeight'), [300]);
  t.same(prop(v1, 'MemoryMax'), []);
  t.same(prop(v1, 'TasksMax'), [50n]);
  t.same(prop(v1, 'CPUQuotaPeriodUSec'), [100_000]);
  t.same(prop(v1, 'CPUQuotaPerSecUSec'), [500_000n]);
  t.same(prop(v1, 'AllowedCPUs'), [[0x87]]);
  t.same(prop(v1, 'AllowedMemoryNodes'), [[1]]);
  const v2 = resourceProperties(r, 'v2', lookup);
  t.same(prop(v2, 'MemoryMax'), [100_000_000n]);
  t.same(prop(v2, 'MemoryLow'), [50_000_000n]);
  t.same(prop(v2, 'MemorySwapMax'), [100_000_000n], 'swap alone, as memory.swap.max');
  t.same(prop(v2, 'CPUWeight'), [20]);
  t.same(prop(v2, 'IOWeight'), [2930]);
  t.same(prop(v2, 'MemoryLimit'), []);
  t.same(prop(resourceProperties({ pids: { limit: -1 } }, 'v2', lookup), 'TasksMax'), [0xffffffffffffffffn], '-1: infinity');
  t.same(prop(resourceProperties({ pids: { limit: 0 } }, 'v2', lookup), 'TasksMax'), [], '0: unset');
});

t.test('CPU quota as systemd keeps it: per second, rounded up to whole percent (runc\'s)', async (t) => {
  t.same(cpuQuotaProperties(0, 0), []);
  t.same(cpuQuotaProperties(12_345, 100_000), [['CPUQuotaPeriodUSec', 't', 100_000], ['CPUQuotaPerSecUSec', 't', 130_000n]]);
  t.same(cpuQuotaProperties(20_000, 0), [['CPUQuotaPerSecUSec', 't', 200_000n]], 'the default period');
  t.same(cpuQuotaProperties(-1, 100_000), [['CPUQuotaPeriodUSec', 't', 100_000], ['CPUQuotaPerSecUSec', 't', 0xffffffffffffffffn]], 'no quota: infinity');
});

t.test('cpusets as masks', async (t) => {
  t.same(rangeToBits('0', 'p'), [1]);
  t.same(rangeToBits('8', 'p'), [0, 1]);
  t.same(rangeToBits('0-2, 7', 'p'), [0x87]);
  t.throws(() => rangeToBits('2-1', '/linux/resources/cpu/cpus'), { message: 'invalid range "2-1"' });
  t.throws(() => rangeToBits('a', 'p'));
});

t.test('devices: the security default (deny all, then the config\'s and runc\'s rules) as DevicePolicy=strict and DeviceAllow', async (t) => {
  const p = deviceProperties({}, lookup);
  t.same(p.slice(0, 2), [['DevicePolicy', 's', 'strict'], ['DeviceAllow', 'a(ss)', []]], 'strict, the list emptied first');
  const allow = p[2]![2] as [string, string][];
  t.same(
    allow.sort(),
    [
      ['/dev/char/1:3', 'rwm'],
      ['/dev/char/1:5', 'rwm'],
      ['/dev/char/5:2', 'rwm'],
      ['block-*', 'm'],
      ['char-*', 'm'],
      ['char-pts', 'rwm'],
    ].sort(),
    'nodes that exist by path, a major by its /proc/devices group, wildcards by type',
  );
  t.notOk(allow.some(([path]) => path.includes('/dev/char/1:8')), 'a node that does not exist is left to the cgroup files');
  t.same(deviceProperties({ devices: [{ allow: true, access: 'rwm' }] }, lookup), [['DevicePolicy', 's', 'auto'], ['DeviceAllow', 'a(ss)', []]], 'allow all');
  t.same(
    deviceProperties({ devices: [{ allow: true, access: 'rwm' }, { allow: false, type: 'b', major: 8, minor: 0, access: 'rwm' }] }, lookup),
    [['DevicePolicy', 's', 'strict'], ['DeviceAllow', 'a(ss)', []]],
    'a deny list systemd cannot say: strict, the files carry it',
  );
  const own = deviceProperties({ devices: [{ allow: true, type: 'b', major: 7, minor: 0, access: 'r' }] }, { ...lookup, exists: (p) => p === '/sys/dev/block/7:0' });
  t.ok((own[2]![2] as [string, string][]).some(([path, access]) => path === '/dev/block/7:0' && access === 'r'), 'a node known to /sys/dev');
});

t.test('rootless with the systemd driver: runc\'s refusal on v1 and hybrid; on v2 not supported yet (no user manager), said as such', async (t) => {
  t.throws(() => checkRootlessSystemd('v1'), { message: 'cannot use rootless systemd cgroups manager on cgroup v1' });
  t.throws(() => checkRootlessSystemd('v2'), { message: /not supported yet/ });
});
