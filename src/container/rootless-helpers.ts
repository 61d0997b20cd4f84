// What only a rootless create needs, loaded only then: the caller's name and subordinate
// ids, and newuidmap/newgidmap (node:child_process and node:os cost a create or run
// 0.4 and 0.2 ms to load in the brain's engine).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { HakoError } from '../errors.js';
import type { LinuxIDMapping } from '../oci/types.js';
import type { RootlessCaller } from './rootless.js';

/** The caller of a rootless create: ids, name, and the subordinate id files. */
export function rootlessCaller(): RootlessCaller {
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  const euid = process.geteuid?.() ?? 0;
  // The name from /etc/passwd (Bun's userInfo() may take it from the environment).
  const passwd = (read('/etc/passwd') ?? '').split('\n').find((l) => l.split(':')[2] === String(euid));
  let name = passwd?.split(':')[0];
  if (!name) {
    try {
      name = userInfo().username || undefined;
    } catch {
      // no passwd entry: subordinate ids by uid only
    }
  }
  return { euid, egid: process.getegid?.() ?? 0, name, subuid: read('/etc/subuid'), subgid: read('/etc/subgid') };
}

/**
 * Writes a uid or gid map of `pid` with newuidmap/newgidmap (shadow's setuid helpers, the
 * Debian package uidmap), as runc does for mappings beyond the user's own id. Its words
 * when it is missing or refuses.
 */
export function writeMapWithHelper(kind: 'uid' | 'gid', pid: number, maps: readonly LinuxIDMapping[]): void {
  const tool = kind === 'uid' ? 'newuidmap' : 'newgidmap';
  const at = kind === 'uid' ? '/linux/uidMappings' : '/linux/gidMappings';
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  const r = spawnSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `${tool} not found in $PATH (it is in the package uidmap)` : `${tool}: ${r.error.message}`;
    throw new HakoError(`unable to start container process: ${at} maps more than your own ${kind}: ${why}`, { pointer: at });
  }
  if (r.status !== 0) {
    const said = (r.stderr || r.stdout).trim().replace(/\s*\n\s*/g, '; ');
    throw new HakoError(`unable to start container process: ${tool} ${args.join(' ')}: exit status ${r.status ?? r.signal}${said ? `: ${said}` : ''}`, { pointer: at });
  }
}
