// Hundreds of broken configs generated from one valid config that uses every part of
// the schema. Each must be refused with a problem at the exact JSON pointer of the
// fault, not just "some error". Deterministic: no randomness, one base document.
import t, { type Test } from 'tap';
import { checkConfig, checkProcess, type Problem } from '../../src/oci/validate.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Doc = { [key: string]: Json };

// ---------------------------------------------------------------- the valid base

const hook = (name: string): Json => ({ path: `/usr/libexec/hooks/${name}`, args: [name, '--state'], env: ['HOOK=1'], timeout: 5 });

function base(): Doc {
  return {
    ociVersion: '1.3.0',
    process: {
      terminal: true,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 100] },
      args: ['sh', '-c', 'true'],
      env: ['PATH=/usr/bin:/bin', 'TERM=xterm', 'EMPTY='],
      cwd: '/home/user',
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_KILL'],
        effective: ['CAP_KILL'],
        inheritable: ['CAP_KILL'],
        permitted: ['CAP_CHOWN', 'CAP_KILL'],
        ambient: ['CAP_KILL'],
      },
      rlimits: [
        { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ],
      noNewPrivileges: true,
      apparmorProfile: 'hako-default',
      oomScoreAdj: 100,
      scheduler: {
        policy: 'SCHED_DEADLINE',
        nice: 0,
        priority: 0,
        flags: ['SCHED_FLAG_RESET_ON_FORK'],
        runtime: 10000000,
        deadline: 20000000,
        period: 30000000,
      },
      selinuxLabel: 'system_u:system_r:container_t:s0',
      ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      execCPUAffinity: { initial: '0', final: '0-3,7' },
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'box',
    domainname: 'example.org',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=1777', 'size=64m'] },
      { destination: '/data', type: 'none', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'] },
      {
        destination: '/shared',
        type: 'bind',
        source: '/srv/shared',
        options: ['bind', 'idmap'],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      },
    ],
    hooks: {
      prestart: [hook('prestart')],
      createRuntime: [hook('createRuntime')],
      createContainer: [hook('createContainer')],
      startContainer: [hook('startContainer')],
      poststart: [hook('poststart')],
      poststop: [hook('poststop')],
    },
    annotations: { 'org.example.key': 'value' },
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'mount' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'user' },
        { type: 'cgroup' },
        { type: 'time' },
      ],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: { monotonic: { secs: 3600, nanosecs: 500 }, boottime: { secs: -60, nanosecs: 0 } },
      devices: [
        { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
        { type: 'p', path: '/dev/pipe' },
      ],
      netDevices: { eth1: { name: 'ceth1' } },
      cgroupsPath: '/hako/box',
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
        ],
        memory: {
          limit: 536870912,
          reservation: 268435456,
          swap: 1073741824,
          kernel: -1,
          kernelTCP: -1,
          swappiness: 60,
          disableOOMKiller: false,
          useHierarchy: true,
          checkBeforeUpdate: true,
        },
        cpu: {
          shares: 1024,
          quota: 100000,
          burst: 10000,
          period: 100000,
          realtimeRuntime: 0,
          realtimePeriod: 1000000,
          cpus: '0-3',
          mems: '0',
          idle: 0,
        },
        pids: { limit: 512 },
        blockIO: {
          weight: 500,
          leafWeight: 300,
          weightDevice: [{ major: 8, minor: 0, weight: 600, leafWeight: 200 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 1000 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 1000 }],
        },
        hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }],
        network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }] },
        rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 10000 } },
        unified: { 'memory.high': 'max' },
      },
      sysctl: {
        'net.ipv4.ip_forward': '1',
        'kernel.shmmax': '68719476736',
        'fs.mqueue.msg_max': '10',
        'kernel.domainname': 'example.org',
        'user.max_user_namespaces': '10',
      },
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        listenerPath: '/run/seccomp-agent.sock',
        listenerMetadata: 'box',
        syscalls: [
          { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
          {
            names: ['mkdir'],
            action: 'SCMP_ACT_ERRNO',
            errnoRet: 13,
            args: [{ index: 1, value: 448, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
          },
          { names: ['openat'], action: 'SCMP_ACT_NOTIFY' },
        ],
      },
      rootfsPropagation: 'rslave',
      maskedPaths: ['/proc/kcore', '/sys/firmware'],
      readonlyPaths: ['/proc/sys'],
      mountLabel: 'system_u:object_r:container_file_t:s0',
      intelRdt: {
        closID: 'guaranteed',
        schemata: ['L3:0=ff', 'MB:0=50'],
        l3CacheSchema: 'L3:0=ff',
        memBwSchema: 'MB:0=50',
        enableMonitoring: true,
      },
      memoryPolicy: { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] },
      personality: { domain: 'LINUX', flags: [] },
    },
  };
}

// ---------------------------------------------------------------- tools

function clone(doc: Doc): Doc {
  return structuredClone(doc);
}

