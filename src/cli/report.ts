// The one place errors become output and exit codes, as runc does it.
import { writeStderr } from '../output.js';
import { HakoError, UnknownCommandError, UsageError } from '../errors.js';
import type { Logger } from './log.js';
import { clipMessage } from '../input-limits.js';

/**
 * Log a fatal error; with --log, also print the bare message on stderr. Returns the exit
 * code. A huge value echoed in the message (a 50 MB argument) is cut here (clipMessage).
 */
export function reportFailure(log: Logger, fullMessage: string, exitCode = 1): number {
  const message = clipMessage(fullMessage);
  log.error(message);
  if (log.toFile) writeStderr(message + '\n');
  return exitCode;
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof HakoError) return err.exitCode;
  if (err instanceof UnknownCommandError) return 3;
  if (err instanceof UsageError) return 1;
  return 1;
}

/** An unexpected exception: never a stack trace for the user, unless --debug. */
export function messageOf(err: unknown, debug: boolean): string {
  if (err instanceof HakoError || err instanceof UsageError || err instanceof UnknownCommandError) return err.message;
  if (err instanceof Error) return debug && err.stack ? err.stack : err.message;
  return String(err);
}
