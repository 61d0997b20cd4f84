// validate.ts and semantic.ts piece by piece: message format, problem shape, each
// semantic check on its own, warnings, and the generated code's run-time needs.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { checkConfig, checkProcess, configWarnings, formatProblem, type Problem } from '../../src/oci/validate.js';
import * as semantic from '../../src/oci/semantic.js';
import { comparePointers, pointer, sortProblems } from '../../src/oci/problem.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import type { Spec } from '../../src/oci/types.js';

const repoRoot = REPO_ROOT;

function spec(edit: (s: Spec) => void = () => {}): Spec {
  const s = defaultSpec();
  edit(s);
  return s;
}

t.test('formatProblem', async (t) => {
  t.equal(formatProblem('config.json', { pointer: '/process/args', message: 'must be a non-empty array' }), 'config.json: /process/args: must be a non-empty array');
  t.equal(formatProblem('config.json', { pointer: '', message: 'must be an object' }), 'config.json: must be an object');
  t.equal(formatProblem('process.json', { pointer: '/cwd', message: 'is required' }), 'process.json: /cwd: is required');
  const [p] = checkConfig(spec((s) => (s.process!.args = [])));
  t.equal(formatProblem('config.json', p!), 'config.json: /process/args: must be a non-empty array');
});

t.test('anything that is not a config is refused, never thrown', async (t) => {
  for (const bad of [null, undefined, 0, 'x', [], true]) {
    t.same(checkConfig(bad), [{ pointer: '', message: 'must be an object' }], JSON.stringify(bad) ?? 'undefined');
    t.same(checkProcess(bad), [{ pointer: '', message: 'must be an object' }]);
    t.same(configWarnings(bad), []);
  }
  t.same(
    checkConfig({}).map((p) => p.pointer),
    ['/ociVersion', '/process', '/root'],
  );
  t.same(checkConfig({}).map((p) => p.message), ['is required', 'is required', 'is required']);
});

t.test('messages name the rule', async (t) => {
  const probe = (edit: (s: Spec) => void) => checkConfig(spec(edit));
  t.same(probe((s) => ((s.process!.user as unknown as Record<string, unknown>)['uid'] = 'root')), [{ pointer: '/process/user/uid', message: 'must be an integer' }]);
  t.same(probe((s) => (s.process!.user.uid = 1.5)), [{ pointer: '/process/user/uid', message: 'must be an integer' }]);
  t.same(probe((s) => (s.process!.user.uid = -1)), [{ pointer: '/process/user/uid', message: 'must be an integer between 0 and 4294967295' }]);
  t.same(probe((s) => (s.process!.cwd = 'tmp')), [{ pointer: '/process/cwd', message: 'must be an absolute path' }]);
  t.same(probe((s) => delete (s.process as Partial<typeof s.process>)!.cwd), [{ pointer: '/process/cwd', message: 'is required' }]);
  t.same(probe((s) => ((s.linux!.namespaces![0] as { type: string }).type = 'bogus')), [
    { pointer: '/linux/namespaces/0/type', message: 'must be one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"' },
  ]);
  t.same(probe((s) => ((s as unknown as Record<string, unknown>)['hostname'] = ['a'])), [{ pointer: '/hostname', message: 'must be a string' }]);
  t.same(probe((s) => ((s.process as unknown as Record<string, unknown>)['args'] = 'sh')), [{ pointer: '/process/args', message: 'must be a non-empty array' }]);
  t.same(probe((s) => ((s.process as unknown as Record<string, unknown>)['terminal'] = 'yes')), [{ pointer: '/process/terminal', message: 'must be a boolean' }]);
  t.same(probe((s) => ((s as unknown as Record<string, unknown>)['mounts'] = {})), [{ pointer: '/mounts', message: 'must be an array' }]);
  t.same(probe((s) => ((s as unknown as Record<string, unknown>)['linux'] = [])), [{ pointer: '/linux', message: 'must be an object' }]);
});

t.test('unknown fields are allowed anywhere', async (t) => {
  const s = spec() as unknown as Record<string, Record<string, unknown>>;
  s['org.example.extension'] = { x: 1 };
  s['process']!['x-future'] = true;
  s['linux']!['newThing'] = [1, 2];
  (s['root'] as Record<string, unknown>)['extra'] = 'ok';
  t.same(checkConfig(s), []);
  t.same(checkConfig({ ...spec(), windows: { layerFolders: [] }, vm: { kernel: { path: '/k' } } }), [], 'other platforms');
});

