// hako run [opts] <id>: create and start in one. Detached: return once the process runs.
// Foreground: stdio (or the terminal) proxied, signals forwarded, the container's exit
// status returned (128+signal when killed), then the container destroyed unless --keep.
import { createContainer, type Created } from '../container/create.js';
import { becomeSubreaper, forwardSignals, proxyPipes, proxyTerminal, waitExitStatus } from '../container/foreground.js';
import { destroy, startContainer } from '../container/lifecycle.js';
import { boolFlag, type CommandContext } from './context.js';
import { createOptions, wrapFailure } from './create.js';

export async function run(ctx: CommandContext): Promise<number> {
  const detach = boolFlag(ctx.flags, 'detach');
  const opts = createOptions(ctx, detach);
  if (!detach && !boolFlag(ctx.flags, 'no-subreaper')) becomeSubreaper();
  const created = await wrapFailure('run', () => createContainer(opts));
  // The terminal gets its size before the process starts, as runc does.
  const terminal = created.consoleMaster !== undefined ? proxyTerminal(created.consoleMaster) : undefined;
  await wrapFailure('run', async () => startOrDestroy(ctx.root, created));
  if (detach) return 0;

  const pid = created.record.pid;
  const stopForwarding = forwardSignals(pid);
  const output = terminal ? terminal.closed : created.launched.pipes ? proxyPipes(created.launched.pipes) : Promise.resolve();
  const status = await waitExitStatus(pid);
  await drain(output);
  stopForwarding();
  terminal?.restore();
  process.stdin.destroy();
  // As runc's run: a failure of the teardown (a poststop hook) is logged; the status stays the container's.
  if (!boolFlag(ctx.flags, 'keep')) {
    try {
      destroy(ctx.root, created.record);
    } catch (err) {
      ctx.log.error((err as Error).message);
    }
  }
  return status;
}

function startOrDestroy(root: string, created: Created): void {
  try {
    startContainer(root, created.record.id);
  } catch (err) {
    try {
      process.kill(created.record.pid, 'SIGKILL');
    } catch {
      // gone
    }
    try {
      destroy(root, created.record);
    } catch {
      // the start's failure (a poststart hook's, say) is the one to report
    }
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
