// hako delete [--force] <id>
import { deleteContainer } from '../container/lifecycle.js';
import { boolFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  deleteContainer(ctx.root, ctx.args[0]!, boolFlag(ctx.flags, 'force'));
}
