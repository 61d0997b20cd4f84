// hako start <id>: release a created container's process. With NOTIFY_SOCKET set, also
// wait for the container's READY=1 and forward it (the addon is loaded only then).
import { startContainer } from '../container/lifecycle.js';
import type { CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  const host = process.env.NOTIFY_SOCKET;
  if (!host) {
    startContainer(ctx.root, ctx.args[0]!);
    return;
  }
  const { startNotifying } = await import('../container/notify-socket.js');
  await startNotifying(ctx.root, ctx.args[0]!, host);
}
