// The systemd cgroup driver (--systemd-cgroup), as runc's: linux.cgroupsPath is
// "slice:prefix:name" (empty: slice system.slice, prefix "runc", name the container id);
// the container gets a transient scope unit "<prefix>-<name>.scope" in that slice, made by
// systemd over D-Bus with the container's first process in it and Delegate=yes; its
// resources are unit properties where systemd has them (so systemd keeps them) and are
// written to the cgroup files as well, as the cgroupfs drivers write them, for the rest.
// The scope's directories are then those of a cgroupfs container (the slice's path, as
// systemd expands it, under each hierarchy): pause, resume, ps, kill, events and stats work
// on them unchanged; delete stops the unit (cpp/front/verbs.cc, through the addon).
//
// Pure functions here (names, paths, properties) are unit-tested; the D-Bus calls are the
// addon's (cpp/addon/systemd.cc), loaded only by this driver.
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import type { LinuxResources } from '../oci/types.js';
import type { UnitProperty } from '../native.js';
import { cpuSharesToWeight, blkioWeightToIoWeight, memorySwapToV2 } from './convert.js';
import { applyDeviceRules, containerDeviceRules, type DeviceRule } from './devices.js';
import { parseProcCgroup } from '../plan/host.js';
import type { CgroupDriver } from './paths.js';

/** What the record keeps of the container's unit. */
export interface SystemdRecord {
  /** the scope (or slice) unit, e.g. "runc-<id>.scope" */
  unit: string;
  /** the slice it is in, e.g. "system.slice" */
  slice: string;
  /**
   * the unit's directory in the hierarchy systemd tracks units by (v1: name=systemd; v2:
   * the one): once it is gone, so is the unit, and delete needs no D-Bus (the front does it)
   */
  cgroup?: string;
}

export interface SystemdCgroupsPath {
  /** the slice as given ("" : the default) */
  parent: string;
  prefix: string;
  name: string;
}

/** linux.cgroupsPath for the systemd driver, with runc's defaults and its error. */
export function parseSystemdCgroupsPath(cgroupsPath: string | undefined, id: string): SystemdCgroupsPath {
  if (!cgroupsPath) return { parent: '', prefix: 'runc', name: id };
  const parts = cgroupsPath.split(':');
  if (parts.length !== 3) {
    throw new HakoError(
      `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)} instead`,
      { pointer: '/linux/cgroupsPath' },
    );
  }
  return { parent: parts[0]!, prefix: parts[1]!, name: parts[2]! };
}

/** The unit: "<prefix>-<name>.scope", or the name itself when it is a slice (runc's getUnitName). */
export function unitName(p: SystemdCgroupsPath): string {
  return p.name.endsWith('.slice') ? p.name : `${p.prefix}-${p.name}.scope`;
}

/** The slice the unit goes in: the given one, else system.slice (root; runc's default). */
export function sliceOf(p: SystemdCgroupsPath): string {
  return p.parent === '' ? 'system.slice' : p.parent;
}

/**
 * A slice's cgroup path as systemd makes it: "a-b.slice" is /a.slice/a-b.slice, "-.slice"
 * is the root. runc's rules and error for names it refuses.
 */
export function expandSlice(slice: string): string {
  const invalid = (): HakoError => new HakoError(`invalid slice name: ${slice}`, { pointer: '/linux/cgroupsPath' });
  if (slice.length < '.slice'.length || !slice.endsWith('.slice') || slice.includes('/')) throw invalid();
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-') return '/';
  let path = '';
  let prefix = '';
  for (const component of base.split('-')) {
    if (component === '') throw invalid();
    path += `/${prefix}${component}.slice`;
    prefix += `${component}-`;
  }
  return path;
}

/**
 * The unit's cgroup path in the hierarchies: under the cgroup of systemd (PID 1; its own
 * init.scope left out, as runc does), the expanded slice, then the unit.
 */
export function unitCgroupPath(pid1Cgroup: string, slice: string, unit: string): string {
  const own = parseProcCgroup(pid1Cgroup);
  const init = own.get('name=systemd') ?? own.get('') ?? '/';
  const base = posix.normalize(init).replace(/\/?init\.scope$/, '') || '/';
  return posix.join(base, expandSlice(slice), unit);
}

