// Reading and writing cgroupfs files, listing a cgroup's processes, and removing a cgroup
// tree. Errors read as "write /sys/fs/cgroup/pids/x/pids.max: invalid argument".
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, write, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

export function sleepMs(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

/** The file's text, trimmed; throws a HakoError naming the file. */
export function readCgroupFile(dir: string, file: string): string {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch (err) {
    throw fromSystemError(err);
  }
}

/** The file's text, trimmed, or undefined when it cannot be read (no such controller file). */
export function readCgroupFileIfAny(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** One write(2) of `value` (cgroupfs takes one value per write). */
export function writeCgroupFile(dir: string, file: string, value: string): void {
  const path = join(dir, file);
  try {
    writeFileSync(path, value);
  } catch (err) {
    throw writeFailure(err, path, `failed to write ${JSON.stringify(value)}`);
  }
}

/** "<what>: write <path>: <reason>" for a failed cgroupfs write, with the path, the syscall and the errno. */
function writeFailure(err: unknown, path: string, what: string): HakoError {
  const e = err as NodeJS.ErrnoException;
  const reason = /^[A-Z0-9]+: ([^,]+)/.exec(e.message)?.[1] ?? e.code ?? String(err);
  return new HakoError(`${what}: write ${path}: ${reason}`, { path, syscall: 'write', errno: e.code });
}

/** runc's words for a failed placement: "error adding pid N to cgroups: failed to write N". */
const placementWhat = (pid: number): string => `error adding pid ${pid} to cgroups: failed to write ${pid}`;

/**
 * pid into each directory's cgroup.procs, in runc's words when one fails: "error adding
 * pid N to cgroups: failed to write N: write <dir>/cgroup.procs: <reason>", with the
 * path, the syscall and the errno.
 */
export function addPidToCgroups(dirs: readonly string[], pid: number): void {
  if (!(pid > 0)) throw new HakoError(`cannot place pid ${pid} in a cgroup`);
  for (const dir of dirs) {
    const path = join(dir, 'cgroup.procs');
    try {
      writeFileSync(path, String(pid));
    } catch (err) {
      throw writeFailure(err, path, placementWhat(pid));
    }
  }
}

/**
 * addPidToCgroups with the first write(2) on the engine's thread pool (on cgroup v1 it may
 * wait for an RCU grace period: see placement.ts) and the others after it. The open is not
 * on the pool: the write must be under way when this returns.
 */
export async function addPidToCgroupsAsync(dirs: readonly string[], pid: number): Promise<void> {
  if (!(pid > 0)) throw new HakoError(`cannot place pid ${pid} in a cgroup`);
  const [first, ...rest] = dirs;
  if (first === undefined) return;
  const path = join(first, 'cgroup.procs');
  let fd = -1;
  try {
    fd = openSync(path, 'w');
    await new Promise<void>((resolve, reject) => write(fd, String(pid), (err) => (err ? reject(err) : resolve())));
  } catch (err) {
    throw writeFailure(err, path, placementWhat(pid));
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  addPidToCgroups(rest, pid);
}

export function cgroupFileExists(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

/** mkdir -p; returns the directories it made, outermost first. */
export function makeDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = join(d, '..')) missing.unshift(d);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fromSystemError(err);
    }
  }
  return missing;
}

/** The pids in cgroup.procs of `dir` alone; [] when the cgroup does not exist. */
export function cgroupProcs(dir: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fromSystemError(err);
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/** Sub-cgroups of `dir`, deepest first (so they can be removed in this order). */
export function subCgroups(dir: string): string[] {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sub = join(dir, e.name);
    out.push(...subCgroups(sub), sub);
  }
  return out;
}

/** Every pid in the cgroup and its sub-cgroups, each once. */
export function allProcs(dir: string): number[] {
  // A cgroup not made yet (create's check of a new container's, in every hierarchy): one
  // stat, not two exceptions the engine builds and throws away.
  if (!existsSync(dir)) return [];
  const pids = new Set<number>(cgroupProcs(dir));
  for (const sub of subCgroups(dir)) for (const p of cgroupProcs(sub)) pids.add(p);
  return [...pids];
}

/**
 * rmdir the cgroup and every sub-cgroup in it, deepest first. A cgroup whose last
 * processes are still exiting answers EBUSY for a moment: retried for about a second.
 */
export function removeCgroupTree(dir: string): void {
  let delay = 1;
  for (let attempt = 0; ; attempt++) {
    try {
      for (const sub of subCgroups(dir)) rmdirQuiet(sub);
      rmdirQuiet(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EBUSY' || attempt >= 12) throw fromSystemError(err);
      sleepMs(delay);
      delay = Math.min(delay * 2, 200);
    }
  }
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Entries of /sys/kernel/mm/hugepages ("hugepages-2048kB", ...); [] without huge pages. */
export function listHugePages(): string[] {
  try {
    return readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
}
