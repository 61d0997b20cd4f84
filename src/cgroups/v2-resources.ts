// linux.resources as cgroup v2 file writes (one directory: controller ""), converted from
// the spec's v1 numbers as runc converts them: cpu shares -> cpu.weight, quota/period ->
// cpu.max, memory+swap -> memory.swap.max, blkio weight -> io.weight (or io.bfq.weight,
// which keeps v1's range), throttles -> io.max; `unified` keys are written as given.
// Device rules need an eBPF program on v2; hako does not build one yet (see DeviceRules).
import { HakoError } from '../errors.js';
import type { LinuxResources } from '../oci/types.js';
import { blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, int, maxOr, memorySwapToV2, rdmaLine, type CgroupWrite } from './convert.js';
import type { CgroupReader, ResourceOptions } from './v1-resources.js';

const set = (n: number | undefined): n is number => n !== undefined && n !== 0;

export function v2ResourceWrites(r: LinuxResources, cg: CgroupReader, _opts: ResourceOptions = {}): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const w = (file: string, value: string): void => {
    out.push({ controller: '', file, value });
  };

  const m = r.memory;
  if (m) {
    const limit = m.limit ?? 0;
    const swap = memorySwapToV2(m.swap ?? 0, limit);
    // swap first: runc's order, so a limit lowered below usage fails with swap already set
    if (swap !== 0) w('memory.swap.max', maxOr(swap));
    if (limit !== 0) w('memory.max', maxOr(limit));
    if (set(m.reservation)) w('memory.low', maxOr(m.reservation));
  }

  const c = r.cpu;
  if (c) {
    if (set(c.realtimePeriod) || set(c.realtimeRuntime)) {
      throw new HakoError('realtime cpu scheduling (cpu.realtimePeriod, cpu.realtimeRuntime) is not supported on cgroup v2', {
        pointer: '/linux/resources/cpu',
      });
    }
    if (set(c.shares)) w('cpu.weight', int(cpuSharesToWeight(c.shares)));
    if (set(c.quota) || set(c.period)) w('cpu.max', cpuMax(c.quota ?? 0, c.period ?? 0));
    if (c.burst !== undefined) w('cpu.max.burst', int(c.burst));
    if (c.idle !== undefined) w('cpu.idle', int(c.idle));
    if (c.cpus) w('cpuset.cpus', c.cpus);
    if (c.mems) w('cpuset.mems', c.mems);
  }

  if (r.pids && set(r.pids.limit)) w('pids.max', maxOr(r.pids.limit));

  const b = r.blockIO;
  if (b) {
    const bfq = cg.read('', 'io.bfq.weight') !== undefined;
    if (set(b.weight)) {
      if (bfq) w('io.bfq.weight', int(b.weight));
      else w('io.weight', int(blkioWeightToIoWeight(b.weight)));
    }
    for (const d of b.weightDevice ?? []) {
      if (!set(d.weight)) continue;
      if (bfq) w('io.bfq.weight', `${d.major}:${d.minor} ${int(d.weight)}`);
      else w('io.weight', `${d.major}:${d.minor} ${int(blkioWeightToIoWeight(d.weight))}`);
    }
    const throttles: [keyof typeof b, string][] = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ];
    for (const [key, name] of throttles) {
      for (const d of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
        w('io.max', `${d.major}:${d.minor} ${name}=${d.rate === 0 ? 'max' : int(d.rate)}`);
      }
    }
  }

  for (const h of r.hugepageLimits ?? []) w(`hugetlb.${h.pageSize}.max`, int(h.limit));

  for (const [device, limit] of Object.entries(r.rdma ?? {})) w('rdma.max', rdmaLine(device, limit));

  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (key.includes('/') || key === '.' || key === '..' || !key.includes('.')) {
      throw new HakoError(`unified resource ${JSON.stringify(key)}: not a cgroup v2 file name`, { pointer: '/linux/resources/unified' });
    }
    w(key, value);
  }
  return out;
}