/** Whether systemd runs this host (runc's test, as sd_booted: /run/systemd/system is a directory). */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

export function readPid1Cgroup(): string {
  try {
    return readFileSync('/proc/1/cgroup', 'utf8');
  } catch (err) {
    throw fromSystemError(err);
  }
}

// ---------------------------------------------------------------- properties

/** USEC_INFINITY: no CPU quota */
const USEC_INFINITY = 0xffffffffffffffffn;
const DEFAULT_CPU_PERIOD = 100000;

/**
 * The properties of a new unit: where it goes, its process, accounting, the annotations'
 * (`extra`), then its resources (runc's order: runc sets the resources after the start, so
 * they win over an annotation that names the same property).
 */
export function startProperties(
  unit: string,
  slice: string,
  name: string,
  pid: number,
  resources: LinuxResources,
  driver: CgroupDriver,
  extra: readonly UnitProperty[] = [],
  devices: DeviceLookup = hostDeviceLookup,
): UnitProperty[] {
  const props: UnitProperty[] = [['Description', 's', `libcontainer container ${name}`]];
  // A slice's parent is wanted; a scope is put in its slice, and delegated.
  if (unit.endsWith('.slice')) props.push(['Wants', 'as', [slice]]);
  else props.push(['Slice', 's', slice], ['Delegate', 'b', true]);
  props.push(['PIDs', 'au', [pid]]);
  props.push(
    ['MemoryAccounting', 'b', true],
    ['CPUAccounting', 'b', true],
    driver === 'v2' ? ['IOAccounting', 'b', true] : ['BlockIOAccounting', 'b', true],
    ['TasksAccounting', 'b', true],
    ['DefaultDependencies', 'b', false],
  );
  return [...props, ...extra, ...resourceProperties(resources, driver, devices)];
}

/**
 * linux.resources as unit properties: the devices (DevicePolicy and DeviceAllow), memory,
 * CPU weight or shares, quota and period, cpuset, tasks and IO weight. On "v1" (legacy and
 * hybrid hosts) systemd's v1 names (MemoryLimit, CPUShares, BlockIOWeight), on "v2" its
 * unified ones. What systemd has no property for is only written to the cgroup files.
 */
export function resourceProperties(r: LinuxResources, driver: CgroupDriver, devices: DeviceLookup = hostDeviceLookup): UnitProperty[] {
  const props: UnitProperty[] = [...deviceProperties(r, devices)];
  const limit = r.memory?.limit ?? 0;
  if (driver === 'v1') {
    if (limit !== 0) props.push(['MemoryLimit', 't', u64(limit)]);
    if (r.cpu?.shares) props.push(['CPUShares', 't', r.cpu.shares]);
  } else {
    if (limit !== 0) props.push(['MemoryMax', 't', u64(limit)]);
    if (r.memory?.reservation) props.push(['MemoryLow', 't', u64(r.memory.reservation)]);
    const swap = memorySwapToV2(r.memory?.swap ?? 0, limit);
    if (swap !== 0) props.push(['MemorySwapMax', 't', u64(swap)]);
    if (r.cpu?.shares) props.push(['CPUWeight', 't', cpuSharesToWeight(r.cpu.shares)]);
  }
  props.push(...cpuQuotaProperties(r.cpu?.quota ?? 0, r.cpu?.period ?? 0));
  if (driver === 'v1') {
    if (r.blockIO?.weight) props.push(['BlockIOWeight', 't', r.blockIO.weight]);
  } else if (r.blockIO?.weight) {
    props.push(['IOWeight', 't', blkioWeightToIoWeight(r.blockIO.weight)]);
  }
  const pids = r.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) props.push(['TasksMax', 't', u64(pids)]);
  if (r.cpu?.cpus) props.push(['AllowedCPUs', 'ay', rangeToBits(r.cpu.cpus, '/linux/resources/cpu/cpus')]);
  if (r.cpu?.mems) props.push(['AllowedMemoryNodes', 'ay', rangeToBits(r.cpu.mems, '/linux/resources/cpu/mems')]);
  return props;
}

/** -1 is systemd's infinity (all bits set), as runc passes it. */
function u64(n: number): bigint {
  return n < 0 ? 0xffffffffffffffffn : BigInt(Math.trunc(n));
}

