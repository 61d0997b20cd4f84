// hako start <id>: release a created container's process; with NOTIFY_SOCKET set, also
// wait for the container's READY=1 and forward it (the front's implementation). The
// notify module is loaded only when the variable is there.
import { serveVerb } from '../container/verbs.js';
import type { CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  const host = process.env.NOTIFY_SOCKET ? (await import('../container/notify-socket.js')).hostNotifySocket() : undefined;
  await serveVerb('start', ctx.root, ctx.args, host ? { notifyHost: host } : {}, ctx.log);
}