function decode(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parentOf(doc: Json, ptr: string): { parent: Json; key: string } {
  const tokens = ptr.slice(1).split('/').map(decode);
  const key = tokens.pop()!;
  let node: Json = doc;
  for (const tok of tokens) node = (node as Record<string, Json>)[tok]!;
  return { parent: node, key };
}

function get(doc: Json, ptr: string): Json {
  const { parent, key } = parentOf(doc, ptr);
  return (parent as Record<string, Json>)[key]!;
}

function set(doc: Doc, ptr: string, value: Json): Doc {
  const { parent, key } = parentOf(doc, ptr);
  (parent as Record<string, Json>)[key] = value;
  return doc;
}

function remove(doc: Doc, ptr: string): Doc {
  const { parent, key } = parentOf(doc, ptr);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete (parent as Record<string, Json>)[key];
  return doc;
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Every node of a document with its pointer, parents before children. */
function* walk(node: Json, ptr = ''): Generator<[string, Json]> {
  if (ptr !== '') yield [ptr, node];
  if (Array.isArray(node)) for (let i = 0; i < node.length; i++) yield* walk(node[i]!, `${ptr}/${i}`);
  else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) yield* walk(v, `${ptr}/${escape(k)}`);
}

function kindOf(v: Json): 'array' | 'object' | 'string' | 'integer' | 'boolean' | 'null' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return 'integer';
  return typeof v as 'object' | 'string' | 'boolean';
}

const WRONG: Record<string, Json[]> = {
  array: [{}, 'x'],
  object: [[], 'x'],
  string: [42, null],
  integer: ['7', true, 1.5],
  boolean: ['true', 1],
};

const TYPE_MESSAGE: Record<string, RegExp> = {
  array: /^must be (an|a non-empty) array$/,
  object: /^must be an object$/,
  string: /^must be a string$/,
  integer: /^must be an integer/,
  boolean: /^must be a boolean$/,
};

function pointers(problems: Problem[]): string[] {
  return problems.map((p) => p.pointer);
}

interface Case {
  name: string;
  doc: Doc;
  /** The pointers of every problem, in order. */
  expect: string[];
  /** The message at the first pointer. */
  message?: string | RegExp;
}

function run(t: Test, cases: Case[], check: (doc: unknown) => Problem[] = checkConfig): void {
  for (const c of cases) {
    const problems = check(c.doc);
    t.same(pointers(problems), c.expect, c.name);
    if (c.message !== undefined && problems.length > 0) {
      if (typeof c.message === 'string') t.equal(problems[0]!.message, c.message, `${c.name}: message`);
      else t.match(problems[0]!.message, c.message, `${c.name}: message`);
    }
  }
}

// ---------------------------------------------------------------- the cases

t.test('the base config is valid, and so is its process alone', async (t) => {
  t.same(checkConfig(base()), []);
  t.same(checkProcess(base()['process']), []);
});

t.test('a wrong type anywhere is reported at that node', async (t) => {
  const cases: Case[] = [];
  for (const [ptr, value] of walk(base())) {
    const kind = kindOf(value);
    for (const wrong of WRONG[kind] ?? []) {
      // 1.5 is a number, so for integers the message names the rule too.
      cases.push({ name: `${ptr} = ${JSON.stringify(wrong)}`, doc: set(clone(base()), ptr, wrong), expect: [ptr], message: TYPE_MESSAGE[kind]! });
    }
  }
  t.ok(cases.length > 500, `${cases.length} wrong-type configs`);
  run(t, cases);
});

const REQUIRED = [
  '/ociVersion',
  '/process',
  '/root',
  '/root/path',
  '/process/cwd',
  '/process/user',
  '/process/args',
  '/process/user/uid',
  '/process/user/gid',
  '/process/consoleSize/height',
  '/process/consoleSize/width',
  '/process/rlimits/0/type',
  '/process/rlimits/0/soft',
  '/process/rlimits/1/hard',
  '/process/scheduler/policy',
  '/process/ioPriority/class',
  '/process/ioPriority/priority',
  '/mounts/0/destination',
  '/mounts/3/uidMappings/0/containerID',
  '/mounts/3/gidMappings/0/hostID',
  '/mounts/3/gidMappings/0/size',
  '/hooks/prestart/0/path',
  '/hooks/createRuntime/0/path',
  '/hooks/createContainer/0/path',
  '/hooks/startContainer/0/path',
  '/hooks/poststart/0/path',
  '/hooks/poststop/0/path',
  '/linux/namespaces/3/type',
  '/linux/uidMappings/0/containerID',
  '/linux/uidMappings/0/hostID',
  '/linux/uidMappings/0/size',
  '/linux/gidMappings/0/size',
  '/linux/devices/0/type',
  '/linux/devices/0/path',
  '/linux/devices/1/path',
  '/linux/resources/devices/1/allow',
  '/linux/resources/blockIO/weightDevice/0/major',
  '/linux/resources/blockIO/weightDevice/0/minor',
  '/linux/resources/blockIO/throttleReadBpsDevice/0/major',
  '/linux/resources/blockIO/throttleWriteBpsDevice/0/minor',
  '/linux/resources/blockIO/throttleReadIOPSDevice/0/rate',
  '/linux/resources/blockIO/throttleWriteIOPSDevice/0/rate',
  '/linux/resources/hugepageLimits/0/pageSize',
  '/linux/resources/hugepageLimits/0/limit',
  '/linux/resources/network/priorities/0/name',
  '/linux/resources/network/priorities/0/priority',
  '/linux/seccomp/defaultAction',
  '/linux/seccomp/syscalls/0/names',
  '/linux/seccomp/syscalls/2/action',
  '/linux/seccomp/syscalls/1/args/0/index',
  '/linux/seccomp/syscalls/1/args/0/value',
  '/linux/seccomp/syscalls/1/args/0/op',
  '/linux/memoryPolicy/mode',
  '/linux/personality/domain',
];

