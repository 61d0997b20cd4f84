// Values as cgroup files want them, and the v1 -> v2 conversions of the OCI resources
// (the spec's numbers are cgroup v1's; runc converts them the same way on v2).
import { HakoError } from '../errors.js';

/** A file write: controller ("" = the one v2 directory), file name, value. */
export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
}

/** An integer as decimal text, without exponent notation for large values. */
export function int(n: number): string {
  return BigInt(Math.trunc(n)).toString();
}

/** -1 (or any negative) is "no limit": "max" in v2 files. */
export function maxOr(n: number): string {
  return n < 0 ? 'max' : int(n);
}

/**
 * cpu.shares (2..262144, default 1024) -> cpu.weight (1..10000, default 100): the
 * linear map of one range onto the other; 0 stays 0 (unset).
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight (10..1000) -> io.weight (1..10000), linearly; 0 stays 0 (unset). */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * v1 memory.memsw (memory + swap) -> v2 memory.swap.max (swap alone). 0 is unset, -1
 * unlimited; unlimited memory with swap unset means unlimited swap too.
 */
export function memorySwapToV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) throw new HakoError('unable to set swap limit without memory limit');
  if (limit < 0) throw new HakoError(`invalid memory value: ${limit}`);
  if (swap < limit) throw new HakoError('memory+swap limit should be >= memory limit');
  return swap - limit;
}

/** v2 cpu.max from quota and period: "max" or the quota, then the period if one is set. */
export function cpuMax(quota: number, period: number): string {
  const q = quota > 0 ? int(quota) : 'max';
  return period > 0 ? `${q} ${int(period)}` : q;
}

/** An RDMA limit line: "<device> hca_handle=N hca_object=M" ("max" where unset). */
export function rdmaLine(device: string, limit: { hcaHandles?: number; hcaObjects?: number }): string {
  const handles = limit.hcaHandles === undefined ? 'max' : int(limit.hcaHandles);
  const objects = limit.hcaObjects === undefined ? 'max' : int(limit.hcaObjects);
  return `${device} hca_handle=${handles} hca_object=${objects}`;
}
