// What the parent writes for a container that creates a user namespace:
// /proc/<pid>/uid_map, /proc/<pid>/gid_map, and, first, /proc/<pid>/setgroups.
import type { LinuxIDMapping, Spec } from '../oci/types.js';

export interface IdMaps {
  /** "containerID hostID size\n" per mapping */
  uidMap: string;
  gidMap: string;
  /** "deny" must be written to setgroups before gid_map; undefined: leave it */
  setgroups?: 'deny';
}

export interface IdMapCaller {
  /** hako's effective uid and gid */
  euid: number;
  egid: number;
}

function mapText(maps: readonly LinuxIDMapping[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** The ids of the running process: idMaps()'s default caller. */
export function currentCaller(): IdMapCaller {
  return { euid: process.geteuid?.() ?? 0, egid: process.getegid?.() ?? 0 };
}

/**
 * The id maps of the container's new user namespace (linux.uidMappings and
 * gidMappings; empty texts when there are none). Only meaningful when the plan has
 * FLAG_USERNS_MAPS. setgroups is "deny" as runc writes it: for a rootless caller
 * (euid != 0) whose gid mapping is exactly its own egid as 0, the one mapping an
 * unprivileged process may write, and only after denying setgroups.
 */
export function idMaps(spec: Spec, caller: IdMapCaller = currentCaller()): IdMaps {
  const out: IdMaps = { uidMap: mapText(spec.linux?.uidMappings), gidMap: mapText(spec.linux?.gidMappings) };
  const gids = spec.linux?.gidMappings ?? [];
  const selfOnly = gids.length === 1 && gids[0]!.containerID === 0 && gids[0]!.hostID === caller.egid && gids[0]!.size === 1;
  if (caller.euid !== 0 && selfOnly) out.setgroups = 'deny';
  return out;
}
