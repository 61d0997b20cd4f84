// hako pause <id>: freeze every process of the container (the front's implementation).
import { runVerb } from '../container/verbs.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  runVerb('pause', ctx.root, ctx.args);
}
