// A config mount of type "cgroup" becomes what runc makes of it:
// - cgroup v2 (unified): one cgroup2 mount at the destination.
// - cgroup v1 or hybrid: a tmpfs at the destination, then one mount per v1 hierarchy
//   at <destination>/<basename of the host mount point>: a read-only-if-asked bind of
//   the host directory of this process's own cgroup in that hierarchy or, with a cgroup
//   namespace, a fresh cgroup mount of the hierarchy; then, for co-mounted controllers
//   ("cpu,cpuacct"), a link per controller to the shared directory. The v2 "unified"
//   hierarchy of a hybrid host is not mounted (runc does not either).
// The hierarchies are found as runc finds them: the "cgroup" mounts of mountinfo, in
// order, each kept if it holds a controller of /proc/self/cgroup not already seen.
import { posix } from 'node:path';
import { HakoError } from '../errors.js';
import { MS, MountExt, type PlanMount, type PlanSymlink } from './launch-plan.js';
import { type MountInfo, isCgroup2Unified, parseMountinfo, parseProcCgroup } from './host.js';

/** MS_NOEXEC|MS_NOSUID|MS_NODEV: the flags of the tmpfs and the fresh v1 mounts. */
const DEFAULT_CGROUP_FLAGS = MS.NOEXEC | MS.NOSUID | MS.NODEV;

export interface CgroupHost {
  mountinfo: string;
  cgroup: string;
}

export interface CgroupExpansion {
  mounts: PlanMount[];
  symlinks: PlanSymlink[];
}

interface V1Hierarchy {
  mountPoint: string;
  root: string;
  /** controllers, "name=" stripped ("systemd") */
  subsystems: string[];
}

/** The v1 hierarchies this process sees, one per set of controllers. */
export function v1Hierarchies(mounts: readonly MountInfo[], procCgroup: Map<string, string>): V1Hierarchy[] {
  const seen = new Map<string, boolean>([...procCgroup.keys()].map((k) => [k, false]));
  const out: V1Hierarchy[] = [];
  let found = 0;
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    const subsystems: string[] = [];
    for (const opt of m.superOptions) {
      if (!seen.has(opt) || seen.get(opt)) continue;
      seen.set(opt, true);
      subsystems.push(opt.startsWith('name=') ? opt.slice('name='.length) : opt);
      found++;
    }
    if (subsystems.length > 0) out.push({ mountPoint: m.mountPoint, root: m.root, subsystems });
    if (found >= seen.size) break;
  }
  return out;
}

function ownCgroup(h: V1Hierarchy, procCgroup: Map<string, string>): string {
  const sub = h.subsystems[0]!;
  const path = procCgroup.get(sub) ?? procCgroup.get(`name=${sub}`);
  if (path === undefined) throw new HakoError(`cgroup mount: no cgroup path for "${sub}" in /proc/self/cgroup`);
  return path;
}

/**
 * Expands the config's cgroup mount `m` (already parsed: flags, propagation, source,
 * destination). `cgroupns`: the container has a cgroup namespace (new or joined).
 */
export function expandCgroupMount(m: PlanMount, host: CgroupHost, cgroupns: boolean): CgroupExpansion {
  const mounts = parseMountinfo(host.mountinfo);
  if (isCgroup2Unified(mounts)) {
    return { mounts: [{ ...m, type: 'cgroup2' }], symlinks: [] };
  }

  const procCgroup = parseProcCgroup(host.cgroup);
  const hierarchies = v1Hierarchies(mounts, procCgroup);
  const out: PlanMount[] = [
    {
      flags: DEFAULT_CGROUP_FLAGS,
      propagation: m.propagation,
      attrSet: 0n,
      attrClr: 0n,
      ext: 0,
      source: 'tmpfs',
      destination: m.destination,
      type: 'tmpfs',
      data: 'mode=755',
    },
  ];
  const symlinks: PlanSymlink[] = [];

  for (const h of hierarchies) {
    const name = posix.basename(h.mountPoint);
    const destination = posix.join(m.destination, name);
    if (cgroupns) {
      const systemd = name === 'systemd';
      out.push({
        flags: DEFAULT_CGROUP_FLAGS | (m.flags & MS.RDONLY),
        propagation: 0n,
        attrSet: 0n,
        attrClr: 0n,
        ext: 0,
        source: systemd ? 'systemd' : 'cgroup',
        destination,
        type: 'cgroup',
        data: systemd ? 'name=systemd' : name,
      });
    } else {
      const rel = posix.relative(h.root, ownCgroup(h, procCgroup));
      out.push({
        flags: MS.BIND | MS.REC | m.flags,
        propagation: m.propagation,
        attrSet: 0n,
        attrClr: 0n,
        ext: MountExt.BIND,
        source: posix.join(h.mountPoint, rel),
        destination,
        type: 'bind',
        data: '',
      });
    }
  }

  for (const h of hierarchies) {
    const name = posix.basename(h.mountPoint);
    if (!name.includes(',')) continue;
    for (const sub of name.split(',')) symlinks.push({ target: name, link: posix.join(m.destination, sub) });
  }
  return { mounts: out, symlinks };
}
