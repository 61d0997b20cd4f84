// A container's resource usage in the shape `runc events` prints ("data" of a "stats"
// event): cpu, cpuset, memory, pids, blkio, hugetlb. Counters can pass 2^53 (an unlimited
// v1 memory limit is 9223372036854771712), so every number is a bigint; statsJson() prints
// them as JSON numbers, exactly. Fields runc leaves out when zero are left out here too.
// The parsers take the files' texts, so they are tested without a cgroup.

export type Reader = (controller: string, file: string) => string | undefined;

type Num = bigint;
export interface MemoryEntry {
  limit: Num;
  usage?: Num;
  max?: Num;
  failcnt: Num;
}
export interface BlkioEntry {
  major: Num;
  minor: Num;
  op: string;
  value: Num;
}
export interface Stats {
  cpu: {
    usage: { total?: Num; percpu?: Num[]; percpu_kernel?: Num[]; percpu_user?: Num[]; kernel: Num; user: Num };
    throttling: { periods?: Num; throttled_periods?: Num; throttled_time?: Num };
  };
  cpuset: Record<string, Num | Num[]>;
  memory: { cache?: Num; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, Num> };
  pids: { current?: Num; limit?: Num };
  blkio: Partial<Record<string, BlkioEntry[]>>;
  hugetlb: Record<string, { usage?: Num; max?: Num; failcnt: Num }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const MAX_U64 = 18446744073709551615n;
const NS_PER_TICK = 10000000n; // USER_HZ 100: cpuacct.stat counts ticks

function big(text: string | undefined): bigint {
  if (text === undefined || !/^-?\d+$/.test(text.trim())) return 0n;
  return BigInt(text.trim());
}

/** "key value" lines -> map, keys sorted as Go prints a map (memory.stat, cpu.stat, memory.events, ...). */
export function keyValues(text: string | undefined): Record<string, bigint> {
  const pairs: [string, bigint][] = [];
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) pairs.push([k, BigInt(v)]);
  }
  return Object.fromEntries(pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** "0-2,4" -> [0, 1, 2, 4] */
export function cpuList(text: string | undefined): bigint[] {
  const out: bigint[] = [];
  for (const part of (text ?? '').trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-');
    for (let i = Number(a); i <= Number(b ?? a); i++) out.push(BigInt(i));
  }
  return out;
}

function list(text: string | undefined): bigint[] | undefined {
  const values = (text ?? '').trim().split(/\s+/).filter(Boolean).map((v) => BigInt(v));
  return values.length ? values : undefined;
}

const omitZero = (v: bigint): bigint | undefined => (v === 0n ? undefined : v);

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** "8:0 Read 4096" lines (the "Total" line dropped) -> entries. */
export function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)(?:\s+(\d+))?$/.exec(line.trim());
    if (!m) continue;
    // a file without op names ("8:0 1234", blkio.time_recursive) has the value in place of the op
    if (m[4] === undefined) out.push({ major: BigInt(m[1]!), minor: BigInt(m[2]!), op: '', value: BigInt(m[3]!) });
    else out.push({ major: BigInt(m[1]!), minor: BigInt(m[2]!), op: m[3]!, value: BigInt(m[4]) });
  }
  return out;
}

function memoryEntry(read: Reader, prefix: string): MemoryEntry {
  return clean({
    limit: big(read('memory', `${prefix}.limit_in_bytes`)),
    usage: omitZero(big(read('memory', `${prefix}.usage_in_bytes`))),
    max: omitZero(big(read('memory', `${prefix}.max_usage_in_bytes`))),
    failcnt: big(read('memory', `${prefix}.failcnt`)),
  });
}

const CPUSET_FLAGS = [
  'cpu_exclusive',
  'mem_hardwall',
  'mem_exclusive',
  'memory_migrate',
  'memory_spread_page',
  'memory_spread_slab',
  'memory_pressure',
  'sched_load_balance',
  'sched_relax_domain_level',
];

