// The cgroup v1 driver: one directory per controller hierarchy (plus the cgroup2 one of a
// hybrid host, which only holds the processes).
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { HakoError } from '../errors.js';
import type { LinuxResources } from '../oci/types.js';
import type { Cgroup, CgroupRecord } from './cgroup.js';
import { checkMemoryBeforeUpdate, signalAllFrozen } from './cgroup.js';
import {
  addPidToCgroups,
  allProcs,
  cgroupFileExists,
  makeDirs,
  readCgroupFile,
  readCgroupFileIfAny,
  listHugePages,
  removeCgroupTree,
  sleepMs,
  writeCgroupFile,
} from './cgroupfs.js';
import { uniqueDirs } from './paths.js';
import { watchOomV1, type OomHandlers, type OomWatch } from './oom.js';
import { hugePageSizes, oomCount, v1Stats, type Stats } from './stats.js';
import { v1ResourceWrites, type ResourceOptions } from './v1-resources.js';

export class V1Cgroup implements Cgroup {
  readonly record: CgroupRecord;
  readonly dirs: string[];

  constructor(paths: Record<string, string>) {
    this.record = { driver: 'v1', paths };
    this.dirs = uniqueDirs(paths);
  }

  private get paths(): Record<string, string> {
    return this.record.paths;
  }

  /** The hierarchy whose directory says whether the cgroup exists (runc looks at "devices"). */
  get probeDir(): string {
    const p = this.paths;
    return p.devices ?? p.freezer ?? p.pids ?? p.memory ?? this.dirs[0]!;
  }

  exists(): boolean {
    return existsSync(this.probeDir);
  }

  get freezerDir(): string | undefined {
    return this.paths.freezer;
  }

  create(): string[] {
    const made: string[] = [];
    for (const dir of this.dirs) made.push(...makeDirs(dir));
    const cpuset = this.paths.cpuset;
    if (cpuset) {
      // A new cpuset has no cpus or mems, and a process cannot join it until it has:
      // copy them down from the parent at every level that is empty.
      for (const dir of [...made.filter((d) => cpuset === d || cpuset.startsWith(`${d}/`)), cpuset]) {
        for (const file of ['cpuset.cpus', 'cpuset.mems']) {
          if (readCgroupFileIfAny(dir, file) === '') writeCgroupFile(dir, file, readCgroupFile(dirname(dir), file));
        }
      }
    }
    return made;
  }

  place(pid: number): void {
    addPidToCgroups(this.dirs, pid);
  }

  setResources(resources: LinuxResources, opts: ResourceOptions = {}): void {
    const paths = this.paths;
    checkMemoryBeforeUpdate(resources, opts, () => (paths.memory ? readCgroupFileIfAny(paths.memory, 'memory.usage_in_bytes') : undefined));
    const writes = v1ResourceWrites(resources, { read: (c, f) => (paths[c] ? readCgroupFileIfAny(paths[c], f) : undefined) }, opts);
    for (const w of writes) {
      const dir = paths[w.controller];
      if (!dir && opts.skipMissing && w.controller !== 'devices') continue;
      if (!dir) throw new HakoError(`cannot set ${w.controller} limit: container could not join or create cgroup`);
      if (w.file === 'memory.memsw.limit_in_bytes' && !cgroupFileExists(dir, w.file)) {
        // No swap accounting on this kernel (swapaccount=0): nothing to lift, nothing to limit.
        if (w.value === '-1') continue;
        throw new HakoError(`cannot set a swap limit: ${dir}/${w.file} does not exist (swap accounting is off)`, { pointer: '/linux/resources/memory/swap' });
      }
      try {
        writeCgroupFile(dir, w.file, w.value);
      } catch (err) {
        throw explainWrite(dir, w.file, w.value, err);
      }
      if (w.file === 'cpu.shares') checkShares(dir, Number(w.value));
    }
  }

