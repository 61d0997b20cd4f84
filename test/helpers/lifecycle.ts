// Helpers for lifecycle tests that drive dist/hako (or runc) step by step: commands whose
// stdio is inherited by the container (create, run -d), polling with a deadline, process
// inspection through /proc, and the "nothing left behind" checks every test ends with.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { native } from '../../src/native.js';
import { REPO_ROOT } from './paths.js';
import { integrationSkip, mountsUnder, runCommand, runtimeCommand, type CommandResult, type Teardownable } from './runtime.js';

/** The hako executable under test ($HAKO_BIN, else dist/hako); may not exist (see hakoSkip). */
export const HAKO = path.resolve(process.env.HAKO_BIN ?? path.join(REPO_ROOT, 'dist', 'hako'));

/** One dist/hako command against the state root `root` (30 s deadline), stdin optional. */
export function hk(root: string, args: string[], input?: string): Promise<CommandResult> {
  return runtimeCommand(HAKO, root, args, { timeoutMs: 30_000, ...(input !== undefined ? { input } : {}) });
}

/** The error message of a failed command: the msg="..." of its log line, unescaped. */
export function errorMessage(r: { stderr: string }): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(r.stderr);
  return m ? (JSON.parse(`"${m[1]}"`) as string) : r.stderr.trim();
}

/**
 * The start of a test file that runs containers: unless `skip` says why they cannot run,
 * this process becomes the subreaper of what it starts and, before each test, reaps the
 * zombies an earlier test's teardown left (an init it killed is not a leak of the next
 * test). Returns `skip`.
 */
export function asContainerTests(skip: string | false): string | false {
  if (!skip) {
    becomeSubreaper();
    t.beforeEach(() => reapZombieChildren());
  }
  return skip;
}

/** Why a test that runs containers under dist/hako cannot run here, or false. */
export function hakoSkip(): string | false {
  const why = integrationSkip(HAKO);
  if (why && !existsSync(HAKO)) return `${HAKO} not built (npm run build)`;
  return why;
}

/** Why a test that compares hako with runc cannot run here, or false. */
export function differentialSkip(): string | false {
  return hakoSkip() || integrationSkip('runc');
}

/** A scratch directory removed at teardown. */
export async function scratchDir(t: Teardownable, label = 'scratch'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), `hako-${label}-`));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface SpawnResult {
  /** Exit code, or null if killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the command wrote to its stdout/stderr files by the time it exited. */
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The command's own pid (gone by now). */
  pid: number;
}

