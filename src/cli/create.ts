// hako create [opts] <id>: the container is created, its process waits for `start`.
import { resolve } from 'node:path';
import { HakoError } from '../errors.js';
import { createContainer, type CreateOptions } from '../container/create.js';
import { hostNotifySocket } from '../container/notify-socket.js';
import { isRootless } from '../container/rootless.js';
import { boolFlag, stringFlag, type CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  const opts = createOptions(ctx, true);
  await wrapFailure('create', () => createContainer(opts));
}

/** The flags create and run share, as runc reads them (pid file absolute before anything). */
export function createOptions(ctx: CommandContext, detach: boolean): CreateOptions {
  const pidFile = stringFlag(ctx.flags, 'pid-file');
  const pidfdSocket = stringFlag(ctx.flags, 'pidfd-socket');
  return {
    root: ctx.root,
    id: ctx.args[0]!,
    bundle: stringFlag(ctx.flags, 'bundle') || process.cwd(),
    pidFile: pidFile ? resolve(pidFile) : undefined,
    consoleSocket: stringFlag(ctx.flags, 'console-socket'),
    noPivot: boolFlag(ctx.flags, 'no-pivot'),
    noNewKeyring: boolFlag(ctx.flags, 'no-new-keyring'),
    preserveFds: typeof ctx.flags['preserve-fds'] === 'number' ? ctx.flags['preserve-fds'] : 0,
    detach,
    systemdCgroup: boolFlag(ctx.globals, 'systemd-cgroup'),
    rootless: isRootless(ctx.globals.rootless),
    ...(ctx.log.debugEnabled ? { debug: (msg: string) => ctx.log.debug(msg), warn: (msg: string) => ctx.log.warn(msg) } : {}),
    ...(pidfdSocket ? { pidfdSocket: resolve(pidfdSocket) } : {}),
    ...(hostNotifySocket() ? { notifySocket: hostNotifySocket() } : {}),
  };
}

/** runc words every create/run failure as "runc create failed: <cause>". */
export async function wrapFailure<T>(command: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new HakoError(`hako ${command} failed: ${msg}`, err instanceof HakoError ? err.where : {});
  }
}
