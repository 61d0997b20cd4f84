// hako start <id>: release a created container's process.
import { startContainer } from '../container/lifecycle.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  startContainer(ctx.root, ctx.args[0]!);
}
