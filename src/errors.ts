// The one error class hako raises for anything a user should read.
// src/cli/report.ts turns it into runc's output and exit code.

export interface ErrorWhere {
  /** JSON pointer into config.json or process.json */
  pointer?: string;
  /** a file path involved */
  path?: string;
  /** the failed system call */
  syscall?: string;
  /** errno name, e.g. ENOENT */
  errno?: string;
}

export class HakoError extends Error {
  readonly where: ErrorWhere;
  readonly exitCode: number;

  constructor(message: string, where: ErrorWhere = {}, exitCode = 1) {
    super(message);
    this.name = 'HakoError';
    this.where = where;
    this.exitCode = exitCode;
  }
}

/** A command line that does not fit the command: runc prints "Incorrect Usage" and help. */
export class UsageError extends Error {
  /** the command whose help is shown; undefined for the global help */
  readonly command: string | undefined;
  /** printed after "Incorrect Usage" on stdout when set ("flag provided but not defined: -x") */
  readonly detail: string | undefined;

  constructor(message: string, command: string | undefined, detail?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
    this.detail = detail;
  }
}

/** An unknown command: runc 1.1.5 exits 3 with "No help topic for 'x'". */
export class UnknownCommandError extends Error {
  constructor(readonly commandName: string) {
    super(`No help topic for '${commandName}'`);
    this.name = 'UnknownCommandError';
  }
}

interface NodeSystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
}

/** Node's system errors ("ENOENT: no such file or directory, open 'x'") in runc's words: "open x: no such file or directory". */
export function fromSystemError(err: unknown, context?: string): HakoError {
  const e = err as NodeSystemError;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !e.syscall) {
    return new HakoError(context ? `${context}: ${String((e as Error)?.message ?? e)}` : String((e as Error)?.message ?? e));
  }
  const reason = describeErrno(e.code, e.message);
  const subject = e.path ? `${e.syscall} ${e.path}` : e.syscall;
  const message = `${context ? context + ': ' : ''}${subject}: ${reason}`;
  return new HakoError(message, { path: e.path, syscall: e.syscall, errno: e.code });
}

// Node messages look like "ENOENT: no such file or directory, open '/x'": keep the middle part.
function describeErrno(code: string, message: string): string {
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(message);
  return m ? m[1]! : code;
}
