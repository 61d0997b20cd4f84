// Running an OCI runtime (runc, or hako's own bin/hako or dist/hako) from tests.
//
// Everything here takes the runtime as a binary name or path and speaks only runc's
// command line, so the same test runs against any runtime. Each run gets its own
// state root (--root) in a temp dir; cleanup (`delete -f`, removing the state root)
// always runs, also when the container fails or times out.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PROBE_PATH, probeBuilt } from './probe.js';

/** Anything with tap's `t.teardown` (a Test or the root TAP object). */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The runtime's executable path (a name is looked up in $PATH), or null if there is none. */
export function resolveRuntime(runtime: string): string | null {
  const candidates = runtime.includes('/')
    ? [path.resolve(runtime)]
    : (process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, runtime));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return null;
}

/** Whether `runtime` (a name such as 'runc', or a path such as 'bin/hako') can be run. */
export function runtimeAvailable(runtime: string): boolean {
  return resolveRuntime(runtime) !== null;
}

/**
 * Why an integration test that runs the probe under `runtime` cannot run here, or false
 * if it can. Use as `t.test(name, { skip: integrationSkip('runc') }, ...)`.
 */
export function integrationSkip(runtime: string): string | false {
  if (!isRoot()) return 'needs root';
  if (!runtimeAvailable(runtime)) return `runtime ${runtime} not found`;
  if (!probeBuilt()) return `${PROBE_PATH} not built (npx cmake-js build --out build --target hako-probe)`;
  return false;
}

let idCounter = 0;

/** A container id unique to this process and call: `<label>-<pid>-<n>-<random>`. */
export function containerId(label = 'hako-test'): string {
  idCounter += 1;
  return `${label}-${process.pid}-${idCounter}-${randomBytes(3).toString('hex')}`;
}

export interface CommandResult {
  /** Exit code, or null if the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CommandOptions {
  /** Kill the command (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, then closed; without it stdin is /dev/null. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called once on timeout before the SIGKILL (e.g. to kill the container first). */
  onTimeout?: () => Promise<void>;
}

/** Runs a command to completion and collects its output; never rejects for a non-zero exit. */
export function runCommand(file: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    // Both are pipes (stdio[1] and stdio[2] above), so never null.
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (opts.input !== undefined) {
      child.stdin?.on('error', () => {}); // the command may exit without reading it all
      child.stdin?.end(opts.input);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      const stop = opts.onTimeout ? opts.onTimeout().catch(() => {}) : Promise.resolve();
      void stop.then(() => child.kill('SIGKILL'));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        timedOut,
      });
    });
  });
}

/** `<runtime> --root <stateRoot> <args...>`. */
export function runtimeCommand(
  runtime: string,
  stateRoot: string,
  args: string[],
  opts: CommandOptions = {},
): Promise<CommandResult> {
  return runCommand(runtime, ['--root', stateRoot, ...args], opts);
}

export interface RunOptions extends Omit<CommandOptions, 'onTimeout'> {
  /** Global flags, placed before `run` (e.g. ['--systemd-cgroup']). */
  globalArgs?: string[];
  /** Flags of `run`, placed before the id (e.g. ['--no-pivot']). */
  runArgs?: string[];
}

export interface RunResult extends CommandResult {
  /** The --root that was used; removed by the time runContainer returns. */
  stateRoot: string;
  /** What the runtime left in its state root once `run` had returned (should be []). */
  leftInStateRoot: string[];
  /** Cleanup commands that failed in a way worth reading (diagnostics, not assertions). */
  cleanupNotes: string[];
}

/**
 * `<runtime> --root <fresh state root> run --bundle <bundle> <id>` in the foreground
 * (process.terminal must be false), with stdin /dev/null unless `input` is given.
 * Afterwards, whatever happened: `delete -f <id>`, then the state root is removed.
 * On timeout the container is force-deleted first, then the runtime is SIGKILLed.
 */
export async function runContainer(
  runtime: string,
  bundle: string | { dir: string },
  id: string,
  opts: RunOptions = {},
): Promise<RunResult> {
  const bundleDir = typeof bundle === 'string' ? bundle : bundle.dir;
  const stateRoot = await fs.mkdtemp(path.join(tmpdir(), 'hako-state-'));
  const cleanupNotes: string[] = [];
  const forceDelete = async (): Promise<void> => {
    const res = await runtimeCommand(runtime, stateRoot, ['delete', '-f', id], { timeoutMs: 15_000 }).catch(
      (err: Error) => ({ code: -1, stderr: err.message, timedOut: false }),
    );
    // After a normal `run` the container is already gone, and runtimes say so.
    if (res.code !== 0 && !/not exist|not found/i.test(res.stderr)) {
      cleanupNotes.push(`delete -f ${id}: exit ${res.code}${res.timedOut ? ' (timed out)' : ''}: ${res.stderr.trim()}`);
    }
  };
  try {
    const args = [...(opts.globalArgs ?? []), 'run', '--bundle', bundleDir, ...(opts.runArgs ?? []), id];
    const result = await runtimeCommand(runtime, stateRoot, args, { ...opts, onTimeout: forceDelete });
    const leftInStateRoot = await fs.readdir(stateRoot).catch(() => []);
    return { ...result, stateRoot, leftInStateRoot, cleanupNotes };
  } finally {
    await forceDelete();
    await fs.rm(stateRoot, { recursive: true, force: true });
  }
}

/**
 * A fresh state root for tests that drive the lifecycle step by step (create, start,
 * kill, ...). Its teardown force-deletes every container still in it, then removes it.
 */
export async function makeStateRoot(t: Teardownable, runtime: string): Promise<string> {
  const stateRoot = await fs.mkdtemp(path.join(tmpdir(), 'hako-state-'));
  t.teardown(async () => {
    for (const id of await fs.readdir(stateRoot).catch(() => [])) {
      await runtimeCommand(runtime, stateRoot, ['delete', '-f', id], { timeoutMs: 15_000 }).catch(() => undefined);
    }
    await fs.rm(stateRoot, { recursive: true, force: true });
  });
  return stateRoot;
}

/** Mount points (in this process's mount namespace) at or below `dir`, deepest last. */
export function mountsUnder(dir: string): string[] {
  const root = existsSync(dir) ? realpathSync(dir) : path.resolve(dir);
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5) continue;
    const mountPoint = fields[4]!.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (mountPoint === root || mountPoint.startsWith(root + '/')) found.push(mountPoint);
  }
  return found;
}

/** Lazily unmounts everything at or below `dir`, deepest first; errors are ignored. */
export function unmountAllUnder(dir: string): void {
  const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) {
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    } catch {
      // Already gone, or not ours to remove: the caller checks what is left.
    }
  }
}
