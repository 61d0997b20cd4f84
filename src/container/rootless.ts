// Rootless mode, as runc decides it: the global --rootless flag ("true", "false", or
// runc's default "auto": rootless when hako does not run as root).
import { readFileSync } from 'node:fs';
import { HakoError } from '../errors.js';
import type { LinuxIDMapping, Spec } from '../oci/types.js';

/**
 * The global --rootless flag ("true", "false", "auto"; runc's default "auto": not root,
 * or root of a user namespace, as rootless podman runs its runtime).
 */
export function isRootless(flag: unknown, euid = process.geteuid?.() ?? 0, inUserNamespace = runsInUserNamespace): boolean {
  if (flag === 'true' || flag === true) return true;
  if (flag === 'false' || flag === false) return false;
  if (flag !== undefined && flag !== 'auto') throw new HakoError(`invalid --rootless value ${JSON.stringify(flag)}: one of "true", "false", "auto"`);
  return euid !== 0 || inUserNamespace();
}

export function runsInUserNamespace(): boolean {
  try {
    return !/^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    return false;
  }
}


// ---------------------------------------------------------------- id mappings

export interface RootlessCaller {
  euid: number;
  egid: number;
  /** the user's name, as /etc/subuid may list it instead of the uid */
  name?: string;
  /** the texts of /etc/subuid and /etc/subgid (undefined: no such file) */
  subuid?: string;
  subgid?: string;
}

/** The user's own id, mapped alone: the one mapping an unprivileged process may write itself. */
export function isOwnIdOnly(maps: readonly LinuxIDMapping[] | undefined, own: number): boolean {
  return maps !== undefined && maps.length === 1 && maps[0]!.hostID === own && maps[0]!.size === 1;
}

/** The ranges /etc/subuid (or subgid) gives the user, by name or by uid, as shadow's tools read them. */
export function subordinateRanges(text: string | undefined, name: string | undefined, id: number): Array<{ start: number; count: number }> {
  const out: Array<{ start: number; count: number }> = [];
  for (const line of (text ?? '').split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner === undefined || start === undefined || count === undefined) continue;
    if (owner !== name && owner !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/**
 * What an unprivileged hako can map: the user's own id, and the ranges of /etc/subuid and
 * /etc/subgid (through newuidmap/newgidmap). Every other host id is refused here, before
 * anything is made, naming the mapping.
 */
export function checkRootlessMappings(spec: Spec, caller: RootlessCaller): void {
  const userns = (spec.linux?.namespaces ?? []).find((n) => n.type === 'user');
  if (userns === undefined) {
    throw new HakoError('rootless container requires user namespaces: add {"type": "user"} with uidMappings and gidMappings (hako spec --rootless)', { pointer: '/linux/namespaces' });
  }
  (spec.mounts ?? []).forEach((m, i) => {
    const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
    const idmapped = m.uidMappings !== undefined || m.gidMappings !== undefined || (m.options ?? []).some((o) => o === 'idmap' || o === 'ridmap');
    if (bind && idmapped) {
      throw new HakoError(`/mounts/${i}: an id-mapped bind mount needs root on the host: mount_setattr(MOUNT_ATTR_IDMAP) wants CAP_SYS_ADMIN over the filesystem`, { pointer: `/mounts/${i}` });
    }
  });
  if (userns.path) return; // a joined one: its mappings are made already
  const sides = [
    ['uid', spec.linux?.uidMappings, caller.euid, caller.subuid, '/etc/subuid', '/linux/uidMappings'],
    ['gid', spec.linux?.gidMappings, caller.egid, caller.subgid, '/etc/subgid', '/linux/gidMappings'],
  ] as const;
  for (const [kind, maps, own, sub, file, at] of sides) {
    if (maps === undefined || isOwnIdOnly(maps, own)) continue;
    const ranges = subordinateRanges(sub, caller.name, own);
    maps.forEach((m, k) => {
      const end = m.hostID + m.size;
      const inOwn = m.hostID === own && m.size === 1;
      const inSub = ranges.some((r) => m.hostID >= r.start && end <= r.start + r.count);
      if (inOwn || inSub) return;
      const have = ranges.length > 0 ? ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ') : 'none';
      throw new HakoError(
        `${at}/${k}: host ${kind}s ${m.hostID}-${end - 1} are not yours to map: your ${kind} is ${own} and your subordinate ${kind}s in ${file} are ${have}`,
        { pointer: `${at}/${k}` },
      );
    });
  }
}

