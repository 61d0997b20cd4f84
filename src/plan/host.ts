// The host facts a plan depends on, and the parsers for the /proc files they come from.
// buildLaunchPlan() never reads a file: the caller reads the facts (readHostFacts(), the
// one function in src/plan/ that touches the filesystem) and passes them in, so every
// decision can be tested with another machine's texts.
import { existsSync, readFileSync } from 'node:fs';

export interface HostFacts {
  /** The text of /proc/self/mountinfo. */
  mountinfo: string;
  /**
   * The text of /proc/<pid>/cgroup as the container's init will read it: runc expands
   * the cgroup v1 mount inside the init, after it joined the container's cgroup, so
   * the binds show the container's own cgroup. /proc/self/cgroup of hako shows hako's;
   * procCgroupAt() rewrites it to the container's path.
   */
  cgroup: string;
  /** /proc/kcore exists (CONFIG_PROC_KCORE): /dev/core links to it. */
  hasProcKcore: boolean;
  /** hako itself runs in a user namespace (devices must be bind-mounted). Default false. */
  inUserNamespace?: boolean;
  /** /proc/sys/kernel/cap_last_cap: capabilities above it are left out. Default: all hako knows. */
  capLastCap?: number;
}

/** Reads the host facts of the running process. */
export function readHostFacts(): HostFacts {
  const facts: HostFacts = {
    mountinfo: readFileSync('/proc/self/mountinfo', 'utf8'),
    cgroup: readFileSync('/proc/self/cgroup', 'utf8'),
    hasProcKcore: existsSync('/proc/kcore'),
    inUserNamespace: isUidMapNested(readOptional('/proc/self/uid_map')),
  };
  const last = readCapLastCap();
  if (last !== undefined) facts.capLastCap = last;
  return facts;
}

/** /proc/sys/kernel/cap_last_cap alone (exec's plan needs nothing else of the host's facts). */
export function readCapLastCap(): number | undefined {
  const last = Number.parseInt(readOptional('/proc/sys/kernel/cap_last_cap') ?? '', 10);
  return Number.isInteger(last) ? last : undefined;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** True unless uid_map is the initial namespace's "0 0 4294967295" (or unreadable). */
export function isUidMapNested(uidMap: string | undefined): boolean {
  if (uidMap === undefined) return false;
  const lines = uidMap.trim().split('\n');
  return !(lines.length === 1 && lines[0]!.trim().split(/\s+/).join(' ') === '0 0 4294967295');
}

// ---------------------------------------------------------------- mountinfo

export interface MountInfo {
  /** the root of the mount within its filesystem (4th field) */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  /** per-superblock options, split on "," */
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo (most fields have none).
function unescapeOctal(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Parses /proc/<pid>/mountinfo (proc(5)); lines it cannot read are skipped. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash < 0 || fields.length < dash + 4) continue;
    out.push({
      root: unescapeOctal(fields[3]!),
      mountPoint: unescapeOctal(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescapeOctal(fields[dash + 2]!),
      superOptions: fields[dash + 3]!.split(','),
    });
  }
  return out;
}

// ---------------------------------------------------------------- /proc/self/cgroup

/**
 * Parses /proc/<pid>/cgroup ("id:controllers:path" lines) into controller -> path.
 * Each controller of a line gets the line's path; "name=systemd" keeps its prefix; the
 * v2 line ("0::/path") is the key "".
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const path = line.slice(second + 1);
    for (const c of line.slice(first + 1, second).split(',')) out.set(c, path);
  }
  return out;
}

/**
 * /proc/<pid>/cgroup text with every hierarchy's path replaced by `path` (absolute):
 * what a process placed at `path` in every hierarchy (the cgroupfs driver's layout)
 * reads. Lines keep their order and controllers.
 */
export function procCgroupAt(text: string, path: string): string {
  return text
    .split('\n')
    .map((line) => {
      const second = line.indexOf(':', line.indexOf(':') + 1);
      return line.indexOf(':') < 0 || second < 0 ? line : line.slice(0, second + 1) + path;
    })
    .join('\n');
}

/** cgroup v2 unified mode: the mount at /sys/fs/cgroup (the topmost one) is cgroup2. */
export function isCgroup2Unified(mounts: readonly MountInfo[]): boolean {
  const top = mounts.filter((m) => m.mountPoint === '/sys/fs/cgroup').at(-1);
  return top?.fsType === 'cgroup2';
}
