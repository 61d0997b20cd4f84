// linux.resources as cgroup v1 file writes, in the order they must happen. Pure: what the
// writes depend on in the live cgroup (the current memory limit, which blkio weight file
// the I/O scheduler offers, the current device rules) is asked through `CgroupReader`.
// 0 means "not set" for the numbers, as in runc (its config has no "absent").
import { HakoError } from '../errors.js';
import type { LinuxResources } from '../oci/types.js';
import { int, rdmaLine, type CgroupWrite } from './convert.js';
import { applyDeviceRules, containerDeviceRules, deviceWrites, parseDevicesList } from './devices.js';

export interface CgroupReader {
  /** a file's trimmed text, undefined if the controller or file is not there */
  read(controller: string, file: string): string | undefined;
}

export interface ResourceOptions {
  /** `update` of a live container rather than create: device rules change without a gap */
  update?: boolean;
  /** rootless: the device rules are left alone, as runc's rootless mode does (rootless.ts) */
  skipDevices?: boolean;
  /**
   * The systemd driver (runc's legacy systemd manager): a hierarchy that is not mounted is
   * skipped rather than refused; systemd has the value as a unit property. Not devices.
   */
  skipMissing?: boolean;
}

const set = (n: number | undefined): n is number => n !== undefined && n !== 0;

export function v1ResourceWrites(r: LinuxResources, cg: CgroupReader, opts: ResourceOptions = {}): CgroupWrite[] {
  if (r.unified && Object.keys(r.unified).length > 0) {
    throw new HakoError('invalid configuration: cannot use unified on cgroup v1', { pointer: '/linux/resources/unified' });
  }
  const out: CgroupWrite[] = [];
  const w = (controller: string, file: string, value: string): void => {
    out.push({ controller, file, value });
  };

  if (!opts.skipDevices && (r.devices !== undefined || !opts.update)) {
    const target = applyDeviceRules(containerDeviceRules(r.devices));
    const currentText = opts.update ? cg.read('devices', 'devices.list') : undefined;
    // Only a config that allows every device leaves nothing to restrict: a new cgroup then
    // keeps what it inherited (allowing "a" would fail under a restricted parent).
    const unrestricted = target.defaultAllow && target.exceptions.length === 0;
    if (!(unrestricted && !opts.update)) {
      out.push(...deviceWrites(target, currentText === undefined ? undefined : parseDevicesList(currentText)));
    }
  }

  const m = r.memory;
  if (m) {
    let swap = m.swap ?? 0;
    const limit = m.limit ?? 0;
    if (limit === -1 && swap === 0) swap = -1; // unlimited memory: unlimited swap too
    const memsw = (v: number): void => w('memory', 'memory.memsw.limit_in_bytes', int(v));
    const mem = (v: number): void => w('memory', 'memory.limit_in_bytes', int(v));
    if (limit !== 0 && swap !== 0) {
      // The kernel wants memsw >= limit after every write: raise memsw first when it grows.
      const current = Number(cg.read('memory', 'memory.limit_in_bytes') ?? 0);
      if (swap === -1 || current < swap) {
        memsw(swap);
        mem(limit);
      } else {
        mem(limit);
        memsw(swap);
      }
    } else {
      if (limit !== 0) mem(limit);
      if (swap !== 0) memsw(swap);
    }
    if (set(m.reservation)) w('memory', 'memory.soft_limit_in_bytes', int(m.reservation));
    if (set(m.kernelTCP)) w('memory', 'memory.kmem.tcp.limit_in_bytes', int(m.kernelTCP));
    if (m.swappiness !== undefined && m.swappiness !== -1) {
      if (m.swappiness < 0 || m.swappiness > 100) {
        throw new HakoError(`invalid value:${m.swappiness}. valid memory swappiness range is 0-100`, {
          pointer: '/linux/resources/memory/swappiness',
        });
      }
      w('memory', 'memory.swappiness', int(m.swappiness));
    }
    if (m.disableOOMKiller) w('memory', 'memory.oom_control', '1');
  }

  const c = r.cpu;
  if (c) {
    if (set(c.shares)) w('cpu', 'cpu.shares', int(c.shares));
    if (set(c.period)) w('cpu', 'cpu.cfs_period_us', int(c.period));
    if (set(c.quota)) w('cpu', 'cpu.cfs_quota_us', int(c.quota));
    if (c.burst !== undefined) w('cpu', 'cpu.cfs_burst_us', int(c.burst));
    if (set(c.realtimePeriod)) w('cpu', 'cpu.rt_period_us', int(c.realtimePeriod));
    if (set(c.realtimeRuntime)) w('cpu', 'cpu.rt_runtime_us', int(c.realtimeRuntime));
    if (c.idle !== undefined) w('cpu', 'cpu.idle', int(c.idle));
    if (c.cpus) w('cpuset', 'cpuset.cpus', c.cpus);
    if (c.mems) w('cpuset', 'cpuset.mems', c.mems);
  }

  if (r.pids && set(r.pids.limit)) w('pids', 'pids.max', r.pids.limit > 0 ? int(r.pids.limit) : 'max');

  const b = r.blockIO;
  if (b) {
    // CFQ offers blkio.weight; with BFQ (current kernels) the files are blkio.bfq.*.
    const bfq = cg.read('blkio', 'blkio.weight') === undefined && cg.read('blkio', 'blkio.bfq.weight') !== undefined;
    const weightFile = bfq ? 'blkio.bfq.weight' : 'blkio.weight';
    if (set(b.weight)) w('blkio', weightFile, int(b.weight));
    if (set(b.leafWeight)) w('blkio', 'blkio.leaf_weight', int(b.leafWeight));
    for (const d of b.weightDevice ?? []) {
      if (set(d.weight)) w('blkio', `${weightFile}_device`, `${d.major}:${d.minor} ${int(d.weight)}`);
      if (set(d.leafWeight)) w('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${int(d.leafWeight)}`);
    }
    const throttles: [keyof typeof b, string][] = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ];
    for (const [key, file] of throttles) {
      for (const d of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
        w('blkio', file, `${d.major}:${d.minor} ${int(d.rate)}`);
      }
    }
  }

  for (const h of r.hugepageLimits ?? []) {
    w('hugetlb', `hugetlb.${h.pageSize}.limit_in_bytes`, int(h.limit));
  }

  const n = r.network;
  if (n) {
    if (n.classID !== undefined) w('net_cls', 'net_cls.classid', int(n.classID));
    for (const p of n.priorities ?? []) w('net_prio', 'net_prio.ifpriomap', `${p.name} ${int(p.priority)}`);
  }

  for (const [device, limit] of Object.entries(r.rdma ?? {})) w('rdma', 'rdma.max', rdmaLine(device, limit));
  return out;
}
