// The cgroup v2 driver: one directory; the controllers a resource needs are enabled in
// cgroup.subtree_control of every ancestor up from the mount's root; cgroup.freeze and
// cgroup.events for pause; cgroup.kill to kill everything at once; the device rules as an
// eBPF program attached to the directory (device-program.ts).
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
import type { ResourceOptions } from './v1-resources.js';
import { v2ResourceWrites } from './v2-resources.js';
import { applyDeviceRules, containerDeviceRules, type DeviceState } from './devices.js';
import { attachDeviceProgram } from './device-program.js';
import { watchOomV2, type OomHandlers, type OomWatch } from './oom.js';
import { hugePageSizes, oomCount, v2Stats, type Stats } from './stats.js';

export class V2Cgroup implements Cgroup {
  readonly record: CgroupRecord;
  readonly dirs: string[];
  private readonly dir: string;

  /**
   * `attachDevices` puts the device state in force on the directory (default: the addon
   * builds a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it); tests pass their own.
   */
  constructor(
    paths: Record<string, string>,
    private readonly attachDevices: (dir: string, state: DeviceState) => void = attachDeviceProgram,
  ) {
    const dir = paths[''];
    if (!dir) throw new HakoError('cgroup v2: no cgroup directory recorded');
    this.record = { driver: 'v2', paths };
    this.dirs = [dir];
    this.dir = dir;
  }

  get probeDir(): string {
    return this.dir;
  }

  get freezerDir(): string {
    return this.dir;
  }

  exists(): boolean {
    return existsSync(this.dir);
  }

  create(): string[] {
    const made = makeDirs(this.dir);
    // Every ancestor inside the hierarchy (those with cgroup.controllers), from the root down.
    const ancestors: string[] = [];
    for (let d = dirname(this.dir); d !== dirname(d) && cgroupFileExists(d, 'cgroup.controllers'); d = dirname(d)) ancestors.unshift(d);
    for (const dir of ancestors) enableControllers(dir);
    return made;
  }

  place(pid: number): void {
    addPidToCgroups([this.dir], pid);
  }

  setResources(resources: LinuxResources, opts: ResourceOptions = {}): void {
    const dir = this.dir;
    checkMemoryBeforeUpdate(resources, opts, () => readCgroupFileIfAny(dir, 'memory.current'));
    for (const w of v2ResourceWrites(resources, { read: (_c, f) => readCgroupFileIfAny(dir, f) }, opts)) {
      if (!cgroupFileExists(dir, w.file)) {
        const controller = w.file.split('.')[0]!;
        throw new HakoError(`cannot set ${w.file}: the ${controller} controller is not available in ${dir} (cgroup.controllers: ${readCgroupFileIfAny(dir, 'cgroup.controllers') || 'none'})`, {
          path: `${dir}/${w.file}`,
        });
      }
      writeCgroupFile(dir, w.file, w.value);
    }
    // No devices.allow on v2: the rules (deny-all, the config's, runc's defaults) become a
    // device program. Only a config that allows every device attaches none on create.
    if (!opts.skipDevices && (resources.devices !== undefined || !opts.update)) {
      const target = applyDeviceRules(containerDeviceRules(resources.devices));
      const unrestricted = target.defaultAllow && target.exceptions.length === 0;
      if (!(unrestricted && !opts.update)) this.attachDevices(dir, target);
    }
  }

  freeze(): void {
    this.setFrozen('1');
  }

  thaw(): void {
    this.setFrozen('0');
  }

  isFrozen(): boolean {
    return readCgroupFileIfAny(this.dir, 'cgroup.freeze') === '1';
  }

  pids(): number[] {
    return allProcs(this.dir);
  }

  signalAll(signal: number): void {
    signalAllFrozen(this, signal, cgroupFileExists(this.dir, 'cgroup.freeze'));
  }

  killAll(): void {
    if (cgroupFileExists(this.dir, 'cgroup.kill')) writeCgroupFile(this.dir, 'cgroup.kill', '1');
    else this.signalAll(9);
  }

  destroy(): void {
    removeCgroupTree(this.dir);
  }
  stats(): Stats {
    const dir = this.dir;
    const sizes = hugePageSizes(listHugePages()).filter((s) => cgroupFileExists(dir, `hugetlb.${s}.current`));
    return v2Stats((f) => readCgroupFileIfAny(dir, f), sizes);
  }

  oomCount(): bigint | undefined {
    const text = readCgroupFileIfAny(this.dir, 'memory.events');
    return text === undefined ? undefined : oomCount(text);
  }

  watchOom(h: OomHandlers): OomWatch | undefined {
    return cgroupFileExists(this.dir, 'memory.events') ? watchOomV2(this.dir, h) : undefined;
  }

  private setFrozen(value: '0' | '1'): void {
    if (!cgroupFileExists(this.dir, 'cgroup.freeze')) throw new HakoError(`cgroup.freeze is not available in ${this.dir} (kernel 5.2 or later)`);
    writeCgroupFile(this.dir, 'cgroup.freeze', value);
    // cgroup.events says "frozen 1" once every process stopped.
    for (let i = 0; i < 2000; i++) {
      const events = readCgroupFile(this.dir, 'cgroup.events');
      if (new RegExp(`^frozen ${value}$`, 'm').test(events)) return;
      sleepMs(1);
    }
    if (value === '1') {
      writeCgroupFile(this.dir, 'cgroup.freeze', '0');
      throw new HakoError(`unable to freeze: ${this.dir}/cgroup.events never said frozen`);
    }
  }
}

/** "+<controller>" in cgroup.subtree_control for each controller the cgroup offers and has not enabled. */
function enableControllers(dir: string): void {
  const available = (readCgroupFileIfAny(dir, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
  const enabled = new Set((readCgroupFileIfAny(dir, 'cgroup.subtree_control') ?? '').split(/\s+/).filter(Boolean));
  for (const c of available) {
    if (enabled.has(c)) continue;
    try {
      writeCgroupFile(dir, 'cgroup.subtree_control', `+${c}`);
    } catch {
      // Not every controller can be enabled everywhere (a domain controller under a cgroup
      // with processes of its own, a threaded subtree): a resource that needs it will say so.
    }
  }
}