t.test('a missing required field is reported at its own path', async (t) => {
  run(
    t,
    REQUIRED.map((ptr) => ({ name: `without ${ptr}`, doc: remove(clone(base()), ptr), expect: [ptr], message: 'is required' })),
  );
  // The "at least one of" rules point at the object.
  run(t, [
    {
      name: 'weightDevice without weight and leafWeight',
      doc: remove(remove(clone(base()), '/linux/resources/blockIO/weightDevice/0/weight'), '/linux/resources/blockIO/weightDevice/0/leafWeight'),
      expect: ['/linux/resources/blockIO/weightDevice/0'],
      message: 'must have "weight" or "leafWeight"',
    },
    {
      name: 'rdma entry without limits',
      doc: set(clone(base()), '/linux/resources/rdma/mlx5_0', {}),
      expect: ['/linux/resources/rdma/mlx5_0'],
      message: 'must have "hcaHandles" or "hcaObjects"',
    },
  ]);
});

const ENUMS: [string, string[]][] = [
  ['/linux/namespaces/0/type', ['PID', 'net', 'mnt', 'users', '', 'pid ']],
  ['/linux/namespaces/7/type', ['timens', 'Time']],
  ['/linux/seccomp/defaultAction', ['SCMP_ACT_DENY', 'allow', 'SCMP_ACT_KILL_ALL', '']],
  ['/linux/seccomp/syscalls/0/action', ['ALLOW', 'SCMP_ACT_ALLOW ', 'SCMP_ACT_ERRNO(1)']],
  ['/linux/seccomp/syscalls/1/args/0/op', ['SCMP_CMP_EQUAL', '==', 'SCMP_CMP_MASKED']],
  ['/linux/seccomp/architectures/0', ['SCMP_ARCH_AMD64', 'x86_64', 'SCMP_ARCH_ARM64']],
  ['/linux/seccomp/flags/0', ['SECCOMP_FILTER_FLAG_NEW_LISTENER', 'LOG']],
  ['/linux/rootfsPropagation', ['rshared ', 'recursive', 'PRIVATE', 'rbind', '']],
  ['/linux/devices/0/type', ['char', 'block', 'a', 'C']],
  ['/linux/resources/devices/1/type', ['u', 'p', 'all', 'A']],
  ['/process/scheduler/policy', ['SCHED_NORMAL', 'fifo']],
  ['/process/scheduler/flags/0', ['SCHED_FLAG_RESET', 'reset-on-fork']],
  ['/process/ioPriority/class', ['IOPRIO_CLASS_NONE', 'BE']],
  ['/linux/memoryPolicy/mode', ['MPOL_FOO', 'bind']],
  ['/linux/memoryPolicy/flags/0', ['MPOL_F_NUMA', 'static']],
  ['/linux/personality/domain', ['LINUX64', 'linux']],
];