/**
 * CPUQuotaPeriodUSec and CPUQuotaPerSecUSec (runc's addCpuQuota): the quota per second of
 * CPU time, rounded up to whole percent (10 ms) as systemd keeps it.
 */
export function cpuQuotaProperties(quota: number, period: number): UnitProperty[] {
  const props: UnitProperty[] = [];
  if (period !== 0) props.push(['CPUQuotaPeriodUSec', 't', period]);
  if (quota !== 0 || period !== 0) {
    let perSec = USEC_INFINITY;
    if (quota > 0) {
      const p = BigInt(period === 0 ? DEFAULT_CPU_PERIOD : period);
      perSec = (BigInt(quota) * 1000000n) / p;
      if (perSec % 10000n !== 0n) perSec = (perSec / 10000n + 1n) * 10000n;
    }
    props.push(['CPUQuotaPerSecUSec', 't', perSec]);
  }
  return props;
}

/** "0-2,7" as systemd's CPU (or node) mask: byte i bit j is number 8i+j. */
export function rangeToBits(list: string, pointer: string): number[] {
  const bytes: number[] = [];
  for (const part of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    if (!m || hi < lo || hi > 8191) throw new HakoError(`invalid range ${JSON.stringify(list)}`, { pointer });
    for (let n = lo; n <= hi; n++) {
      while (bytes.length <= n >> 3) bytes.push(0);
      bytes[n >> 3]! |= 1 << (n & 7);
    }
  }
  return bytes;
}

/** How device rules become DeviceAllow entries: /proc/devices groups and existing nodes. */
export interface DeviceLookup {
  /** "char-pts" for (c, 136): the group of a major in /proc/devices, if any */
  group(type: 'c' | 'b', major: number): string | undefined;
  exists(path: string): boolean;
}

export const hostDeviceLookup: DeviceLookup = {
  group(type, major) {
    let text: string;
    try {
      text = readFileSync('/proc/devices', 'utf8');
    } catch {
      return undefined;
    }
    let section: 'c' | 'b' | undefined;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === 'Character devices:') section = 'c';
      else if (line === 'Block devices:') section = 'b';
      const m = /^(\d+)\s+(\S+)$/.exec(line);
      if (m && section === type && Number(m[1]) === major) return `${type === 'c' ? 'char' : 'block'}-${m[2]}`;
    }
    return undefined;
  },
  exists: (path) => existsSync(path),
};

/**
 * The container's device rules (deny-all first, its own, runc's defaults: devices.ts) as
 * DevicePolicy=strict and the DeviceAllow list that results. Everything allowed:
 * DevicePolicy=auto with no list. A deny list systemd cannot express: strict with no list
 * (the cgroup files carry the real rules, as runc does). "*:n" rules, a major without a
 * /proc/devices group and nodes that do not exist cannot be named: left to the files.
 */
export function deviceProperties(r: LinuxResources, lookup: DeviceLookup): UnitProperty[] {
  const state = applyDeviceRules(containerDeviceRules(r.devices));
  if (state.defaultAllow) {
    if (state.exceptions.length === 0) return [['DevicePolicy', 's', 'auto'], ['DeviceAllow', 'a(ss)', []]];
    return [['DevicePolicy', 's', 'strict'], ['DeviceAllow', 'a(ss)', []]];
  }
  const allow: [string, string][] = [];
  for (const e of state.exceptions) {
    const entry = deviceAllowEntry(e, lookup);
    if (entry) allow.push([entry, e.access]);
  }
  // The list is emptied first, then filled: an update replaces it rather than adding to it.
  return [['DevicePolicy', 's', 'strict'], ['DeviceAllow', 'a(ss)', []], ['DeviceAllow', 'a(ss)', allow]];
}

function deviceAllowEntry(e: DeviceRule, lookup: DeviceLookup): string | undefined {
  if (e.type === 'a') return undefined;
  const kind = e.type === 'c' ? 'char' : 'block';
  if (e.major < 0) return e.minor < 0 ? `${kind}-*` : undefined;
  if (e.minor < 0) return lookup.group(e.type, e.major);
  const path = `/dev/${kind}/${e.major}:${e.minor}`;
  return lookup.exists(path) || lookup.exists(`/sys${path}`) ? path : undefined;
}