t.test('problems are sorted by pointer, indices numerically', async (t) => {
  t.ok(comparePointers('/a/2', '/a/10') < 0);
  t.ok(comparePointers('/a', '/a/0') < 0);
  t.ok(comparePointers('', '/a') < 0);
  t.ok(comparePointers('/b', '/a/9') > 0);
  t.equal(comparePointers('/x/y', '/x/y'), 0);
  const sorted = sortProblems([
    { pointer: '/mounts/10/source', message: '1' },
    { pointer: '/mounts/9/source', message: '2' },
    { pointer: '/hostname', message: '3' },
    { pointer: '/mounts/9/source', message: '4' },
  ]);
  t.same(sorted.map((p) => p.message), ['3', '2', '4', '1']);
  t.equal(pointer('linux', 'sysctl', 'net/ipv4~x', 3), '/linux/sysctl/net~1ipv4~0x/3');
});

t.test('semantic checks one by one', async (t) => {
  const run = (check: (s: Spec, o: semantic.SemanticOptions) => Problem[], s: Spec, o: semantic.SemanticOptions = {}) => check(s, o);

  t.test('duplicateNamespaces', async (t) => {
    t.same(run(semantic.duplicateNamespaces, spec()), []);
    t.same(run(semantic.duplicateNamespaces, spec((s) => s.linux!.namespaces!.push({ type: 'pid' }, { type: 'pid', path: '/proc/1/ns/pid' }))), [
      { pointer: '/linux/namespaces/5/type', message: '"pid" is listed twice (first at /linux/namespaces/0)' },
      { pointer: '/linux/namespaces/6/type', message: '"pid" is listed twice (first at /linux/namespaces/0)' },
    ]);
  });

  t.test('userNamespaceMappings', async (t) => {
    const rootless = defaultSpec({ rootless: true, uid: 1000, gid: 1000 });
    t.same(run(semantic.userNamespaceMappings, rootless), []);
    t.same(run(semantic.userNamespaceMappings, spec((s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]))), [
      { pointer: '/linux/uidMappings', message: 'needs a user namespace in linux.namespaces' },
    ]);
    t.same(run(semantic.userNamespaceMappings, spec((s) => (s.linux!.uidMappings = []))), [], 'empty mappings are no mappings');
    t.same(run(semantic.userNamespaceMappings, spec((s) => s.linux!.namespaces!.push({ type: 'user' }))).map((p) => p.pointer), [
      '/linux/uidMappings',
      '/linux/gidMappings',
    ]);
    t.same(run(semantic.userNamespaceMappings, spec((s) => s.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' }))), [], 'joined by path needs no mappings');
    const both = structuredClone(rootless);
    both.linux!.namespaces!.find((n) => n.type === 'user')!.path = '/proc/1/ns/user';
    t.same(run(semantic.userNamespaceMappings, both), [], 'path and mappings: accepted...');
    t.same(configWarnings(both), [
      { pointer: '/linux/uidMappings', message: 'is ignored: the user namespace is joined by path, and its own mappings apply' },
    ], '...with a warning');
  });

  t.test('personality flags: ignored with a warning, as runc', async (t) => {
    t.same(configWarnings(spec((s) => (s.linux!.personality = { domain: 'LINUX32', flags: ['ADDR_NO_RANDOMIZE'] }))), [
      { pointer: '/linux/personality/flags', message: 'is ignored: no personality flags are supported (runc ignores them too)' },
    ]);
    t.same(configWarnings(spec((s) => (s.linux!.personality = { domain: 'LINUX32' }))), [], 'no flags: no warning');
  });

  t.test('timeOffsets', async (t) => {
    const offsets = { monotonic: { secs: 1 } };
    t.same(run(semantic.timeOffsets, spec()), []);
    t.same(run(semantic.timeOffsets, spec((s) => (s.linux!.timeOffsets = offsets))).map((p) => p.message), ['needs a time namespace in linux.namespaces']);
    t.same(run(semantic.timeOffsets, spec((s) => { s.linux!.timeOffsets = offsets; s.linux!.namespaces!.push({ type: 'time' }); })), []);
    t.same(run(semantic.timeOffsets, spec((s) => s.linux!.namespaces!.push({ type: 'time', path: '/proc/1/ns/time' }))), [], 'joined time ns without offsets');
  });

  t.test('utsNamespace', async (t) => {
    t.same(run(semantic.utsNamespace, spec()), []);
    const noUts = (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts'));
    t.same(run(semantic.utsNamespace, spec(noUts)), [{ pointer: '/hostname', message: 'needs a UTS namespace in linux.namespaces' }]);
    t.same(run(semantic.utsNamespace, spec((s) => { noUts(s); s.hostname = ''; })), [], 'empty hostname is no hostname');
    t.same(run(semantic.utsNamespace, spec((s) => s.linux!.namespaces!.find((n) => n.type === 'uts')!.path = '/proc/1/ns/uts')), [], 'a joined uts ns will do (runc)');
  });

  t.test('pathRestrictions', async (t) => {
    t.same(run(semantic.pathRestrictions, spec((s) => (s.linux!.namespaces = [{ type: 'pid' }]))).map((p) => p.pointer), ['/linux/maskedPaths', '/linux/readonlyPaths']);
    t.same(run(semantic.pathRestrictions, spec((s) => { s.linux!.namespaces = []; s.linux!.maskedPaths = []; delete s.linux!.readonlyPaths; })), []);
  });

  t.test('sysctls', async (t) => {
    const withSysctl = (sysctl: Record<string, string>, namespaces?: string[]) =>
      run(semantic.sysctls, spec((s) => {
        s.linux!.sysctl = sysctl;
        if (namespaces) s.linux!.namespaces = namespaces.map((type) => ({ type: type as 'pid' }));
      }));
    t.same(withSysctl({ 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '1', 'kernel.sem': '1 2 3 4', 'fs.mqueue.queues_max': '5', 'kernel.domainname': 'x' }), []);
    t.same(withSysctl({ 'net/ipv4/conf/eth0.100/rp_filter': '1' }), [], 'slash form');
    t.same(withSysctl({ 'net.core.somaxconn': '1' }, ['pid']).map((p) => p.message), ['needs a network namespace in linux.namespaces']);
    t.same(withSysctl({ 'kernel.shm_rmid_forced': '1' }, ['pid']).map((p) => p.message), ['needs an IPC namespace in linux.namespaces']);
    t.same(withSysctl({ 'user.max_user_namespaces': '1' }).map((p) => p.message), ['needs a user namespace in linux.namespaces']);
    t.same(withSysctl({ 'user.max_user_namespaces': '1' }, ['user']), []);
    t.same(withSysctl({ 'kernel.hostname': 'x' }).map((p) => p.message), ['cannot be set as a sysctl: use the "hostname" field']);
    t.same(withSysctl({ 'kernel.domainname': 'x' }, ['pid']).map((p) => p.message), ['needs a UTS namespace in linux.namespaces']);
    t.same(withSysctl({ 'vm.overcommit_memory': '1', 'kernel.pid_max': '1' }).map((p) => p.pointer), ['/linux/sysctl/vm.overcommit_memory', '/linux/sysctl/kernel.pid_max']);
    t.equal(semantic.normalizeSysctlKey('net/ipv4/conf/eno2.100/rp_filter'), 'net.ipv4.conf.eno2/100.rp_filter');
    t.equal(semantic.normalizeSysctlKey('net.ipv4.conf.eno2/100.rp_filter'), 'net.ipv4.conf.eno2/100.rp_filter');
    t.equal(semantic.normalizeSysctlKey('kernel'), 'kernel');
  });

  t.test('mounts: bind source, bind data (a warning), id-mapped', async (t) => {
    const mount = (m: Spec['mounts'] extends (infer M)[] | undefined ? M : never, userns = false) =>
      spec((s) => {
        s.mounts = [m];
        if (userns) s.linux!.namespaces!.push({ type: 'user' });
      });
    t.same(run(semantic.bindMountSource, mount({ destination: '/a', options: ['rbind'] })), [{ pointer: '/mounts/0/source', message: 'is required for a bind mount' }]);
    t.same(run(semantic.bindMountSource, mount({ destination: '/a', type: 'bind', source: 'rel/dir' })), [], 'relative sources are relative to the bundle');
    t.same(run(semantic.bindMountSource, mount({ destination: '/a', type: 'tmpfs' })), [], 'tmpfs needs no source');
    t.same(semantic.semanticProblems(mount({ destination: '/a', source: '/b', options: ['bind', 'mode=755', 'size=1k', 'ro'] })), [], 'filesystem data on a bind: accepted');
    t.same(configWarnings(mount({ destination: '/a', source: '/b', options: ['bind', 'ro', 'rprivate', 'nosuid', 'rro', 'tmpcopyup'] })), []);
    t.same(configWarnings(mount({ destination: '/a', source: '/b', options: ['bind', 'mode=755', 'size=1k', 'ro'] })), [
      { pointer: '/mounts/0/options/1', message: '"mode=755" is a filesystem option: it has no effect on a bind mount' },
      { pointer: '/mounts/0/options/2', message: '"size=1k" is a filesystem option: it has no effect on a bind mount' },
    ]);
    t.same(configWarnings(mount({ destination: '/a', type: 'tmpfs', options: ['mode=755'] })), [], 'data is fine elsewhere');
    t.same(run(semantic.idMappedMounts, mount({ destination: '/a', source: '/b', options: ['bind', 'idmap'] }, true)), [], 'borrows the container userns');
    t.same(run(semantic.idMappedMounts, mount({ destination: '/a', source: '/b', options: ['rbind', 'ridmap'] })), [
      { pointer: '/mounts/0/options/1', message: '"ridmap" needs uidMappings and gidMappings on the mount, or a user namespace' },
    ]);
    const map = [{ containerID: 0, hostID: 1000, size: 1 }];
    t.same(run(semantic.idMappedMounts, mount({ destination: '/a', source: '/b', options: ['bind'], uidMappings: map, gidMappings: map })), [], 'own mappings, no userns');
    t.same(run(semantic.idMappedMounts, mount({ destination: '/a', type: 'tmpfs', uidMappings: map, gidMappings: map })), [], 'not only binds: the kernel says which filesystems');
    t.same(run(semantic.idMappedMounts, mount({ destination: '/a', source: '/b', options: ['bind', 'idmap'], uidMappings: [], gidMappings: map })).map((p) => p.pointer), ['/mounts/0/uidMappings'], 'empty');
  });

  t.test('deviceNumbers and deviceRuleAccess', async (t) => {
    t.same(run(semantic.deviceNumbers, spec((s) => (s.linux!.devices = [{ type: 'p', path: '/dev/p' }, { type: 'u', path: '/dev/u', major: 1, minor: 2 }]))), []);
    t.same(run(semantic.deviceNumbers, spec((s) => (s.linux!.devices = [{ type: 'b', path: '/dev/b', minor: 2 }]))), [
      { pointer: '/linux/devices/0/major', message: 'is required for a "b" device' },
    ]);
    t.same(run(semantic.deviceRuleAccess, spec((s) => (s.linux!.resources!.devices = [{ allow: true, type: 'c' }]))), [
      { pointer: '/linux/resources/devices/0/access', message: 'is required' },
    ]);
  });

  t.test('memorySwap', async (t) => {
    const mem = (limit: number, swap: number) => run(semantic.memorySwap, spec((s) => (s.linux!.resources!.memory = { limit, swap })));
    t.same(mem(100, 200), []);
    t.same(mem(100, 100), []);
    t.same(mem(100, -1), [], 'unlimited swap');
    t.same(mem(-1, 50), [], 'unlimited memory');
    t.same(mem(200, 100), [{ pointer: '/linux/resources/memory/swap', message: 'must be at least memory.limit (200): it counts memory plus swap' }]);
  });

  t.test('cgroupsPath', async (t) => {
    const cg = (path: string, cgroupManager?: 'systemd' | 'cgroupfs') => run(semantic.cgroupsPath, spec((s) => (s.linux!.cgroupsPath = path)), { cgroupManager }).map((p) => p.message);
    for (const ok of ['/hako/c1', 'relative/c1', '/', 'system.slice:docker:abc', '/a/./b']) t.same(cg(ok), [], ok);
    t.same(cg('/a/../../b'), ['must not contain ".." components']);
    t.same(cg('/a\0b'), ['must not contain a NUL byte']);
    for (const ok of ['system.slice:hako:c1', ':hako:c1', 'user-1000.slice:p:n']) t.same(cg(ok, 'systemd'), [], ok);
    t.same(cg('/hako/c1', 'systemd'), ['must be "slice:prefix:name" with the systemd cgroup manager']);
    t.same(cg('system:hako:c1', 'systemd'), ['must start with a slice name ending in ".slice" (or be ":prefix:name")']);
    t.same(cg('system.slice:hako:', 'systemd'), ['must end with a non-empty name ("slice:prefix:name")']);
  });

  t.test('rootfsPropagation', async (t) => {
    const prop = (value: 'private' | 'rprivate' | 'rslave', noPivotRoot: boolean) =>
      run(semantic.rootfsPropagation, spec((s) => (s.linux!.rootfsPropagation = value)), { noPivotRoot });
    t.same(prop('rprivate', false), []);
    t.same(prop('rslave', true), []);
    t.same(prop('private', true), [{ pointer: '/linux/rootfsPropagation', message: '"private" is not safe without pivot_root (--no-pivot)' }]);
    t.same(checkConfig(spec((s) => (s.linux!.rootfsPropagation = 'rprivate')), { noPivotRoot: true }).map((p) => p.pointer), ['/linux/rootfsPropagation']);
  });

  t.test('netDevices', async (t) => {
    const nd = (devices: Record<string, { name?: string }>) => run(semantic.netDevices, spec((s) => (s.linux!.netDevices = devices)));
    t.same(nd({ eth1: {}, 'enp0s31f6': { name: 'eth0' } }), []);
    t.same(nd({ '.': {}, 'a b': {}, ['x'.repeat(16)]: {}, ok: { name: 'bad/name' } }).map((p) => p.pointer), [
      '/linux/netDevices/.',
      '/linux/netDevices/a b',
      `/linux/netDevices/${'x'.repeat(16)}`,
      '/linux/netDevices/ok/name',
    ]);
    t.same(run(semantic.netDevices, spec((s) => { s.linux!.netDevices = { eth1: {} }; s.linux!.namespaces = []; })).map((p) => p.message), [
      'needs a network namespace in linux.namespaces',
    ]);
    // joined by path, as runc 1.4 allows (it moves the device into that namespace)
    t.same(run(semantic.netDevices, spec((s) => { s.linux!.netDevices = { eth1: {} }; s.linux!.namespaces = [{ type: 'network', path: '/run/netns/x' }]; })), []);
    // two devices under one name inside: the second is refused where its name comes from
    t.same(nd({ eth1: { name: 'c0' }, eth2: { name: 'c0' }, c0: {}, eth3: { name: 'eth4' }, eth4: {} }), [
      { pointer: '/linux/netDevices/eth2/name', message: 'is also the name /linux/netDevices/eth1 has in the container' },
      { pointer: '/linux/netDevices/c0', message: 'is also the name /linux/netDevices/eth1 has in the container' },
      { pointer: '/linux/netDevices/eth4', message: 'is also the name /linux/netDevices/eth3 has in the container' },
    ]);
    // a template the kernel fills in: one %d; several devices may share it
    t.same(nd({ eth1: { name: 'ctr%d' }, eth2: { name: 'ctr%d' } }), []);
    t.same(nd({ eth1: { name: 'c%s' }, eth2: { name: 'c%d%d' }, eth3: { name: '%%d' } }).map((p) => p.pointer), [
      '/linux/netDevices/eth1/name',
      '/linux/netDevices/eth2/name',
      '/linux/netDevices/eth3/name',
    ]);
  });

  t.test('seccomp', async (t) => {
    const sc = (seccomp: NonNullable<NonNullable<Spec['linux']>['seccomp']>) => run(semantic.seccomp, spec((s) => (s.linux!.seccomp = seccomp)));
    t.same(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }), []);
    t.same(sc({ defaultAction: 'SCMP_ACT_TRACE', defaultErrnoRet: 38 }), []);
    t.same(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a', ''], action: 'SCMP_ACT_LOG', errnoRet: 1 }] }), [
      { pointer: '/linux/seccomp/syscalls/0/names/1', message: 'must not be empty' },
      { pointer: '/linux/seccomp/syscalls/0/errnoRet', message: 'only applies with SCMP_ACT_ERRNO or SCMP_ACT_TRACE' },
    ]);
    t.same(sc({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/a.sock', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_NOTIFY' }] }), []);
    t.same(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_NOTIFY' }] }).map((p) => p.pointer), ['/linux/seccomp/listenerPath']);
    t.same(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 5, value: 0, op: 'SCMP_CMP_EQ' }, { index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }).map((p) => p.pointer), [
      '/linux/seccomp/syscalls/0/args/1/index',
    ]);
  });

  t.test('memoryPolicy and intelRdt', async (t) => {
    const mp = (mode: string, nodes?: string) => run(semantic.memoryPolicy, spec((s) => (s.linux!.memoryPolicy = { mode: mode as 'MPOL_BIND', ...(nodes === undefined ? {} : { nodes }) })));
    t.same(mp('MPOL_DEFAULT'), []);
    t.same(mp('MPOL_LOCAL', ''), []);
    t.same(mp('MPOL_PREFERRED'), []);
    t.same(mp('MPOL_PREFERRED', '1'), []);
    t.same(mp('MPOL_INTERLEAVE', '0-1'), []);
    t.same(mp('MPOL_WEIGHTED_INTERLEAVE').map((p) => p.message), ['must name at least one node with MPOL_WEIGHTED_INTERLEAVE']);
    t.same(mp('MPOL_DEFAULT', '0').map((p) => p.message), ['must be empty with MPOL_DEFAULT']);
    const rdt = (closID: string) => run(semantic.intelRdt, spec((s) => (s.linux!.intelRdt = { closID })));
    t.same(rdt('/'), []);
    t.same(rdt('gold'), []);
    t.same(rdt('.').length, 1);
    t.same(rdt('/gold').length, 1);
  });

  t.test('process: rlimits and scheduler', async (t) => {
    const proc = spec().process!;
    t.same(semantic.processProblems({ ...proc, rlimits: [{ type: 'RLIMIT_NPROC', soft: 5, hard: 10 }, { type: 'RLIMIT_NPROC', soft: 5, hard: 10 }] }, ''), [
      { pointer: '/rlimits/1/type', message: '"RLIMIT_NPROC" is listed twice (first at /rlimits/0)' },
    ]);
    t.same(semantic.processProblems({ ...proc, scheduler: { policy: 'SCHED_BATCH', nice: -21 } }, '/process').map((p) => p.pointer), ['/process/scheduler/nice']);
    t.same(semantic.processProblems({ ...proc, scheduler: { policy: 'SCHED_RR', priority: 50 } }, '/process'), []);
    t.same(semantic.processProblems({ ...proc, scheduler: { policy: 'SCHED_IDLE', nice: 30 } }, '/process'), [], 'nice is only bounded for OTHER and BATCH');
    t.same(checkProcess({ ...proc, rlimits: [{ type: 'RLIMIT_STACK', soft: 2, hard: 1 }] }), [{ pointer: '/rlimits/0/soft', message: 'must not be greater than hard (1)' }]);
  });
});

