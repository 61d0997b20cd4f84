// hako's entry point: parse, dispatch to one command module, turn errors into runc's output.
import { writeStdout } from './output.js';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors.js';
import { parseArgv, type FlagValues, type Parsed } from './cli/argv.js';
import { DEFAULT_ROOT } from './cli/table.js';
import type { CommandContext } from './cli/context.js';
import { Logger } from './cli/log.js';
import { exitCodeFor, messageOf, reportFailure } from './cli/report.js';
import { HakoError } from './errors.js';
import { versionText } from './version.js';

export async function main(argv: string[]): Promise<number> {
  const frontWarmUp = takeFrontWarmUp();
  try {
    return await parseAndDispatch(argv, frontWarmUp);
  } finally {
    if (frontWarmUp) await endFrontWarmUp(frontWarmUp);
  }
}

async function parseAndDispatch(argv: string[], frontWarmUp: FrontWarmUp | undefined): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgv(argv);
  } catch (err) {
    return usageFailure(err, argv);
  }
  let log: Logger;
  try {
    log = new Logger(loggerOptions(parsed.globals));
  } catch (err) {
    return reportFailure(new Logger({}), messageOf(err, false), exitCodeFor(err));
  }
  try {
    return await dispatch(parsed, log, frontWarmUp);
  } catch (err) {
    return reportFailure(log, messageOf(err, log.debugEnabled), exitCodeFor(err));
  } finally {
    log.close();
  }
}

async function dispatch(parsed: Parsed, log: Logger, frontWarmUp: FrontWarmUp | undefined): Promise<number> {
  if (parsed.kind === 'version') {
    writeStdout(versionText());
    return 0;
  }
  if (parsed.kind === 'help') {
    const { renderHelp } = await import('./cli/help.js');
    writeStdout(await renderHelp(parsed.command, versionText()));
    return 0;
  }
  const ctx: CommandContext = {
    ...stateRoot(parsed.globals),
    globals: parsed.globals,
    flags: parsed.flags,
    args: parsed.args,
    log,
  };
  if (parsed.command.placesProcess) await warmCgroupWriter(frontWarmUp);
  const mod = await parsed.command.load();
  const code = await mod.run(ctx);
  return typeof code === 'number' ? code : 0;
}

// On cgroup v1 the first write to a cgroup.procs after an idle moment waits for an RCU
// grace period (6-15 ms; see cpp/front/warm.cc), the writes within the next grace period
// do not. The front, which starts in a millisecond, starts the wait in a process of its
// own before it hands over (HAKO_CGROUP_WARM="<pid>:<fd>"), so it passes while the engine
// starts; run directly, the brain waits on a thread of the addon's while the command loads,
// reads its config and spawns hako-init. The placement of stage 0 then finds the lock warm
// (and ends the warm-up). Never a failure of the command's: a command that fails does without.
interface FrontWarmUp {
  pid: number;
  stopFd: number;
  /** adoption was tried: its fd is closed or ours by now, and not looked at again */
  tried?: boolean;
}

/** The front's warm-up process, out of the environment the engine's children would inherit. */
function takeFrontWarmUp(): FrontWarmUp | undefined {
  const value = process.env.HAKO_CGROUP_WARM;
  if (value === undefined) return undefined;
  delete process.env.HAKO_CGROUP_WARM;
  const m = /^([1-9][0-9]{0,9}):([0-9]{1,9})$/.exec(value);
  return m ? { pid: Number(m[1]), stopFd: Number(m[2]) } : undefined;
}

async function warmCgroupWriter(front: FrontWarmUp | undefined): Promise<void> {
  try {
    const mod = await import('./native.js');
    const addon = mod.native();
    if (!(front && adoptWarmUp(addon, front))) addon.cgroupWriterWarm(2000);
    if (front) mod.adoptFrontInitCopy();
  } catch {
    // the addon's load fails again, in the command's words
  }
}

// Once only: by the end of the command the fd number may name something else.
function adoptWarmUp(addon: { cgroupWriterAdopt(pid: number, fd: number): boolean }, front: FrontWarmUp): boolean {
  if (front.tried) return false;
  front.tried = true;
  return addon.cgroupWriterAdopt(front.pid, front.stopFd);
}

// Whatever the command (the front started it for create, run and exec as it read them).
async function endFrontWarmUp(front: FrontWarmUp): Promise<void> {
  try {
    const mod = await import('./native.js');
    const addon = mod.native();
    adoptWarmUp(addon, front);
    addon.cgroupWriterReap();
    mod.adoptFrontInitCopy();
    mod.releaseFrontInitCopy();
  } catch {
    // no addon: the process ends by itself (its stop pipe closes when hako exits)
  }
}

function loggerOptions(globals: FlagValues): { path?: string; format?: string; debug?: boolean } {
  return {
    path: typeof globals.log === 'string' ? globals.log : undefined,
    format: typeof globals['log-format'] === 'string' ? globals['log-format'] : undefined,
    debug: globals.debug === true,
  };
}

// runc: /run/runc as root; $XDG_RUNTIME_DIR/runc for an unprivileged caller; an explicit --root made absolute, "/" refused.
function stateRoot(globals: FlagValues): { root: string; rootExplicit: boolean } {
  const given = globals.root;
  if (typeof given === 'string') {
    const root = resolve(given);
    if (root === '/') throw new HakoError('option --root argument should not be set to /');
    return { root, rootExplicit: true };
  }
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && honorXdgRuntimeDir()) return { root: resolve(xdg, 'hako'), rootExplicit: false };
  return { root: DEFAULT_ROOT, rootExplicit: false };
}

// As runc: not root, or root of a user namespace (rootless podman runs the runtime as the
// root of its own) unless $USER says root; the host's real root keeps /run/hako.
function honorXdgRuntimeDir(): boolean {
  if (process.geteuid?.() !== 0) return true;
  let uidMap = '';
  try {
    uidMap = readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return false;
  }
  if (/^\s*0\s+0\s+4294967295\s*$/.test(uidMap)) return false;
  return process.env.USER !== 'root';
}

// "Incorrect Usage." and the command's help on stdout, the error through the logger on stderr.
async function usageFailure(err: unknown, argv: string[]): Promise<number> {
  const log = safeLogger(argv);
  if (err instanceof UsageError) {
    const { renderHelp } = await import('./cli/help.js');
    const { findCommand } = await import('./cli/table.js');
    const head = err.detail ? `Incorrect Usage: ${err.detail}` : 'Incorrect Usage.';
    const command = err.command ? findCommand(err.command) : undefined;
    writeStdout(`${head}\n\n${await renderHelp(command, versionText())}`);
  }
  const code = reportFailure(log, messageOf(err, false), exitCodeFor(err));
  log.close();
  return code;
}

// The usage error may be in the global flags themselves: take --log/--log-format only if they parse.
function safeLogger(argv: string[]): Logger {
  const opts: { path?: string; format?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?(log|log-format)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) {
      if (!argv[i]!.startsWith('-')) break;
      continue;
    }
    const value = m[2] ?? argv[i + 1];
    if (m[1] === 'log') opts.path = value;
    else opts.format = value;
  }
  try {
    return new Logger(opts);
  } catch {
    return new Logger({});
  }
}