function emptyStats(): Stats {
  const entry = (): MemoryEntry => ({ limit: 0n, failcnt: 0n });
  return {
    cpu: { usage: { kernel: 0n, user: 0n }, throttling: {} },
    cpuset: {},
    memory: { usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry() },
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** cgroup v1: each controller's files. */
export function v1Stats(read: Reader, hugePageSizes: string[] = []): Stats {
  const s = emptyStats();
  const acct = keyValues(read('cpuacct', 'cpuacct.stat'));
  s.cpu.usage = clean({
    total: big(read('cpuacct', 'cpuacct.usage')),
    percpu: list(read('cpuacct', 'cpuacct.usage_percpu')),
    percpu_kernel: list(read('cpuacct', 'cpuacct.usage_percpu_sys')),
    percpu_user: list(read('cpuacct', 'cpuacct.usage_percpu_user')),
    kernel: (acct.system ?? 0n) * NS_PER_TICK,
    user: (acct.user ?? 0n) * NS_PER_TICK,
  });
  const cpuStat = keyValues(read('cpu', 'cpu.stat'));
  s.cpu.throttling = clean({
    periods: omitZero(cpuStat.nr_periods ?? 0n),
    throttled_periods: omitZero(cpuStat.nr_throttled ?? 0n),
    throttled_time: omitZero(cpuStat.throttled_time ?? 0n),
  });

  const cpus = read('cpuset', 'cpuset.cpus');
  if (cpus !== undefined) {
    const set: Record<string, bigint | bigint[]> = {};
    const c = cpuList(cpus);
    if (c.length) set.cpus = c;
    set.cpu_exclusive = big(read('cpuset', 'cpuset.cpu_exclusive'));
    const mems = cpuList(read('cpuset', 'cpuset.mems'));
    if (mems.length) set.mems = mems;
    for (const f of CPUSET_FLAGS.slice(1)) set[f] = big(read('cpuset', `cpuset.${f}`));
    s.cpuset = set;
  }

  const raw = keyValues(read('memory', 'memory.stat'));
  s.memory = clean({
    cache: omitZero(raw.cache ?? 0n),
    usage: memoryEntry(read, 'memory'),
    swap: memoryEntry(read, 'memory.memsw'),
    kernel: memoryEntry(read, 'memory.kmem'),
    kernelTCP: memoryEntry(read, 'memory.kmem.tcp'),
    raw: Object.keys(raw).length ? raw : undefined,
  });

  const pidsMax = read('pids', 'pids.max');
  s.pids = clean({ current: omitZero(big(read('pids', 'pids.current'))), limit: pidsMax === 'max' ? undefined : omitZero(big(pidsMax)) });

  // CFQ files, else BFQ's, else the throttling layer's (what this kernel has).
  const cfq = read('blkio', 'blkio.io_serviced_recursive') !== undefined;
  const bfq = !cfq && read('blkio', 'blkio.bfq.io_serviced_recursive') !== undefined;
  const files: [string, string][] = cfq
    ? [
        ['sectorsRecursive', 'blkio.sectors_recursive'],
        ['ioServiceBytesRecursive', 'blkio.io_service_bytes_recursive'],
        ['ioServicedRecursive', 'blkio.io_serviced_recursive'],
        ['ioQueuedRecursive', 'blkio.io_queued_recursive'],
        ['ioServiceTimeRecursive', 'blkio.io_service_time_recursive'],
        ['ioWaitTimeRecursive', 'blkio.io_wait_time_recursive'],
        ['ioMergedRecursive', 'blkio.io_merged_recursive'],
        ['ioTimeRecursive', 'blkio.time_recursive'],
      ]
    : bfq
      ? [
          ['ioServiceBytesRecursive', 'blkio.bfq.io_service_bytes_recursive'],
          ['ioServicedRecursive', 'blkio.bfq.io_serviced_recursive'],
        ]
      : [
          ['ioServiceBytesRecursive', 'blkio.throttle.io_service_bytes_recursive'],
          ['ioServicedRecursive', 'blkio.throttle.io_serviced_recursive'],
        ];
  for (const [key, file] of files) {
    const entries = blkioEntries(read('blkio', file));
    if (entries.length) s.blkio[key] = entries;
  }

  for (const size of hugePageSizes) {
    s.hugetlb[size] = clean({
      usage: omitZero(big(read('hugetlb', `hugetlb.${size}.usage_in_bytes`))),
      max: omitZero(big(read('hugetlb', `hugetlb.${size}.max_usage_in_bytes`))),
      failcnt: big(read('hugetlb', `hugetlb.${size}.failcnt`)),
    });
  }
  return s;
}

/** cgroup v2: the one directory's files, in v1's shape as runc reports them. */
export function v2Stats(read: (file: string) => string | undefined, hugePageSizes: string[] = []): Stats {
  const s = emptyStats();
  const cpu = keyValues(read('cpu.stat'));
  s.cpu.usage = clean({
    total: (cpu.usage_usec ?? 0n) * 1000n,
    kernel: (cpu.system_usec ?? 0n) * 1000n,
    user: (cpu.user_usec ?? 0n) * 1000n,
  });
  s.cpu.throttling = clean({
    periods: omitZero(cpu.nr_periods ?? 0n),
    throttled_periods: omitZero(cpu.nr_throttled ?? 0n),
    throttled_time: omitZero((cpu.throttled_usec ?? 0n) * 1000n),
  });
  const cpus = cpuList(read('cpuset.cpus.effective'));
  const mems = cpuList(read('cpuset.mems.effective'));
  if (cpus.length) s.cpuset.cpus = cpus;
  if (mems.length) s.cpuset.mems = mems;

  const raw = keyValues(read('memory.stat'));
  const limit = (text: string | undefined): bigint => (text === 'max' ? MAX_U64 : big(text));
  const memUsage = big(read('memory.current'));
  const memLimit = limit(read('memory.max'));
  const events = keyValues(read('memory.events'));
  const swapUsage = big(read('memory.swap.current'));
  const swapLimit = limit(read('memory.swap.max'));
  s.memory = clean({
    cache: omitZero(raw.file ?? 0n),
    usage: clean({ limit: memLimit, usage: omitZero(memUsage), max: omitZero(big(read('memory.peak'))), failcnt: events.max ?? 0n }),
    // runc reports memory+swap here, as v1's memsw counts both
    swap: clean({
      limit: swapLimit === MAX_U64 || memLimit === MAX_U64 ? MAX_U64 : swapLimit + memLimit,
      usage: omitZero(swapUsage + memUsage),
      failcnt: 0n,
    }),
    kernel: { limit: 0n, failcnt: 0n },
    kernelTCP: { limit: 0n, failcnt: 0n },
    raw: Object.keys(raw).length ? raw : undefined,
  });

  const pidsMax = read('pids.max');
  s.pids = clean({ current: omitZero(big(read('pids.current'))), limit: pidsMax === 'max' ? undefined : omitZero(big(pidsMax)) });

  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (read('io.stat') ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const kv: Record<string, bigint> = {};
    for (const pair of m[3]!.split(/\s+/)) {
      const [k, v] = pair.split('=');
      if (k && v && /^\d+$/.test(v)) kv[k] = BigInt(v);
    }
    const dev = { major: BigInt(m[1]!), minor: BigInt(m[2]!) };
    bytes.push({ ...dev, op: 'Read', value: kv.rbytes ?? 0n }, { ...dev, op: 'Write', value: kv.wbytes ?? 0n });
    ios.push({ ...dev, op: 'Read', value: kv.rios ?? 0n }, { ...dev, op: 'Write', value: kv.wios ?? 0n });
  }
  if (bytes.length) s.blkio.ioServiceBytesRecursive = bytes;
  if (ios.length) s.blkio.ioServicedRecursive = ios;

  for (const size of hugePageSizes) {
    const ev = keyValues(read(`hugetlb.${size}.events`));
    s.hugetlb[size] = clean({ usage: omitZero(big(read(`hugetlb.${size}.current`))), failcnt: ev.max ?? 0n });
  }
  return s;
}

/** JSON with bigints as plain numbers. */
export function statsJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000${v.toString()}\u0000` : v)).replace(/"\\u0000(-?\d+)\\u0000"/g, '$1');
}

/** The OOM counter: v1 memory.oom_control oom_kill (+ under_oom), v2 memory.events oom_kill. */
export function oomCount(text: string | undefined): bigint {
  const kv = keyValues(text);
  return (kv.oom_kill ?? 0n) + (kv.under_oom ?? 0n);
}

/** The huge page sizes the kernel has, as cgroup files name them ("2MB", "1GB"). */
export function hugePageSizes(listing: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of listing) {
    const m = /^hugepages-(\d+)kB$/.exec(name);
    if (!m) continue;
    let kb = Number(m[1]);
    const units = ['KB', 'MB', 'GB', 'TB'];
    let u = 0;
    while (kb >= 1024 && kb % 1024 === 0 && u < units.length - 1) {
      kb /= 1024;
      u++;
    }
    out.push(`${kb}${units[u]}`);
  }
  return out;
}
