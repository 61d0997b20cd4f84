// A real systemd (the host's /lib/systemd/systemd, not PID 1 here) booted as PID 1 of
// private namespaces, for the tests of the systemd cgroup driver: once per test file.
// test/tools/private-systemd.sh does the boot and its precautions (a cgroup of its own
// in every hierarchy, a private mount namespace with fresh tmpfs on /sys/fs/cgroup, /tmp,
// /var/tmp, /run, ...). Commands run inside that world through nsenter; stop() kills
// systemd (SIGKILL to its PID 1), waits for the namespace to empty, and removes the
// cgroups it made.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cgroupLayout, layoutPaths } from '../../src/cgroups/paths.js';
import { REPO_ROOT } from './paths.js';
import { runCommand, type CommandOptions, type CommandResult } from './runtime.js';

export type HierarchyMode = 'legacy' | 'hybrid' | 'unified';

const SCRIPT = path.join(REPO_ROOT, 'test', 'tools', 'private-systemd.sh');
const SYSTEMD = '/lib/systemd/systemd';

/** Why the private systemd cannot run here, or false. */
export function privateSystemdSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} not installed`;
  if (!existsSync('/usr/bin/nsenter') || !existsSync('/usr/bin/unshare')) return 'needs nsenter and unshare (util-linux)';
  return false;
}

export interface PrivateSystemd {
  /** systemd's pid on the host */
  pid: number;
  mode: HierarchyMode;
  /** the cgroup directories (one per host hierarchy) the world lives in */
  cgroupDirs: string[];
  /** a command inside the world (every namespace of systemd, cwd kept) */
  run(file: string, args: string[], opts?: CommandOptions): Promise<CommandResult>;
  /** the argv that runs `file args` inside the world (for spawn) */
  argv(file: string, args: string[]): string[];
  stop(): Promise<void>;
}

let counter = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function makeCgroup(dir: string): void {
  mkdirSync(dir);
  // A new cpuset cgroup (v1) has no cpus or memory nodes: its parent's.
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const own = path.join(dir, file);
    if (existsSync(own)) writeFileSync(own, readFileSync(path.join(path.dirname(dir), file)));
  }
}

/** Every cgroup below `dir` (deepest first), then `dir`. */
function removeCgroupTree(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) removeCgroupTree(path.join(dir, e));
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw err;
    }
    // A process that is dying (or its zombie's cgroup reference) goes in a moment.
    const t = Date.now();
    while (Date.now() - t < 20) {
      // spin: a synchronous wait, called from teardown
    }
  }
}

const NAME_PREFIX = 'hako-private-systemd-';

/** The cgroups of worlds whose test died without its teardown (pid in the name gone). */
function removeStaleWorlds(): void {
  const layout = cgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'), 'x');
  for (const dir of new Set(Object.values(layoutPaths(layout)))) {
    const parent = path.dirname(dir);
    for (const entry of readdirSync(parent)) {
      const owner = /^hako-private-systemd-(\d+)-\d+$/.exec(entry)?.[1];
      if (owner && !existsSync(`/proc/${owner}`)) removeCgroupTree(path.join(parent, entry));
    }
  }
}

/**
 * Boots systemd in `mode` (legacy: v1 only; hybrid: v1 + a cgroup2 for systemd's own
 * tracking, as this host; unified: cgroup2) and waits until it runs basic.target. The
 * caller's teardown must call stop().
 */
export async function bootPrivateSystemd(mode: HierarchyMode = 'hybrid'): Promise<PrivateSystemd> {
  removeStaleWorlds();
  counter += 1;
  const name = `${NAME_PREFIX}${process.pid}-${counter}`;
  const layout = cgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'), name);
  const cgroupDirs = [...new Set(Object.values(layoutPaths(layout)))];
  for (const dir of cgroupDirs) makeCgroup(dir);
  const tmpDevice = statSync('/tmp').dev;
  const child: ChildProcess = spawn(SCRIPT, [mode, ...cgroupDirs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<void> => {
    const pid1 = childrenOf(child.pid!).find((p) => comm(p) === 'systemd');
    if (pid1) process.kill(pid1, 'SIGKILL');
    // unshare exits once its child (the namespace's PID 1) is gone, and with it every process of the namespace.
    for (let i = 0; i < 500 && !exited; i++) await sleep(10);
    if (!exited) child.kill('SIGKILL');
    for (let i = 0; i < 500 && !exited; i++) await sleep(10);
    for (const dir of cgroupDirs) removeCgroupTree(dir);
  };

  try {
    // systemd is the child of unshare (whose --fork child is the shell that execs it).
    const pid = await (async () => {
      for (let i = 0; i < 1000; i++) {
        if (exited) throw new Error(`private systemd did not start: ${stderr.trim()}`);
        const found = childrenOf(child.pid!).find((p) => comm(p) === 'systemd');
        if (found) return found;
        await sleep(10);
      }
      throw new Error('private systemd did not start within 10 s');
    })();
    // Commands stay in the caller's cgroup: outside the world's root, as systemd and runc
    // see it ("/.." in /proc/self/cgroup), which is where a runtime runs from a test.
    const argv = (file: string, args: string[]): string[] => ['nsenter', '-t', String(pid), '-a', '--', file, ...args];
    const run = (file: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> => {
      const [cmd, ...rest] = argv(file, args);
      return runCommand(cmd!, rest, opts);
    };
    // Up when basic.target is active (D-Bus is socket-activated on first use).
    for (let i = 0; ; i++) {
      const r = await run('systemctl', ['is-active', 'basic.target'], { timeoutMs: 10_000 });
      if (r.stdout.trim() === 'active') break;
      if (exited || i > 300) throw new Error(`private systemd did not reach basic.target: ${r.stdout}${r.stderr}${stderr}`);
      await sleep(100);
    }
    if (statSync('/tmp').dev !== tmpDevice) throw new Error('the host /tmp changed under the private systemd');
    return { pid, mode, cgroupDirs, run, argv, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
