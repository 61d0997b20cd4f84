// hako spec [-b DIR] [--rootless]: write the starter config.json, never over an existing one.
import { statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultSpec } from '../oci/default-spec.js';
import { HakoError, fromSystemError } from '../errors.js';
import { boolFlag, stringFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  const dir = bundleDir(stringFlag(ctx.flags, 'bundle'));
  const spec = defaultSpec({
    rootless: boolFlag(ctx.flags, 'rootless'),
    uid: process.geteuid?.() ?? 0,
    gid: process.getegid?.() ?? 0,
  });
  const file = join(dir, 'config.json');
  try {
    writeFileSync(file, JSON.stringify(spec, null, '\t'), { flag: 'wx', mode: 0o666 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new HakoError('File config.json exists. Remove it first', { path: file });
    throw fromSystemError(err);
  }
}

// runc chdirs into the bundle first, so a missing one reads "chdir DIR: no such file or directory".
function bundleDir(given: string | undefined): string {
  if (given === undefined || given === '') return process.cwd();
  const dir = resolve(given);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw fromSystemError(Object.assign(err as Error, { syscall: 'chdir', path: given }));
  }
  if (!isDir) throw new HakoError(`chdir ${given}: not a directory`, { path: dir, syscall: 'chdir', errno: 'ENOTDIR' });
  return dir;
}
