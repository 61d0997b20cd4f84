// hako resume <id>: thaw a paused container (the front's implementation).
import { runVerb } from '../container/verbs.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  runVerb('resume', ctx.root, ctx.args);
}