t.test('a bad enum value is reported with the allowed values', async (t) => {
  const cases: Case[] = [];
  for (const [ptr, values] of ENUMS) {
    for (const v of values) cases.push({ name: `${ptr} = ${JSON.stringify(v)}`, doc: set(clone(base()), ptr, v), expect: [ptr], message: /^must be one of "/ });
  }
  run(t, cases);
  t.same(checkConfig(set(clone(base()), '/linux/namespaces/0/type', 'net')), [
    { pointer: '/linux/namespaces/0/type', message: 'must be one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"' },
  ]);
});

const PATTERNS: [string, string[], string][] = [
  ['/ociVersion', ['1.0', 'v1.0.0', '1.0.0.0', '', 'latest', '01.0.0'], 'must be a SemVer version like "1.3.0"'],
  ['/process/cwd', ['home', '', './x', '~/x'], 'must be an absolute path'],
  ['/process/env/1', ['TERM', '=xterm', ''], 'must be a "KEY=value" string'],
  ['/process/rlimits/0/type', ['NOFILE', 'rlimit_nofile', 'RLIMIT_', 'RLIMIT_NO FILE'], 'must be an rlimit name like "RLIMIT_NOFILE"'],
  ['/process/capabilities/bounding/0', ['CHOWN', 'cap_chown', 'CAP_', 'CAP_chown'], 'must be a capability name like "CAP_CHOWN"'],
  ['/process/capabilities/ambient/0', ['KILL'], 'must be a capability name like "CAP_CHOWN"'],
  ['/process/execCPUAffinity/final', ['all', '0-', '1,,2x'], 'must be a list of numbers and ranges like "0-3,7"'],
  ['/hooks/poststop/0/path', ['hook.sh', '', 'bin/hook'], 'must be an absolute path'],
  ['/linux/namespaces/1/path', ['proc/1/ns/net', ''], 'must be an absolute path'],
  ['/linux/devices/0/path', ['dev/fuse', 'fuse'], 'must be an absolute path'],
  ['/linux/maskedPaths/1', ['sys/firmware', ''], 'must be an absolute path'],
  ['/linux/readonlyPaths/0', ['proc/sys'], 'must be an absolute path'],
  ['/linux/resources/devices/0/access', ['rwx', '', 'read'], 'must be a combination of "r", "w" and "m"'],
  ['/linux/resources/hugepageLimits/0/pageSize', ['2M', '0MB', '2 MB', '2mb', '2TB'], 'must be a page size like "2MB" or "1GB"'],
  ['/linux/resources/cpu/cpus', ['a-b', 'all', '0-3;7'], 'must be a list of numbers and ranges like "0-3,7"'],
  ['/linux/resources/cpu/mems', ['node0'], 'must be a list of numbers and ranges like "0-3,7"'],
  ['/linux/memoryPolicy/nodes', ['0 1x'], 'must be a list of numbers and ranges like "0-3,7"'],
  ['/linux/intelRdt/memBwSchema', ['L3:0=ff', 'MB:0=50\nMB:1=50'], 'must start with "MB:" and hold no newline'],
  ['/linux/intelRdt/schemata/0', ['L3:0=ff\nMB:0=50'], 'must not contain a newline'],
];

t.test('a value in the wrong form is reported with the rule it breaks', async (t) => {
  const cases: Case[] = [];
  for (const [ptr, values, message] of PATTERNS) {
    for (const v of values) cases.push({ name: `${ptr} = ${JSON.stringify(v)}`, doc: set(clone(base()), ptr, v), expect: [ptr], message });
  }
  run(t, cases);
});

const RANGES: [string, Json[], string | RegExp][] = [
  ['/process/user/uid', [-1, 4294967296], 'must be an integer between 0 and 4294967295'],
  ['/process/user/gid', [-1, 2 ** 40], 'must be an integer between 0 and 4294967295'],
  ['/process/user/additionalGids/1', [-5], 'must be an integer between 0 and 4294967295'],
  ['/process/oomScoreAdj', [-1001, 1001], 'must be an integer between -1000 and 1000'],
  ['/process/ioPriority/priority', [-1, 8], 'must be an integer between 0 and 7'],
  ['/process/rlimits/0/soft', [-1], 'must be an integer between 0 and 18446744073709551615'],
  ['/process/scheduler/nice', [2 ** 31], 'must be an integer between -2147483648 and 2147483647'],
  ['/process/consoleSize/width', [-80], /^must be an integer between 0 and/],
  ['/hooks/prestart/0/timeout', [0, -5], 'must be >= 1'],
  ['/linux/uidMappings/0/size', [-1, 4294967296], 'must be an integer between 0 and 4294967295'],
  ['/mounts/3/uidMappings/0/hostID', [-1], 'must be an integer between 0 and 4294967295'],
  ['/linux/devices/0/fileMode', [-1], 'must be an integer between 0 and 4294967295'],
  ['/linux/timeOffsets/monotonic/nanosecs', [-1], 'must be an integer between 0 and 4294967295'],
  ['/linux/resources/blockIO/weight', [65536, -1], 'must be an integer between 0 and 65535'],
  ['/linux/resources/blockIO/weightDevice/0/leafWeight', [70000], 'must be an integer between 0 and 65535'],
  ['/linux/resources/network/classID', [-1], 'must be an integer between 0 and 4294967295'],
  ['/linux/resources/rdma/mlx5_0/hcaHandles', [-3], 'must be an integer between 0 and 4294967295'],
  ['/linux/resources/cpu/shares', [-1024], 'must be an integer between 0 and 18446744073709551615'],
  ['/linux/seccomp/syscalls/1/errnoRet', [-1], 'must be an integer between 0 and 18446744073709551615'],
  ['/linux/seccomp/syscalls/1/args/0/value', [-1], 'must be an integer between 0 and 18446744073709551615'],
];

t.test('a number out of range is reported with its bounds', async (t) => {
  const cases: Case[] = [];
  for (const [ptr, values, message] of RANGES) {
    for (const v of values) cases.push({ name: `${ptr} = ${JSON.stringify(v)}`, doc: set(clone(base()), ptr, v), expect: [ptr], message });
  }
  run(t, cases);
});

t.test('empty lists and strings that must hold something', async (t) => {
  run(t, [
    { name: 'args []', doc: set(clone(base()), '/process/args', []), expect: ['/process/args'], message: 'must be a non-empty array' },
    { name: 'names []', doc: set(clone(base()), '/linux/seccomp/syscalls/1/names', []), expect: ['/linux/seccomp/syscalls/1/names'], message: 'must be a non-empty array' },
    { name: 'root.path ""', doc: set(clone(base()), '/root/path', ''), expect: ['/root/path'], message: 'must not be empty' },
    { name: 'destination ""', doc: set(clone(base()), '/mounts/2/destination', ''), expect: ['/mounts/2/destination'], message: 'must not be empty' },
    { name: 'syscall name ""', doc: set(clone(base()), '/linux/seccomp/syscalls/0/names/1', ''), expect: ['/linux/seccomp/syscalls/0/names/1'], message: 'must not be empty' },
  ]);
});

// Semantic faults: each breaks one rule the schema cannot express.
function edit(fn: (d: Doc) => void): Doc {
  const d = clone(base());
  fn(d);
  return d;
}
const L = (d: Doc) => d['linux'] as Record<string, Json>;
const withoutNs = (d: Doc, type: string) => {
  L(d)['namespaces'] = (L(d)['namespaces'] as { type: string }[]).filter((ns) => ns.type !== type);
};

t.test('semantic faults are reported where they are', async (t) => {
  const nsTypes = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];
  const cases: Case[] = nsTypes.map((type, i) => ({
    name: `namespace ${type} twice`,
    doc: edit((d) => (L(d)['namespaces'] as Json[]).push({ type })),
    expect: ['/linux/namespaces/8/type'],
    message: `"${type}" is listed twice (first at /linux/namespaces/${i})`,
  }));
  cases.push(
    { name: 'no user ns, mappings', doc: edit((d) => { withoutNs(d, 'user'); delete L(d)['sysctl']; remove(d, '/mounts/3/options/1'); }), expect: ['/linux/gidMappings', '/linux/uidMappings'], message: 'needs a user namespace in linux.namespaces' },
    { name: 'new user ns, no uidMappings', doc: edit((d) => delete L(d)['uidMappings']), expect: ['/linux/uidMappings'], message: 'is required when creating a user namespace' },
    { name: 'new user ns, empty gidMappings', doc: edit((d) => (L(d)['gidMappings'] = [])), expect: ['/linux/gidMappings'] },
    { name: 'no time ns, offsets', doc: edit((d) => withoutNs(d, 'time')), expect: ['/linux/timeOffsets'], message: 'needs a time namespace in linux.namespaces' },
    { name: 'joined time ns, offsets', doc: edit((d) => set(d, '/linux/namespaces/7/path', '/proc/1/ns/time')), expect: ['/linux/timeOffsets'], message: 'cannot be set when joining a time namespace by path' },
    { name: 'unknown clock', doc: edit((d) => set(d, '/linux/timeOffsets/realtime', { secs: 1 })), expect: ['/linux/timeOffsets/realtime'], message: 'is not a clock: must be one of "monotonic", "boottime"' },
    { name: 'nanosecs a second', doc: set(clone(base()), '/linux/timeOffsets/boottime/nanosecs', 1e9), expect: ['/linux/timeOffsets/boottime/nanosecs'] },
    { name: 'no uts ns, hostname+domainname', doc: edit((d) => { withoutNs(d, 'uts'); delete (L(d)['sysctl'] as Doc)['kernel.domainname']; }), expect: ['/domainname', '/hostname'], message: 'needs a UTS namespace in linux.namespaces' },
    { name: 'no mount ns, masked/readonly paths', doc: edit((d) => withoutNs(d, 'mount')), expect: ['/linux/maskedPaths', '/linux/readonlyPaths'] },
    { name: 'sysctl net.* without netns', doc: edit((d) => { withoutNs(d, 'network'); delete L(d)['netDevices']; }), expect: ['/linux/sysctl/net.ipv4.ip_forward'], message: 'needs a network namespace in linux.namespaces' },
    { name: 'sysctl ipc without ipc ns', doc: edit((d) => withoutNs(d, 'ipc')), expect: ['/linux/sysctl/fs.mqueue.msg_max', '/linux/sysctl/kernel.shmmax'], message: 'needs an IPC namespace in linux.namespaces' },
    { name: 'sysctl slash form', doc: edit((d) => { withoutNs(d, 'ipc'); L(d)['sysctl'] = { 'kernel/sem': '1 2 3 4' }; }), expect: ['/linux/sysctl/kernel~1sem'] },
    { name: 'sysctl kernel.hostname', doc: set(clone(base()), '/linux/sysctl/kernel.hostname', 'x'), expect: ['/linux/sysctl/kernel.hostname'], message: 'cannot be set as a sysctl: use the "hostname" field' },
    { name: 'sysctl kernel.domainname without uts', doc: edit((d) => { withoutNs(d, 'uts'); delete d['hostname']; delete d['domainname']; }), expect: ['/linux/sysctl/kernel.domainname'] },
    { name: 'sysctl user.* without userns', doc: edit((d) => { withoutNs(d, 'user'); delete L(d)['uidMappings']; delete L(d)['gidMappings']; remove(d, '/mounts/3/options/1'); }), expect: ['/linux/sysctl/user.max_user_namespaces'] },
    { name: 'sysctl host-wide', doc: set(clone(base()), '/linux/sysctl/vm.swappiness', '10'), expect: ['/linux/sysctl/vm.swappiness'], message: 'is not namespaced: setting it would change the host' },
    { name: 'bind mount without source', doc: remove(clone(base()), '/mounts/2/source'), expect: ['/mounts/2/source'], message: 'is required for a bind mount' },
    { name: 'type bind without source', doc: edit((d) => { set(d, '/mounts/3/source', ''); }), expect: ['/mounts/3/source'] },
    { name: 'bind mount with fs data: accepted (validate warns)', doc: set(clone(base()), '/mounts/2/options/1', 'size=10m'), expect: [] },
    { name: 'idmap on a tmpfs: the kernel decides', doc: set(clone(base()), '/mounts/1/options/0', 'idmap'), expect: [] },
    { name: 'mount uidMappings overlapping', doc: edit((d) => { (d['mounts'] as Doc[])[3]!['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 9, hostID: 200000, size: 1 }]; }), expect: ['/mounts/3/uidMappings/1'], message: 'its containerID range [9, 9] overlaps that of /mounts/3/uidMappings/0 ([0, 9])' },
    { name: 'linux.uidMappings host ranges overlapping', doc: edit((d) => { L(d)['uidMappings'] = [{ containerID: 0, hostID: 100000, size: 65536 }, { containerID: 70000, hostID: 165535, size: 2 }]; }), expect: ['/linux/uidMappings/1'], message: 'its hostID range [165535, 165536] overlaps that of /linux/uidMappings/0 ([100000, 165535])' },
    { name: 'mapping beyond 32 bits', doc: edit((d) => { (d['mounts'] as Doc[])[3]!['gidMappings'] = [{ containerID: 0, hostID: 4294967295, size: 2 }]; }), expect: ['/mounts/3/gidMappings/0'], message: 'hostID 4294967295 + size 2 goes beyond the last id (4294967295)' },
    { name: 'mapping of size 0', doc: edit((d) => { (d['mounts'] as Doc[])[3]!['gidMappings'] = [{ containerID: 0, hostID: 1, size: 0 }]; }), expect: ['/mounts/3/gidMappings/0/size'], message: 'must be at least 1' },
    { name: 'mount uidMappings only', doc: remove(clone(base()), '/mounts/3/gidMappings'), expect: ['/mounts/3/gidMappings'], message: 'is required with uidMappings' },
    { name: 'mount gidMappings only', doc: remove(clone(base()), '/mounts/3/uidMappings'), expect: ['/mounts/3/uidMappings'] },
    { name: 'idmap without mappings or userns', doc: edit((d) => { withoutNs(d, 'user'); delete L(d)['uidMappings']; delete L(d)['gidMappings']; delete (L(d)['sysctl'] as Doc)['user.max_user_namespaces']; remove(d, '/mounts/3/uidMappings'); remove(d, '/mounts/3/gidMappings'); }), expect: ['/mounts/3/options/1'] },
    { name: 'rlimit twice', doc: set(clone(base()), '/process/rlimits/1/type', 'RLIMIT_NOFILE'), expect: ['/process/rlimits/1/type'], message: '"RLIMIT_NOFILE" is listed twice (first at /process/rlimits/0)' },
    { name: 'unknown rlimit', doc: set(clone(base()), '/process/rlimits/1/type', 'RLIMIT_FOO'), expect: ['/process/rlimits/1/type'], message: /^must be a Linux rlimit: one of "RLIMIT_AS"/ },
    { name: 'rlimit soft > hard', doc: set(clone(base()), '/process/rlimits/0/soft', 8192), expect: ['/process/rlimits/0/soft'], message: 'must not be greater than hard (4096)' },
    { name: 'scheduler nice with SCHED_OTHER', doc: edit((d) => set(d, '/process/scheduler', { policy: 'SCHED_OTHER', nice: 20 })), expect: ['/process/scheduler/nice'] },
    { name: 'scheduler priority with SCHED_OTHER', doc: edit((d) => set(d, '/process/scheduler', { policy: 'SCHED_OTHER', priority: 5 })), expect: ['/process/scheduler/priority'] },
    { name: 'deadline fields with SCHED_FIFO (and no real-time priority)', doc: set(clone(base()), '/process/scheduler/policy', 'SCHED_FIFO'), expect: ['/process/scheduler/deadline', '/process/scheduler/period', '/process/scheduler/priority', '/process/scheduler/runtime'] },
    { name: 'SCHED_RR priority 100', doc: edit((d) => set(d, '/process/scheduler', { policy: 'SCHED_RR', priority: 100 })), expect: ['/process/scheduler/priority'], message: 'must be between 1 and 99 with SCHED_RR' },
    { name: 'SCHED_DEADLINE without runtime', doc: remove(clone(base()), '/process/scheduler/runtime'), expect: ['/process/scheduler/runtime'], message: 'must be at least 1024 (nanoseconds) with SCHED_DEADLINE' },
    { name: 'SCHED_DEADLINE without deadline', doc: remove(clone(base()), '/process/scheduler/deadline'), expect: ['/process/scheduler/deadline'], message: 'is required with SCHED_DEADLINE' },
    { name: 'SCHED_DEADLINE runtime above deadline', doc: set(clone(base()), '/process/scheduler/runtime', 25000000), expect: ['/process/scheduler/deadline'], message: 'must not be less than runtime (25000000)' },
    { name: 'SCHED_DEADLINE period below deadline', doc: set(clone(base()), '/process/scheduler/period', 15000000), expect: ['/process/scheduler/period'], message: 'must be 0 or not less than deadline (20000000)' },
    { name: 'execCPUAffinity backwards range', doc: set(clone(base()), '/process/execCPUAffinity/final', '3-1'), expect: ['/process/execCPUAffinity/final'], message: 'invalid range "3-1"' },
    { name: 'execCPUAffinity CPU 1024', doc: set(clone(base()), '/process/execCPUAffinity/initial', '0,1024'), expect: ['/process/execCPUAffinity/initial'], message: 'CPU 1024 is above 1023, the highest supported' },
    { name: 'execCPUAffinity without a CPU', doc: set(clone(base()), '/process/execCPUAffinity/final', '  '), expect: ['/process/execCPUAffinity/final'], message: 'no CPUs found in "  "' },
    { name: 'char device without major', doc: remove(clone(base()), '/linux/devices/0/major'), expect: ['/linux/devices/0/major'], message: 'is required for a "c" device' },
    { name: 'block device without numbers', doc: set(clone(base()), '/linux/devices/1/type', 'b'), expect: ['/linux/devices/1/major', '/linux/devices/1/minor'] },
    { name: 'device rule without access', doc: remove(clone(base()), '/linux/resources/devices/0/access'), expect: ['/linux/resources/devices/0/access'], message: 'is required' },
    { name: 'swap below limit', doc: set(clone(base()), '/linux/resources/memory/swap', 1024), expect: ['/linux/resources/memory/swap'] },
    { name: 'cgroupsPath ..', doc: set(clone(base()), '/linux/cgroupsPath', '/hako/../../escape'), expect: ['/linux/cgroupsPath'], message: 'must not contain ".." components' },
    { name: 'netDevices without netns', doc: edit((d) => { withoutNs(d, 'network'); delete (L(d)['sysctl'] as Doc)['net.ipv4.ip_forward']; }), expect: ['/linux/netDevices'] },
    { name: 'bad host interface name', doc: set(clone(base()), '/linux/netDevices/eth:1', {}), expect: ['/linux/netDevices/eth:1'] },
    { name: 'bad container interface name', doc: set(clone(base()), '/linux/netDevices/eth1/name', 'a-very-long-interface-name'), expect: ['/linux/netDevices/eth1/name'] },
    { name: 'notify as default', doc: edit((d) => { set(d, '/linux/seccomp/defaultAction', 'SCMP_ACT_NOTIFY'); delete (get(d, '/linux/seccomp') as Doc)['defaultErrnoRet']; }), expect: ['/linux/seccomp/defaultAction'] },
    { name: 'defaultErrnoRet with ALLOW', doc: set(clone(base()), '/linux/seccomp/defaultAction', 'SCMP_ACT_ALLOW'), expect: ['/linux/seccomp/defaultErrnoRet'] },
    { name: 'errnoRet with KILL', doc: set(clone(base()), '/linux/seccomp/syscalls/1/action', 'SCMP_ACT_KILL'), expect: ['/linux/seccomp/syscalls/1/errnoRet'] },
    { name: 'notify without listenerPath', doc: edit((d) => { remove(d, '/linux/seccomp/listenerPath'); remove(d, '/linux/seccomp/listenerMetadata'); }), expect: ['/linux/seccomp/listenerPath'], message: 'is required when a rule uses SCMP_ACT_NOTIFY' },
    { name: 'listenerMetadata without listenerPath', doc: edit((d) => { remove(d, '/linux/seccomp/listenerPath'); remove(d, '/linux/seccomp/syscalls/2'); }), expect: ['/linux/seccomp/listenerMetadata'] },
    { name: 'notify on write', doc: set(clone(base()), '/linux/seccomp/syscalls/2/names/0', 'write'), expect: ['/linux/seccomp/syscalls/2/names/0'] },
    { name: 'arg index 6', doc: set(clone(base()), '/linux/seccomp/syscalls/1/args/0/index', 6), expect: ['/linux/seccomp/syscalls/1/args/0/index'] },
    { name: 'MPOL_BIND without nodes', doc: remove(clone(base()), '/linux/memoryPolicy/nodes'), expect: ['/linux/memoryPolicy/nodes'] },
    { name: 'MPOL_LOCAL with nodes', doc: set(clone(base()), '/linux/memoryPolicy/mode', 'MPOL_LOCAL'), expect: ['/linux/memoryPolicy/nodes'] },
    { name: 'memoryPolicy backwards node range', doc: set(clone(base()), '/linux/memoryPolicy/nodes', '1-0'), expect: ['/linux/memoryPolicy/nodes'], message: 'invalid range "1-0"' },
    { name: 'memoryPolicy node 1024', doc: set(clone(base()), '/linux/memoryPolicy/nodes', '1024'), expect: ['/linux/memoryPolicy/nodes'], message: 'node 1024 is above 1023, the highest supported' },
    { name: 'memoryPolicy nodes of spaces', doc: set(clone(base()), '/linux/memoryPolicy/nodes', '   '), expect: ['/linux/memoryPolicy/nodes'], message: 'no nodes found in "   "' },
    { name: 'closID ..', doc: set(clone(base()), '/linux/intelRdt/closID', '..'), expect: ['/linux/intelRdt/closID'] },
    { name: 'closID with a slash', doc: set(clone(base()), '/linux/intelRdt/closID', 'a/b'), expect: ['/linux/intelRdt/closID'] },
  );
  run(t, cases);
});

t.test('several faults at once: one problem each, sorted by pointer', async (t) => {
  const doc = edit((d) => {
    set(d, '/process/user/uid', 'root');
    remove(d, '/process/cwd');
    set(d, '/linux/namespaces/2/type', 'mnt');
    set(d, '/mounts/10', { destination: 7 });
    set(d, '/ociVersion', 1);
  });
  // mounts/10 on a 4-element array: JSON arrays have no holes, so write it plainly.
  (doc['mounts'] as Json[]).length = 4;
  (doc['mounts'] as Json[]).push({ destination: 7 });
  t.same(checkConfig(doc), [
    { pointer: '/linux/namespaces/2/type', message: 'must be one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"' },
    { pointer: '/mounts/4/destination', message: 'must be a string' },
    { pointer: '/ociVersion', message: 'must be a string' },
    { pointer: '/process/cwd', message: 'is required' },
    { pointer: '/process/user/uid', message: 'must be an integer' },
  ]);
});

t.test('pointers escape "/" and "~" in keys', async (t) => {
  run(t, [
    { name: 'annotation key with / and ~', doc: set(clone(base()), '/annotations/a~1b~0c', 1), expect: ['/annotations/a~1b~0c'], message: 'must be a string' },
    { name: 'unified key with /', doc: set(clone(base()), '/linux/resources/unified/io~1max', false), expect: ['/linux/resources/unified/io~1max'] },
  ]);
});

t.test('bare process objects (exec --process)', async (t) => {
  const proc = () => clone(base()['process'] as Doc);
  const cases: Case[] = [];
  for (const [ptr, value] of walk(proc())) {
    const kind = kindOf(value);
    const wrong = WRONG[kind]?.[0];
    if (wrong !== undefined) cases.push({ name: `${ptr} = ${JSON.stringify(wrong)}`, doc: set(proc(), ptr, wrong), expect: [ptr], message: TYPE_MESSAGE[kind]! });
  }
  for (const ptr of ['/cwd', '/user', '/args', '/user/uid', '/user/gid', '/rlimits/0/hard']) {
    cases.push({ name: `without ${ptr}`, doc: remove(proc(), ptr), expect: [ptr], message: 'is required' });
  }
  cases.push(
    { name: 'relative cwd', doc: set(proc(), '/cwd', 'tmp'), expect: ['/cwd'], message: 'must be an absolute path' },
    { name: 'args []', doc: set(proc(), '/args', []), expect: ['/args'], message: 'must be a non-empty array' },
    { name: 'rlimit twice', doc: set(proc(), '/rlimits/1/type', 'RLIMIT_NOFILE'), expect: ['/rlimits/1/type'] },
    { name: 'nice out of range', doc: set(proc(), '/scheduler', { policy: 'SCHED_BATCH', nice: 20 }), expect: ['/scheduler/nice'], message: 'must be between -20 and 19 with SCHED_BATCH' },
    { name: 'unknown policy', doc: set(proc(), '/scheduler', { policy: 'SCHED_NORMAL' }), expect: ['/scheduler/policy'] },
    { name: 'unknown I/O class', doc: set(proc(), '/ioPriority/class', 'IOPRIO_CLASS_NONE'), expect: ['/ioPriority/class'] },
    { name: 'I/O level 8', doc: set(proc(), '/ioPriority/priority', 8), expect: ['/ioPriority/priority'] },
    { name: 'CPU list not a list', doc: set(proc(), '/execCPUAffinity/final', 'all'), expect: ['/execCPUAffinity/final'] },
    { name: 'CPU list backwards', doc: set(proc(), '/execCPUAffinity/initial', '1-0'), expect: ['/execCPUAffinity/initial'], message: 'invalid range "1-0"' },
    { name: 'not an object', doc: [] as unknown as Doc, expect: [''], message: 'must be an object' },
  );
  t.ok(cases.length > 50, `${cases.length} broken process objects`);
  run(t, cases, checkProcess);
});
