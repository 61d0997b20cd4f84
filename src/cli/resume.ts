// hako resume <id>: thaw a paused container.
import { resumeContainer } from '../container/lifecycle.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  resumeContainer(ctx.root, ctx.args[0]!);
}
