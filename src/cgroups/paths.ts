// Where a container's cgroup is, decided as runc's cgroupfs drivers decide it. Pure
// functions of the host's texts (/proc/self/mountinfo, /proc/self/cgroup), so they are
// tested with any machine's layout.
//
// - linux.cgroupsPath absolute: that path under every hierarchy's mount point.
// - relative (and the default, the container id): under the cgroup the caller (hako) is
//   in, per hierarchy. So with hako at "/" in every hierarchy the default is "/<id>",
//   and a hako started inside a cgroup puts its containers below it, as runc does.
// - v1 (and hybrid): one directory per known controller hierarchy, keyed by controller
//   name as runc's state.json "cgroup_paths" ("name=systemd" for the named hierarchy;
//   "" for the cgroup2 hierarchy of a hybrid host, which runc joins too).
// - v2 (unified): one directory, keyed "".
import { posix } from 'node:path';
import { HakoError } from '../errors.js';
import { isCgroup2Unified, parseMountinfo, parseProcCgroup, type MountInfo } from '../plan/host.js';

export type CgroupDriver = 'v1' | 'v2';

/** The v1 controllers runc knows (and joins), plus its named systemd hierarchy. */
export const V1_CONTROLLERS = [
  'cpuset',
  'devices',
  'memory',
  'cpu',
  'cpuacct',
  'pids',
  'blkio',
  'hugetlb',
  'net_cls',
  'net_prio',
  'perf_event',
  'freezer',
  'rdma',
  'name=systemd',
] as const;

/** One hierarchy the container joins. */
export interface CgroupPlacement {
  /** the directory on the host */
  dir: string;
  /** the same cgroup as /proc/<pid>/cgroup names it (relative to the hierarchy's root) */
  cgroupPath: string;
}

export interface CgroupLayout {
  driver: CgroupDriver;
  /** controller (v1; "" the cgroup2 hierarchy of a hybrid host) or "" (v2) -> placement */
  placements: Record<string, CgroupPlacement>;
}

/** The mode of the host: cgroup2 mounted at /sys/fs/cgroup is the unified (v2) layout. */
export function detectDriver(mountinfo: string): CgroupDriver {
  return isCgroup2Unified(parseMountinfo(mountinfo)) ? 'v2' : 'v1';
}

/**
 * The path inside each hierarchy: linux.cgroupsPath as given (cleaned), or the container
 * id (relative) when it is empty. ".." may not climb above the hierarchy's root.
 */
export function innerPath(cgroupsPath: string | undefined, id: string): string {
  const raw = cgroupsPath && cgroupsPath !== '' ? cgroupsPath : id;
  const absolute = raw.startsWith('/');
  // Cleaned as a rooted path first, so ".." stops at the root (runc's CleanPath).
  const cleaned = posix.normalize(`/${raw}`).replace(/(.)\/+$/, '$1');
  if (absolute) return cleaned;
  const rel = cleaned.slice(1);
  if (rel === '') throw new HakoError(`invalid cgroupsPath ${JSON.stringify(cgroupsPath)}`, { pointer: '/linux/cgroupsPath' });
  return rel;
}

function placeUnder(mount: MountInfo, ownPath: string | undefined, inner: string): CgroupPlacement | undefined {
  if (inner.startsWith('/')) {
    return { dir: posix.join(mount.mountPoint, inner), cgroupPath: posix.join(mount.root, inner) };
  }
  if (ownPath === undefined) return undefined;
  // Our own cgroup is named from the hierarchy's root; the mount may show only a subtree.
  const belowMount = posix.relative(mount.root, ownPath);
  if (belowMount.startsWith('..')) return undefined;
  return {
    dir: posix.join(mount.mountPoint, belowMount, inner),
    cgroupPath: posix.join(ownPath, inner),
  };
}

/**
 * Where the container's cgroup goes on this host. `mountinfo` and `procCgroup` are the
 * texts of /proc/self/mountinfo and /proc/self/cgroup of the caller.
 */
export function cgroupLayout(mountinfo: string, procCgroup: string, inner: string): CgroupLayout {
  const mounts = parseMountinfo(mountinfo);
  const own = parseProcCgroup(procCgroup);
  const placements: Record<string, CgroupPlacement> = {};
  if (isCgroup2Unified(mounts)) {
    const top = mounts.filter((m) => m.mountPoint === '/sys/fs/cgroup').at(-1)!;
    const p = placeUnder(top, own.get(''), inner);
    if (!p) throw new HakoError('cannot find this process\'s cgroup in the cgroup v2 hierarchy at /sys/fs/cgroup');
    placements[''] = p;
    return { driver: 'v2', placements };
  }
  for (const controller of V1_CONTROLLERS) {
    // The first mount of a hierarchy that carries the controller (runc's choice too).
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
    if (!mount) continue;
    const p = placeUnder(mount, own.get(controller), inner);
    if (p) placements[controller] = p;
  }
  // The cgroup2 hierarchy of a hybrid host carries no controller but is joined as well.
  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  if (unified) {
    const p = placeUnder(unified, own.get(''), inner);
    if (p) placements[''] = p;
  }
  if (Object.keys(placements).length === 0) throw new HakoError('no cgroup hierarchy is mounted: cannot place the container in a cgroup');
  return { driver: 'v1', placements };
}

/** The directories of a layout (or of recorded paths), each once, in a stable order. */
export function uniqueDirs(paths: Record<string, string>): string[] {
  return [...new Set(Object.values(paths))];
}

export function layoutPaths(layout: CgroupLayout): Record<string, string> {
  return Object.fromEntries(Object.entries(layout.placements).map(([k, p]) => [k, p.dir]));
}

/**
 * /proc/<pid>/cgroup as a process placed by `layout` reads it: every hierarchy the
 * container joins shows its cgroup path; hierarchies it does not join keep the caller's.
 */
export function procCgroupFor(procCgroup: string, layout: CgroupLayout): string {
  return procCgroup
    .split('\n')
    .map((line) => {
      const first = line.indexOf(':');
      const second = line.indexOf(':', first + 1);
      if (first < 0 || second < 0) return line;
      const controllers = line.slice(first + 1, second);
      const key = controllers === '' ? '' : controllers.split(',').find((c) => layout.placements[c] !== undefined);
      const placement = key === undefined ? undefined : layout.placements[key];
      return placement ? line.slice(0, second + 1) + placement.cgroupPath : line;
    })
    .join('\n');
}