  freeze(): void {
    const dir = this.requireFreezer('pause');
    writeCgroupFile(dir, 'freezer.state', 'FROZEN');
    // FREEZING until every task stopped; a task stuck in the kernel can keep it there, so
    // thaw and try again now and then, as runc does.
    for (let i = 0; i < 1000; i++) {
      if (i > 0 && i % 50 === 0) {
        writeCgroupFile(dir, 'freezer.state', 'THAWED');
        sleepMs(1);
        writeCgroupFile(dir, 'freezer.state', 'FROZEN');
      }
      if (readCgroupFile(dir, 'freezer.state') === 'FROZEN') return;
      sleepMs(1);
    }
    writeCgroupFile(dir, 'freezer.state', 'THAWED');
    throw new HakoError(`unable to freeze: ${dir}/freezer.state stayed FREEZING`);
  }

  thaw(): void {
    const dir = this.requireFreezer('resume');
    writeCgroupFile(dir, 'freezer.state', 'THAWED');
    for (let i = 0; i < 1000 && readCgroupFile(dir, 'freezer.state') !== 'THAWED'; i++) sleepMs(1);
  }

  isFrozen(): boolean {
    const dir = this.paths.freezer;
    if (!dir) return false;
    for (let i = 0; i < 50; i++) {
      const state = readCgroupFileIfAny(dir, 'freezer.state');
      if (state !== 'FREEZING') return state === 'FROZEN';
      sleepMs(1);
    }
    return true;
  }

  /** Every hierarchy should hold the same processes; one moved by hand counts too. */
  pids(): number[] {
    const pids = new Set<number>();
    for (const dir of this.dirs) for (const pid of allProcs(dir)) pids.add(pid);
    return [...pids];
  }

  signalAll(signal: number): void {
    signalAllFrozen(this, signal, this.paths.freezer !== undefined && cgroupFileExists(this.paths.freezer, 'freezer.state'));
  }

  killAll(): void {
    this.signalAll(9);
  }

  destroy(): void {
    for (const dir of this.dirs) removeCgroupTree(dir);
  }
  stats(): Stats {
    const paths = this.paths;
    const sizes = paths.hugetlb ? hugePageSizes(listHugePages()) : [];
    return v1Stats((c, f) => (paths[c] ? readCgroupFileIfAny(paths[c], f) : undefined), sizes);
  }

  oomCount(): bigint | undefined {
    const dir = this.paths.memory;
    const text = dir ? readCgroupFileIfAny(dir, 'memory.oom_control') : undefined;
    return text === undefined ? undefined : oomCount(text);
  }

  watchOom(h: OomHandlers): OomWatch | undefined {
    const dir = this.paths.memory;
    return dir && cgroupFileExists(dir, 'memory.oom_control') ? watchOomV1(dir, h) : undefined;
  }

  private requireFreezer(what: string): string {
    const dir = this.paths.freezer;
    if (!dir) throw new HakoError(`cannot ${what} the container: the freezer cgroup is not mounted`);
    return dir;
  }
}

// The kernel clamps cpu.shares silently: read it back, as runc does.
function checkShares(dir: string, wanted: number): void {
  const got = Number(readCgroupFileIfAny(dir, 'cpu.shares'));
  if (Number.isNaN(got) || got === wanted) return;
  if (wanted > got) throw new HakoError(`the maximum allowed cpu-shares is ${got}`, { pointer: '/linux/resources/cpu/shares' });
  throw new HakoError(`the minimum allowed cpu-shares is ${got}`, { pointer: '/linux/resources/cpu/shares' });
}

// A memory limit below what the container uses is refused with EBUSY: say so.
function explainWrite(dir: string, file: string, value: string, err: unknown): unknown {
  if (file === 'memory.limit_in_bytes' && (err as HakoError).where?.errno === 'EBUSY') {
    const usage = readCgroupFileIfAny(dir, 'memory.usage_in_bytes') ?? '?';
    const peak = readCgroupFileIfAny(dir, 'memory.max_usage_in_bytes') ?? '?';
    return new HakoError(`unable to set memory limit to ${value} (current usage: ${usage}, peak usage: ${peak})`, { path: `${dir}/${file}` });
  }
  return err;
}
