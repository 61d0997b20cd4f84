// hako exec [opts] <id> <cmd> [args...] | hako exec [opts] -p process.json <id>: run one
// more process in a created or running container. Foreground: stdio (or the terminal)
// proxied, signals forwarded, the process's exit status (128+signal when killed).
// -d: 0 once the process runs. Any failure of hako's own: "exec failed: ..." and 255.
import { resolve } from 'node:path';
import { HakoError } from '../errors.js';
import { execInContainer, type Execed } from '../container/exec.js';
import { killAndReap } from '../container/launch.js';
import type { proxyTerminal } from '../container/foreground.js';
import type { ContainerRecord } from '../container/state-store.js';
import type { LinuxCapabilities, Process, Spec } from '../oci/types.js';
import type { FlagValues } from './argv.js';
import { boolFlag, stringFlag, type CommandContext } from './context.js';

const EXEC_FAILED = 255;

export async function run(ctx: CommandContext): Promise<number> {
  const detach = boolFlag(ctx.flags, 'detach');
  let execed: Execed | undefined;
  let terminal: ReturnType<typeof proxyTerminal> | undefined;
  try {
    execed = await startExec(ctx, detach);
    // The terminal gets its size before anything else, as runc does.
    if (execed.consoleMaster !== undefined) terminal = (await foreground()).proxyTerminal(execed.consoleMaster);
  } catch (err) {
    // The process runs but cannot be served: it is not left behind.
    if (execed) await killAndReap(execed.pid);
    const msg = err instanceof Error ? err.message : String(err);
    throw new HakoError(`exec failed: ${msg}`, err instanceof HakoError ? err.where : {}, EXEC_FAILED);
  }
  if (detach) return 0;

  const { forwardSignals, proxyPipes, waitExitStatus } = await foreground();
  const stopForwarding = forwardSignals(execed.pid);
  const output = terminal ? terminal.closed : execed.pipes ? proxyPipes(execed.pipes) : Promise.resolve();
  const status = await waitExitStatus(execed.pid);
  ctx.log.debug('process exited', { pid: execed.pid, status });
  await drain(output);
  stopForwarding();
  terminal?.restore();
  return status;
}

// Loaded only for a process hako waits for: -d (a manager's exec, a Kubernetes probe's)
// does not pay for node:tty.
function foreground(): Promise<typeof import('../container/foreground.js')> {
  return import('../container/foreground.js');
}

function startExec(ctx: CommandContext, detach: boolean): Promise<Execed> {
  const f = ctx.flags;
  const pidfdSocket = stringFlag(f, 'pidfd-socket');
  const [id, ...rest] = ctx.args;
  // runc: `exec <id> -- cmd args`: a lone "--" right after the id is dropped.
  const args = rest[0] === '--' ? rest.slice(1) : rest;
  const processFile = stringFlag(f, 'process');
  const pidFile = stringFlag(f, 'pid-file');
  const consoleSocket = stringFlag(f, 'console-socket');
  return execInContainer({
    root: ctx.root,
    id: id!,
    // As runc: without -p it works from the bundle, and a relative console socket is taken from there.
    process: async (rec, spec) => (processFile !== undefined ? processFromFile(processFile) : processFromFlags(f, args, await baseProcess(rec, spec))),
    detach,
    pidFile: pidFile ? resolve(pidFile) : undefined,
    consoleSocket,
    relativeToBundle: processFile === undefined,
    preserveFds: typeof f['preserve-fds'] === 'number' ? f['preserve-fds'] : 0,
    ignorePaused: boolFlag(f, 'ignore-paused'),
    subCgroups: Array.isArray(f.cgroup) ? f.cgroup : [],
    ...(pidfdSocket ? { pidfdSocket: resolve(pidfdSocket) } : {}),
    ...(ctx.log.debugEnabled ? { debug: (msg: string) => ctx.log.debug(msg) } : {}),
  });
}

// The validators (oci/load.js) cost start-up time: loaded only for -p, or for a record
// without the config (then the bundle's config.json is read, as runc does).

/** -p FILE: a complete OCI process, opened from the caller's cwd and validated; the process flags are ignored. */
async function processFromFile(file: string): Promise<Process> {
  const { checkProcessFile, problemsError } = await import('../oci/load.js');
  const { value, problems } = checkProcessFile(file);
  if (problems.length > 0) throw problemsError(file, problems);
  return value;
}

/** The container's process: from its state, else from the bundle's config.json. */
async function baseProcess(rec: ContainerRecord, spec: Spec): Promise<Process> {
  const base = spec.process ?? (await import('../oci/load.js')).loadBundleConfig(rec.bundle).process;
  if (!base) throw new HakoError('the container has no process to start from');
  return base;
}

/** The container's process with runc's flags applied (the base is not changed). */
export function processFromFlags(f: FlagValues, args: string[], base: Process): Process {
  const p: Process = structuredClone(base);
  p.args = args;
  if (args.length === 0) throw new HakoError('args must not be empty');
  const cwd = stringFlag(f, 'cwd');
  if (cwd) p.cwd = cwd;
  const env = strings(f, 'env');
  if (env.length > 0) p.env = [...(p.env ?? []), ...env];
  p.terminal = boolFlag(f, 'tty');
  if (f['no-new-privs'] !== undefined) p.noNewPrivileges = boolFlag(f, 'no-new-privs');
  const apparmor = stringFlag(f, 'apparmor');
  if (apparmor) p.apparmorProfile = apparmor;
  const label = stringFlag(f, 'process-label');
  if (label) p.selinuxLabel = label;
  const caps = strings(f, 'cap');
  if (caps.length > 0) {
    // runc 1.1: bounding, effective, permitted and ambient (ambient only takes what inheritable has).
    const c: LinuxCapabilities = p.capabilities ?? {};
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) c[set] = [...(c[set] ?? []), ...caps];
    p.capabilities = c;
  }
  const user = stringFlag(f, 'user');
  if (user) {
    const colon = user.indexOf(':');
    const uids = colon < 0 ? user : user.slice(0, colon);
    if (colon >= 0) p.user.gid = atoi(user.slice(colon + 1), 'gid');
    p.user.uid = atoi(uids, 'uid');
  }
  for (const g of strings(f, 'additional-gids')) {
    if (!/^-?\d+$/.test(g)) throw new HakoError(`invalid value "${g}" for flag -additional-gids: parse error`);
    const gid = Number(g);
    if (gid < 0) throw new HakoError(`additional-gids must be a positive number ${gid}`);
    p.user.additionalGids = [...(p.user.additionalGids ?? []), gid];
  }
  return p;
}

function strings(f: FlagValues, name: string): string[] {
  const v = f[name];
  return Array.isArray(v) ? v : [];
}

// Go's strconv.Atoi, in runc's words.
function atoi(s: string, what: 'uid' | 'gid'): number {
  if (!/^[+-]?\d+$/.test(s)) throw new HakoError(`parsing ${s} as int for ${what} failed: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (n < 0 || n > 0xffffffff) throw new HakoError(`${what} ${s} is out of range`);
  return n;
}

// Output still in the pipes once the process is gone; whatever it left running could hold
// them open forever, so wait a little, not for ever.
async function drain(output: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([output, new Promise((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
}
