// logrus-compatible log lines, as runc writes them: text (time="…" level=… msg="…")
// or JSON (one object per line, keys sorted), to --log (append) or to stderr.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { HakoError } from '../errors.js';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'fatal';
export type LogFormat = 'text' | 'json';
type Fields = Record<string, string | number | boolean>;

export interface LoggerOptions {
  path?: string;
  format?: string;
  debug?: boolean;
}

export class Logger {
  readonly format: LogFormat;
  readonly debugEnabled: boolean;
  /** the --log file, or undefined when logging to stderr */
  readonly path: string | undefined;
  private fd: number;

  constructor(opts: LoggerOptions) {
    this.format = 'text';
    this.debugEnabled = opts.debug === true;
    this.path = opts.path && opts.path !== '/dev/stderr' ? resolve(opts.path) : undefined;
    this.fd = 2;
    if (opts.format !== undefined && opts.format !== 'text' && opts.format !== 'json') {
      throw new HakoError(`invalid log-format: ${opts.format}`);
    }
    this.format = (opts.format as LogFormat | undefined) ?? 'text';
    if (this.path) this.fd = openLogFile(this.path, opts.path!);
  }

  /** true when log lines go somewhere other than stderr */
  get toFile(): boolean {
    return this.path !== undefined;
  }

  debug(msg: string, fields?: Fields): void {
    if (this.debugEnabled) this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.write('warning', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.write('error', msg, fields);
  }

  /** A line of the given level (debug only with --debug): what the front's verbs logged through the addon. */
  entry(level: string, msg: string): void {
    if (level === 'debug') this.debug(msg);
    else if (level === 'info' || level === 'warning' || level === 'error' || level === 'fatal') this.write(level, msg);
    else this.write('info', msg);
  }

  close(): void {
    if (this.fd > 2) closeSync(this.fd);
    this.fd = 2;
  }

  private write(level: LogLevel, msg: string, fields?: Fields): void {
    const line = formatLine(this.format, level, msg, fields, new Date()) + '\n';
    try {
      writeSync(this.fd, line);
    } catch {
      // A log that cannot be written must not turn into a crash.
    }
  }
}

// The error names the path as given, as runc's (Go's os.OpenFile) does.
function openLogFile(path: string, given: string): number {
  try {
    return openSync(path, constants.O_CREAT | constants.O_WRONLY | constants.O_APPEND | constants.O_SYNC, 0o644);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HakoError(`open ${given}: ${e.message.replace(/^[A-Z]+: ([^,]+).*$/, '$1')}`, {
      path,
      syscall: 'open',
      errno: e.code,
    });
  }
}

/** RFC 3339 to the second, UTC, as logrus prints it. */
export function logTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatLine(format: LogFormat, level: LogLevel, msg: string, fields: Fields | undefined, at: Date): string {
  const time = logTime(at);
  if (format === 'json') {
    const all: Record<string, string | number | boolean> = { ...fields, level, msg, time };
    const sorted: Record<string, string | number | boolean> = {};
    for (const k of Object.keys(all).sort()) sorted[k] = all[k]!;
    return JSON.stringify(sorted);
  }
  let line = `time=${quoteText(time)} level=${level} msg=${quoteText(msg)}`;
  for (const [k, v] of Object.entries(fields ?? {})) line += ` ${k}=${quoteText(String(v))}`;
  return line;
}

// logrus quotes a value unless it is made only of safe characters; Go's %q is close to JSON's escaping.
function quoteText(v: string): string {
  return /^[A-Za-z0-9\-._/@^+]+$/.test(v) ? v : JSON.stringify(v);
}
