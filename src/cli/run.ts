// hako run [opts] <id>: create and start in one. Detached: return once the process runs.
// Foreground: stdio (or the terminal) proxied, signals forwarded, the container's exit
// status returned (128+signal when killed), then the container destroyed unless --keep.
// With NOTIFY_SOCKET set, run waits for the container's READY and forwards it (§3.8 of the
// contract): detached with MAINPID=<init's pid>, in the foreground with MAINPID=<hako's
// pid> (the process systemd then watches), as runc 1.1.5. Unlike runc 1.1.5, a foreground
// run whose container exits without READY returns its status (runc waits for ever), and
// a second READY is not forwarded with MAINPID=0 (runc's leftover reader may do that).
import { closeSync } from 'node:fs';
import { createContainer, type Created } from '../container/create.js';
import { becomeSubreaper, forwardSignals, proxyPipes, proxyTerminal, waitExitStatus } from '../container/foreground.js';
import { deleteVerb, startVerb } from '../container/verbs.js';
import { forwardReadyQuietly, listenNotifySocket } from '../container/notify-socket.js';
import { boolFlag, type CommandContext } from './context.js';
import { createOptions, wrapFailure } from './create.js';
import { stopPoint } from '../container/stop-point.js';

export async function run(ctx: CommandContext): Promise<number> {
  const detach = boolFlag(ctx.flags, 'detach');
  const opts = createOptions(ctx, detach);
  if (!detach && !boolFlag(ctx.flags, 'no-subreaper')) becomeSubreaper();
  const created = await wrapFailure('run', () => createContainer(opts));
  // The terminal gets its size before the process starts, as runc does.
  const terminal = created.consoleMaster !== undefined ? proxyTerminal(created.consoleMaster) : undefined;
  const notify = opts.notifySocket;
  const listening = notify ? await wrapFailure('run', async () => listenOrDestroy(ctx, created)) : -1;
  try {
    await wrapFailure('run', async () => startOrDestroy(ctx, created));
    if (detach) {
      if (notify) await forwardReadyQuietly(listening, notify, created.record.pid, created.record);
      return 0;
    }
    return await foreground(ctx, created, terminal, notify ? { listening, host: notify } : undefined);
  } finally {
    if (listening >= 0) closeSync(listening);
  }
}

async function foreground(
  ctx: CommandContext,
  created: Created,
  terminal: ReturnType<typeof proxyTerminal> | undefined,
  notify: { listening: number; host: string } | undefined,
): Promise<number> {
  const pid = created.record.pid;
  const stopForwarding = forwardSignals(pid);
  const output = terminal ? terminal.closed : created.launched.pipes ? proxyPipes(created.launched.pipes) : Promise.resolve();
  const exited = waitExitStatus(pid);
  // The socket stays open until the container exits, so its later notifications do not fail.
  if (notify) await forwardReadyQuietly(notify.listening, notify.host, process.pid, created.record);
  const status = await exited;
  ctx.log.debug('process exited', { pid, status });
  stopPoint('run:exited');
  await drain(output);
  stopForwarding();
  terminal?.restore();
  // As runc's run: a failure of the teardown is logged; the status stays the container's (a poststop hook's failure is a warning the verb logs itself).
  if (!boolFlag(ctx.flags, 'keep')) {
    try {
      deleteVerb(ctx.root, created.record.id, ctx.log);
    } catch (err) {
      ctx.log.error((err as Error).message);
    }
  }
  return status;
}

/** The container's notify socket, bound before its process is released (a failure destroys it). */
function listenOrDestroy(ctx: CommandContext, created: Created): number {
  try {
    return listenNotifySocket(created.dir);
  } catch (err) {
    killAndDestroy(ctx, created);
    throw err;
  }
}

function killAndDestroy(ctx: CommandContext, created: Created): void {
  try {
    deleteVerb(ctx.root, created.record.id, ctx.log);
  } catch {
    // the first failure is the one to report
  }
}

function startOrDestroy(ctx: CommandContext, created: Created): void {
  try {
    startVerb(ctx.root, created.record.id, ctx.log);
  } catch (err) {
    // the start's failure is the one to report
    killAndDestroy(ctx, created);
    throw err;
  }
}

// Output still in the pipes once the init is gone; a process that escaped the container's
// pid namespace could hold them open forever, so wait a little, not for ever.
async function drain(output: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([output, new Promise((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
}
