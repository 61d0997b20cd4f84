// hako delete [--force] <id> (the front's implementation).
import { runVerb } from '../container/verbs.js';
import { boolFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  runVerb('delete', ctx.root, ctx.args, { force: boolFlag(ctx.flags, 'force') }, ctx.log);
}