export interface SpawnOptions {
  /** stdin: a path opened read-only, an open fd, or /dev/null (default). */
  stdin?: string | number;
  /** Files for stdout/stderr (created/truncated); default: fresh files in a temp dir, removed afterwards. */
  stdoutFile?: string;
  stderrFile?: string;
  /** fds given to the command as 3, 4, ... (for --preserve-fds). */
  extraFds?: number[];
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with the child's pid right after the spawn. */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs `<runtime> --root <stateRoot> <args>` with its stdout and stderr on *files* and
 * waits for its exit, not for its stdio to close: a detached command (create, run -d)
 * hands its fds 0-2 to the container, which keeps them open long after the command exits.
 */
export async function spawnRuntime(
  runtime: string,
  stateRoot: string,
  args: string[],
  opts: SpawnOptions = {},
): Promise<SpawnResult> {
  let tempDir: string | undefined;
  if (opts.stdoutFile === undefined || opts.stderrFile === undefined) {
    tempDir = await fs.mkdtemp(path.join(tmpdir(), 'hako-cmd-'));
  }
  const outFile = opts.stdoutFile ?? path.join(tempDir!, 'stdout');
  const errFile = opts.stderrFile ?? path.join(tempDir!, 'stderr');
  const owned: number[] = [];
  const openOwned = (file: string, flags: string): number => {
    const fd = openSync(file, flags);
    owned.push(fd);
    return fd;
  };
  try {
    const stdin = typeof opts.stdin === 'number' ? opts.stdin : openOwned(opts.stdin ?? '/dev/null', 'r');
    const out = openOwned(outFile, 'w');
    const err = openOwned(errFile, 'w');
    const child = spawn(runtime, ['--root', stateRoot, ...args], {
      stdio: [stdin, out, err, ...(opts.extraFds ?? [])],
      cwd: opts.cwd,
      env: opts.env ?? process.env,
    });
    owned.forEach((fd) => closeSync(fd));
    owned.length = 0;
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    }).finally(() => clearTimeout(timer));
    return {
      code,
      signal,
      stdout: readFileSync(outFile, 'utf8'),
      stderr: readFileSync(errFile, 'utf8'),
      timedOut,
      pid: child.pid ?? -1,
    };
  } finally {
    owned.forEach((fd) => closeSync(fd));
    if (tempDir) await fs.rm(tempDir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ polling

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` every 20 ms until it returns something other than undefined/false/null, and
 * returns that; throws naming `what` if the deadline (default 10 s) passes first.
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Like waitFor, but returns false instead of throwing when the deadline passes. */
export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  try {
    return await waitFor('condition', fn, timeoutMs);
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ /proc

export interface ProcInfo {
  pid: number;
  /** R, S, D, Z, X, ... */
  state: string;
  ppid: number;
  startTime: string;
}

export function procInfo(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), startTime: fields[19] ?? '' };
}

/** The process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const info = procInfo(pid);
  return info !== undefined && info.state !== 'Z' && info.state !== 'X';
}

/** Every pid in /proc now (processes come and go while the caller looks at them). */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** Live processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker) && isAlive(pid)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Live processes that hold an fd on, or have their cwd in, a path under `dir`. */
export function processesUsing(dir: string): number[] {
  const found: number[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let links: string[] = [];
    try {
      links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
      links.push(readlinkSync(`/proc/${pid}/cwd`));
    } catch {
      continue;
    }
    if (links.some((l) => l === dir || l.startsWith(dir + '/')) && isAlive(pid)) found.push(pid);
  }
  return found;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/**
 * Reap every zombie child: call at the start of a test (beforeEach), so that inits killed
 * by an earlier test's teardown (`delete -f`) are not taken for this test's leaks.
 */
export async function reapZombieChildren(): Promise<void> {
  for (const z of zombieChildren()) await reapIfOurs(z, 1000);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
}

/** Our own zombie children (we are a subreaper in lifecycle tests). */
export function zombieChildren(): number[] {
  return allPids().filter((pid) => {
    const info = procInfo(pid);
    return info?.ppid === process.pid && info.state === 'Z';
  });
}

/**
 * Reap `pid` if it is our zombie child (it was re-parented to us as a subreaper).
 * Only call this for processes libuv did not spawn (container processes).
 */
export async function reapIfOurs(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const info = procInfo(pid);
  if (info === undefined || info.ppid !== process.pid) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
  const reaped = native()
    .waitpid(pid)
    .then(() => true, () => false);
  const ok = await Promise.race([reaped, timeout]);
  clearTimeout(timer);
  return ok;
}

/** SIGKILL a process, ignoring "no such process". */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Makes this test process a child subreaper, as containerd-shim and conmon are. */
export function becomeSubreaper(): void {
  native().setSubreaper(true);
}

// ------------------------------------------------------------------ files

/** Reads a file, '' if it does not exist. */
export function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** lchown every entry of a tree (for user-namespace tests). */
export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(dir, uid, gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(full, uid, gid);
    else await fs.lchown(full, uid, gid);
  }
}

/** A short unique string for markers. */
export function uniqueMarker(label = 'm'): string {
  return `${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The mount points of the host's mount table at exactly `mountPoint`. */
export function hostMountsAt(mountPoint: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4] === mountPoint);
}

// ------------------------------------------------------------------ nothing left behind

export interface LeftoverCheck {
  /** The state root: must be empty or gone. */
  stateRoot?: string;
  /** The bundle: no mounts may remain under it. */
  bundleDir?: string;
  /** Container (or runtime) pids that must be gone; ours are reaped. */
  pids?: number[];
  /** Strings that no live process may have in its command line. */
  markers?: string[];
  /** Directories no live process may hold an fd or cwd in (besides the bundle and state root). */
  dirs?: string[];
  /** This process may have no live child at all (nothing of the test's is still running). */
  noChildren?: boolean;
}

/** Our live children (a leaked container process re-parented to this subreaper shows here). */
export function liveChildren(): number[] {
  return allPids().filter((pid) => procInfo(pid)?.ppid === process.pid && isAlive(pid));
}

/**
 * Asserts that a test left nothing behind: processes (polled with a deadline, since a
 * kill takes effect asynchronously), mounts under the bundle, state, and our own zombie
 * children (a container init re-parented to this subreaper is reaped here first).
 */
export async function checkNothingLeft(t: Test, c: LeftoverCheck): Promise<void> {
  const pids = (c.pids ?? []).filter((p) => p > 0);
  const dirs = [...(c.dirs ?? []), ...(c.bundleDir ? [c.bundleDir] : []), ...(c.stateRoot ? [c.stateRoot] : [])];
  const stray = (): string[] => [
    ...pids.filter(isAlive).map((p) => `pid ${p} alive`),
    ...(c.markers ?? []).flatMap((m) => processesWith(m).map((p) => `pid ${p} has ${m} in its cmdline`)),
    ...dirs.flatMap((d) => processesUsing(d).map((p) => `pid ${p} uses ${d}`)),
    ...(c.noChildren ? liveChildren().map((p) => `pid ${p} (${cmdline(p)}) is a live child of the test`) : []),
  ];
  await eventually(() => stray().length === 0);
  t.same(stray(), [], 'no process from this test is alive');
  for (const pid of pids) await reapIfOurs(pid);
  const zombies = zombieChildren();
  t.same(
    zombies.map((p) => `pid ${p} (${comm(p)}), exited, not reaped`),
    [],
    'no exited child was left for this subreaper to reap (the runtime reaps its own processes)',
  );
  for (const z of zombies) await reapIfOurs(z, 1000);
  if (c.bundleDir) t.same(mountsUnder(c.bundleDir), [], 'no mount left under the bundle');
  if (c.stateRoot) {
    // Compiled seccomp programs are a cache shared by every container under the root
    // (.seccomp-<hash>.bpf and its stamp): they stay, by design.
    const left = existsSync(c.stateRoot) ? readdirSync(c.stateRoot).filter((e) => !e.startsWith('.seccomp-')) : [];
    t.same(left, [], 'state root holds no container');
  }
}

// ------------------------------------------------------------------ console socket

/**
 * A python3 program for the --console-socket tests: listens on argv[1], prints
 * {"ready":true}, accepts one connection and receives one message with SCM_RIGHTS, prints
 * what came (payload, number of fds, whether the control data was truncated, the fd's
 * /proc link, its pty number and window size), then on each line of stdin writes that
 * line to the master and reads until the line's "expect" appears (or 20 s), printing the
 * output as {"output": ...}. Python because Node cannot recvmsg on a libuv-owned socket.
 */
export const CONSOLE_RECEIVER_PY = String.raw`
import array, fcntl, json, os, select, socket, struct, sys, termios, time
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(4)
print(json.dumps({"ready": True}), flush=True)
if len(sys.argv) > 2 and sys.argv[2] == "later":
    sys.stdin.readline()  # accept only when told: the runtime must not wait for accept
srv.settimeout(60)
conn, _ = srv.accept()
conn.settimeout(30)
msg, fds, flags, _ = socket.recv_fds(conn, 4096, 16)
res = {"payload": msg.decode(errors="replace"), "nfds": len(fds), "ctrunc": bool(flags & socket.MSG_CTRUNC)}
if fds:
    m = fds[0]
    res["link"] = os.readlink("/proc/self/fd/%d" % m)
    try:
        res["ptn"] = struct.unpack("I", fcntl.ioctl(m, getattr(termios, "TIOCGPTN", 0x80045430), b"\0" * 4))[0]
    except OSError as e:
        res["ptn_error"] = e.strerror
    rows, cols = struct.unpack("HHHH", fcntl.ioctl(m, termios.TIOCGWINSZ, b"\0" * 8))[:2]
    res["rows"], res["cols"] = rows, cols
# more messages or fds after the first one would be a protocol error: see what else comes
conn.settimeout(0.2)
try:
    extra = conn.recv(4096)
    res["extra"] = extra.decode(errors="replace")
except socket.timeout:
    res["extra"] = None
except OSError as e:
    res["extra_error"] = str(e)
conn.close()
print(json.dumps(res), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    if req.get("close"):
        break
    os.write(fds[0], req["write"].encode())
    out = b""
    deadline = time.time() + 20
    while time.time() < deadline and req["expect"].encode() not in out:
        r, _, _ = select.select([fds[0]], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fds[0], 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    print(json.dumps({"output": out.decode(errors="replace")}), flush=True)
`;

export interface ConsoleReceiver {
  socketPath: string;
  /** Resolves with the first message's facts once the runtime has sent the master. */
  received: Promise<{
    payload: string;
    nfds: number;
    ctrunc: boolean;
    link?: string;
    ptn?: number;
    ptn_error?: string;
    rows?: number;
    cols?: number;
    extra?: string | null;
    extra_error?: string;
  }>;
  /** Write `text` to the master and collect output until `expect` shows up. */
  interact(text: string, expect: string): Promise<string>;
  /** Ends the receiver (closing its master); resolves once it has exited and was reaped. */
  close(): Promise<void>;
  /** With acceptLater: let the receiver accept() now. */
  accept(): void;
}

export interface ConsoleReceiverOptions {
  /** The socket's file name in `dir` (default console.sock). */
  name?: string;
  /** Listen, but accept() only when accept() is called (containerd receives after create exits). */
  acceptLater?: boolean;
}

/** Starts the python receiver on `<dir>/console.sock`; killed at teardown. */
export async function consoleReceiver(t: Teardownable, dir: string, opts: ConsoleReceiverOptions = {}): Promise<ConsoleReceiver> {
  const socketPath = path.join(dir, opts.name ?? 'console.sock');
  const args = ['-c', CONSOLE_RECEIVER_PY, socketPath, ...(opts.acceptLater ? ['later'] : [])];
  const child = spawn('python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let buffered = '';
  let stderr = '';
  const waiting: Array<(line: string) => void> = [];
  const lines: string[] = [];
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  child.stdin!.on('error', () => undefined);
  const nextLine = (what: string): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const queued = lines.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => reject(new Error(`console receiver: no ${what} (stderr: ${stderr})`)), 40_000);
      const onExit = (): void => {
        clearTimeout(timer);
        reject(new Error(`console receiver exited before ${what} (stderr: ${stderr})`));
      };
      child.once('exit', onExit);
      waiting.push((line) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(line);
      });
    });
  const ready = JSON.parse(await nextLine('ready line')) as { ready?: boolean };
  if (!ready.ready) throw new Error(`console receiver did not start: ${stderr}`);
  let gotMessage = false;
  const received = nextLine('message from the runtime').then((l) => {
    gotMessage = true;
    return JSON.parse(l) as Awaited<ConsoleReceiver['received']>;
  });
  received.catch(() => undefined);
  return {
    socketPath,
    received,
    async interact(text, expect) {
      await received;
      child.stdin!.write(JSON.stringify({ write: text, expect }) + '\n');
      return (JSON.parse(await nextLine('output')) as { output: string }).output;
    },
    accept() {
      child.stdin!.write('accept\n');
    },
    close() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // Still waiting for a connection (nothing was sent): stop it rather than wait for its accept timeout.
      if (!gotMessage) child.kill('SIGKILL');
      else child.stdin!.end(JSON.stringify({ close: true }) + '\n');
      return exited;
    },
  };
}