t.test('checkConfig runs every semantic check and sorts the result', async (t) => {
  const s = spec((s) => {
    s.linux!.namespaces!.push({ type: 'pid' });
    s.linux!.sysctl = { 'vm.swappiness': '1' };
    s.mounts!.push({ destination: '/x', options: ['bind'] });
  });
  t.same(checkConfig(s), [
    { pointer: '/linux/namespaces/5/type', message: '"pid" is listed twice (first at /linux/namespaces/0)' },
    { pointer: '/linux/sysctl/vm.swappiness', message: 'is not namespaced: setting it would change the host' },
    { pointer: '/mounts/7/source', message: 'is required for a bind mount' },
  ]);
});

t.test('relative mount destinations are accepted with a warning', async (t) => {
  const s = spec((s) => s.mounts!.push({ destination: 'data', type: 'tmpfs', source: 'tmpfs' }));
  t.same(checkConfig(s), []);
  t.same(configWarnings(s), [{ pointer: '/mounts/7/destination', message: 'is relative: taken as relative to "/" (deprecated)' }]);
  t.same(configWarnings(spec()), []);
});

t.test('the generated validators need no ajv compiler, and bundle with esbuild', async (t) => {
  const generated = readFileSync(join(repoRoot, 'src/oci/generated/validators.js'), 'utf8');
  t.notMatch(generated, /\brequire\(/, 'no CommonJS require in the ES module');
  const imports = [...generated.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
  t.ok(imports.every((m) => m.startsWith('ajv/dist/runtime/')), `only ajv runtime helpers: ${imports.join(', ')}`);
  const check = spawnSync(process.execPath, [join(repoRoot, 'scripts/gen-validators.mjs'), '--check'], { encoding: 'utf8' });
  t.equal(check.status, 0, `generated code matches the schemas ${check.stderr}`);

  const out = mkdtempSync(join(tmpdir(), 'hako-esbuild-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const bundle = join(out, 'v.cjs');
  const esbuild = join(repoRoot, 'node_modules/.bin/esbuild');
  const b = spawnSync(esbuild, ['--bundle', '--platform=node', '--format=cjs', '--log-level=warning', join(repoRoot, 'src/oci/validate.ts'), `--outfile=${bundle}`], { encoding: 'utf8' });
  t.equal(b.status, 0, b.stderr);
  const script = `const v = require(${JSON.stringify(bundle)});
    const ok = v.checkConfig(${JSON.stringify(defaultSpec())});
    const bad = v.checkConfig({ ociVersion: '1.3.0', root: { path: '' }, process: { cwd: '/', user: { uid: 0, gid: 0 }, args: ['sh'] } });
    process.stdout.write(JSON.stringify({ ok, bad }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { ok: [], bad: [{ pointer: '/root/path', message: 'must not be empty' }] }, 'minLength helper resolves in the bundle');
});

// Found by the fuzzer (test/chaos/fuzz.test.ts, seed 1, #11): a NUL in process.cwd got past
// validation to the launch plan's encoder ("launch plan: cwd contains a NUL byte"), naming
// no JSON pointer. Every string that reaches a system call is refused where it is.
t.test('a NUL byte anywhere but the annotations is refused at its pointer', async (t) => {
  const problems = checkConfig(
    spec((s) => {
      s.process!.cwd = '/\u0000';
      s.process!.env = ['A=1', 'B=\u0000'];
      s.mounts![0]!.destination = '/pr\u0000oc';
      s.linux!.sysctl = { 'net.ipv4.ip_forward\u0000': '1' };
      s.hostname = 'a\u0000b';
      s.annotations = { 'org.example': 'x\u0000y' };
    }),
  );
  t.same(
    problems.filter((p) => /NUL/.test(p.message)).map((p) => p.pointer).sort(),
    ['/hostname', '/linux/sysctl/net.ipv4.ip_forward\u0000', '/mounts/0/destination', '/process/cwd', '/process/env/1'].sort(),
  );
  t.same(checkProcess({ cwd: '/\u0000', args: ['sh'], user: { uid: 0, gid: 0 } }).map((p) => p.pointer), ['/cwd'], 'a process.json too');
});

// The NUL check first looks for JSON's escape of a NUL in the document's text, and walks it
// only then: the six characters backslash-u-0-0-0-0 are no NUL; a NUL only in the
// annotations (allowed) still makes the walk find nothing else.
t.test('no NUL byte: nothing refused, a written-out \\u0000 included', async (t) => {
  t.same(checkConfig(spec((s) => (s.process!.env = ['A=\\u0000']))), [], 'backslash-u-0000 in a value');
  t.same(checkConfig(spec((s) => (s.annotations = { 'org.example': 'x\u0000y' }))), [], 'a NUL in an annotation only');
  t.same(checkConfig(spec((s) => (s.annotations = { 'a\u0000': 'x\u0000y' }))), [], 'and in an annotation key');
  t.same(checkConfig(spec((s) => (s.process!.env = ['A=\\u0000', 'B=\u0000']))).map((p) => p.pointer), ['/process/env/1'], 'the real one among look-alikes');
});
