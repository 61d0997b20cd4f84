// The verbs that act on an existing container (state, list, kill, pause, resume, ps,
// delete, start) have one implementation: the front's C++ (cpp/front/verbs.cc). dist/hako
// runs it itself; the brain reaches the same code through the addon when a command comes
// to it (run's start and delete, bin/hako in development, a command handed over).
import type { Logger } from '../cli/log.js';
import { HakoError } from '../errors.js';
import { native } from '../native.js';

export type Verb = 'state' | 'list' | 'kill' | 'pause' | 'resume' | 'ps' | 'delete' | 'start';

export interface VerbOptions {
  force?: boolean;
  all?: boolean;
  quiet?: boolean;
  format?: string;
  /** start: the host's NOTIFY_SOCKET to forward READY to (none: no forwarding) */
  notifyHost?: string;
}

/**
 * Runs a verb; its stdout and stderr text. What it logged (a failed poststart or poststop
 * hook's warning, --debug lines) is written through `log`, the brain's logger, in order.
 * Failures are HakoErrors with the front's message.
 */
export function runVerb(verb: Verb, root: string, args: readonly string[], opts: VerbOptions = {}, log?: Logger): { stdout: string; stderr: string } {
  try {
    return callFront(verb, root, args, opts, log);
  } catch (err) {
    throw new HakoError((err as Error).message);
  }
}

/**
 * A verb as a command asks for it: as runVerb, but a record of version 1 (written before
 * the front) is first upgraded in place (record-upgrade.ts, loaded only then).
 */
export async function serveVerb(verb: Verb, root: string, args: readonly string[], opts: VerbOptions = {}, log?: Logger): Promise<{ stdout: string; stderr: string }> {
  try {
    return callFront(verb, root, args, opts, log);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EHAKORECORD') {
      const { upgradeVersion1Records } = await import('./record-upgrade.js');
      const { listContainerIds } = await import('./state-store.js');
      if (upgradeVersion1Records(root, verb === 'list' ? listContainerIds(root) : args.slice(0, 1))) return runVerb(verb, root, args, opts, log);
    }
    throw new HakoError((err as Error).message);
  }
}

/** The front's verb through the addon; its log entries written through `log`; errors as the addon throws them. */
function callFront(verb: Verb, root: string, args: readonly string[], opts: VerbOptions, log: Logger | undefined): { stdout: string; stderr: string } {
  let result: { stdout: string; stderr: string; log: Array<[string, string]> };
  try {
    result = native().frontVerb(verb, root, args, { ...opts, debug: log?.debugEnabled === true });
  } catch (err) {
    writeLog(log, (err as { log?: Array<[string, string]> }).log);
    throw err;
  }
  writeLog(log, result.log);
  return result;
}

function writeLog(log: Logger | undefined, entries: Array<[string, string]> | undefined): void {
  for (const [level, msg] of entries ?? []) {
    if (log) log.entry(level, msg);
    else if (level !== 'debug') process.stderr.write(`${msg}\n`);
  }
}

/** start (run's): release the created container; poststart hooks; no READY forwarding (run does its own). */
export function startVerb(root: string, id: string, log?: Logger): void {
  runVerb('start', root, [id], {}, log);
}

/** delete --force (run's teardown): kill what is left, remove the cgroup and state, poststop hooks. */
export function deleteVerb(root: string, id: string, log?: Logger): void {
  runVerb('delete', root, [id], { force: true }, log);
}
