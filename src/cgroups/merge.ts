// update: the resources a container ends up with are its current ones with the update's
// fields laid over them, section by section (memory, cpu, ...); a list (a device list, a
// throttle list, hugepage limits) is replaced as a whole. So "--cpu-quota" alone keeps
// the period, as runc keeps it.
import type { LinuxResources } from '../oci/types.js';

type Section = Record<string, unknown>;

function overlay<T extends object>(base: T | undefined, top: T | undefined): T | undefined {
  if (top === undefined) return base;
  if (base === undefined) return top;
  return { ...(base as Section), ...(top as Section) } as T;
}

export function mergeResources(current: LinuxResources, update: LinuxResources): LinuxResources {
  const out: LinuxResources = { ...current };
  const set = <K extends keyof LinuxResources>(key: K, value: LinuxResources[K] | undefined): void => {
    if (value === undefined) delete out[key];
    else out[key] = value;
  };
  set('memory', overlay(current.memory, update.memory));
  set('cpu', overlay(current.cpu, update.cpu));
  set('pids', overlay(current.pids, update.pids));
  set('blockIO', overlay(current.blockIO, update.blockIO));
  set('network', overlay(current.network, update.network));
  set('rdma', overlay(current.rdma, update.rdma));
  set('unified', overlay(current.unified, update.unified));
  if (update.hugepageLimits !== undefined) out.hugepageLimits = update.hugepageLimits;
  if (update.devices !== undefined) out.devices = update.devices;
  return out;
}
