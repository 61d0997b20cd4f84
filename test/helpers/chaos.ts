// Shared by the fault, load and fuzz tests (test/chaos): the long form runs with
// HAKO_CHAOS=full (npm run test:chaos), the short form in npm test; what a container may
// leave on the host (processes, mounts, cgroup directories in every hierarchy, state),
// checked after each trial.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Test } from 'tap';
import AjvModule from 'ajv';
import { REPO_ROOT } from './paths.js';
import { HAKO, reapIfOurs, spawnRuntime, zombieChildren, type SpawnResult } from './lifecycle.js';

/** npm run test:chaos sets HAKO_CHAOS=full: every step, every trial; npm test runs a sample. */
export const FULL = process.env.HAKO_CHAOS === 'full';

/** Every cgroup hierarchy mounted on this host (v1 controllers and cgroup2). */
export function cgroupMounts(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [, rest] = line.split(' - ');
    if (!rest) continue;
    const fstype = rest.split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') out.push(line.split(' ')[4]!);
  }
  return out;
}

/** The hierarchies in which `cgroupsPath` (as in linux.cgroupsPath) exists. */
export function cgroupsLeft(cgroupsPath: string): string[] {
  return cgroupMounts()
    .map((m) => path.join(m, cgroupsPath))
    .filter((d) => existsSync(d));
}

/**
 * A cgroup parent of this test's containers, removed at teardown with whatever a failed
 * trial left under it (its processes killed first, a frozen cgroup thawed): a failed test
 * says what it left, and the host is clean for the next run all the same.
 */
export function cgroupParent(t: Test, label: string): string {
  const parent = `/hako-${label}-${process.pid}`;
  t.teardown(async () => {
    await removeCgroupTree(parent);
    // and those of earlier runs killed before their teardown (a test file past its timeout)
    for (const stale of staleParents(label)) await removeCgroupTree(stale);
  });
  return parent;
}

/** /hako-<label>-<pid> in any hierarchy whose test process is gone. */
function staleParents(label: string): string[] {
  const found = new Set<string>();
  for (const m of cgroupMounts()) {
    for (const e of readdirSync(m)) {
      const pid = new RegExp(`^hako-${label}-(\\d+)$`).exec(e)?.[1];
      if (pid && !existsSync(`/proc/${pid}`)) found.add(`/${e}`);
    }
  }
  return [...found];
}

/** cgroupsPath and every cgroup below it, in every hierarchy: processes killed, directories removed deepest first. */
export async function removeCgroupTree(cgroupsPath: string): Promise<void> {
  const dirs: string[] = [];
  const walk = (d: string) => {
    dirs.push(d);
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  for (const top of cgroupsLeft(cgroupsPath)) walk(top);
  dirs.sort((a, b) => b.length - a.length);
  for (let attempt = 0; attempt < 50; attempt++) {
    let busy = false;
    for (const d of dirs) {
      if (!existsSync(d)) continue;
      try {
        if (existsSync(path.join(d, 'freezer.state'))) writeFileSync(path.join(d, 'freezer.state'), 'THAWED');
        if (existsSync(path.join(d, 'cgroup.freeze'))) writeFileSync(path.join(d, 'cgroup.freeze'), '0');
      } catch {
        // the hierarchy's own: nothing to thaw
      }
      for (const pid of readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        busy = true;
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      try {
        rmdirSync(d);
      } catch {
        busy = true;
      }
    }
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `hako --root <root> <args>` with stdio on files (create hands its stdio to the container), optional extra env. */
export function hkSpawn(root: string, args: string[], env?: Record<string, string>, timeoutMs = 30_000): Promise<SpawnResult> {
  return spawnTracked(HAKO, root, args, env, timeoutMs);
}

/** `<runtime> --root <root> <args>` as hkSpawn, for any runtime: what reapAsAShim leaves to libuv. */
export async function spawnTracked(runtime: string, root: string, args: string[], env?: Record<string, string>, timeoutMs = 30_000): Promise<SpawnResult> {
  let child = -1;
  try {
    return await spawnRuntime(runtime, root, args, { env: env ? { ...process.env, ...env } : process.env, timeoutMs, onSpawn: (pid) => spawned.add((child = pid)) });
  } finally {
    // Reaped by libuv now: its pid may come back as a container's (pids are reused).
    spawned.delete(child);
  }
}

// The commands this process spawned (libuv reaps those; reaping one here would hang its caller).
const spawned = new Set<number>();

/**
 * child_process.spawn for a helper process of the test itself (a socket listener, a
 * stand-in shim) while reapAsAShim runs: libuv reaps it, so the shim's reaper leaves it
 * alone. Reaped by the reaper instead, its 'exit' would never come.
 */
export function spawnHelper(command: string, args: string[], opts: SpawnOptions): ChildProcess {
  const child = spawn(command, args, opts);
  const pid = child.pid;
  if (pid !== undefined) {
    spawned.add(pid);
    child.once('exit', () => spawned.delete(pid));
  }
  return child;
}

/**
 * Reaps, every 20 ms until stopped, the zombies re-parented to this subreaper (as a shim
 * does) other than the commands it spawned itself. Returns the stop.
 */
export function reapAsAShim(): () => Promise<void> {
  let busy = false;
  const reap = () => Promise.all(zombieChildren().filter((p) => !spawned.has(p)).map((z) => reapIfOurs(z, 1000)));
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void reap().finally(() => (busy = false));
  }, 20);
  return async () => {
    clearInterval(timer);
    await reap();
  };
}

/** The state root's entries other than the shared seccomp cache. */
export function containersIn(root: string): string[] {
  return existsSync(root) ? readdirSync(root).filter((e) => !e.startsWith('.seccomp-')) : [];
}

/** Open fds of a process (by number), -1 when it is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** schemas/container-record.schema.json compiled with the schemas it refers to; returns the errors (none: valid). */
export function recordErrors(record: unknown): string[] {
  const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule.default;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const dir = path.join(REPO_ROOT, 'schemas');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
  const v = ajv.getSchema('https://hako.invalid/schemas/container-record.schema.json')!;
  return v(record) ? [] : (v.errors ?? []).map((e) => `${e.instancePath}: ${e.message}`);
}