// Runs a command with a real terminal as its stdio: a pty made here, 33x101, echo and
// canonical mode on, the command's controlling terminal. Reports its status, what it
// wrote, whether the terminal was seen raw (no echo) while it ran, and whether the
// terminal's settings were the same afterwards.
const TTY_DRIVER_PY = `
import json, os, select, subprocess, sys, termios, fcntl, struct
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
before = termios.tcgetattr(slave)
p = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
out = b""
raw_seen = False
while True:
    r, _, _ = select.select([master], [], [], 0.05)
    if not raw_seen and p.poll() is None:
        raw_seen = not (termios.tcgetattr(slave)[3] & termios.ECHO)
    if r:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        out += chunk
    elif p.poll() is not None:
        break
code = p.wait()
after = termios.tcgetattr(slave)
print(json.dumps({"code": code, "out": out.decode(errors="replace"), "rawSeen": raw_seen, "restored": after == before}))
`;


export interface TerminalRun {
  code: number;
  out: string;
  rawSeen: boolean;
  restored: boolean;
}

export async function onTerminal(t: Test, argv: string[]): Promise<TerminalRun> {
  const r = await runCommand('python3', ['-c', TTY_DRIVER_PY, ...argv], { timeoutMs: 30_000 });
  t.equal(r.code, 0, 'the terminal driver ran', { stderr: r.stderr });
  return JSON.parse(r.stdout) as TerminalRun;
}
