// hako kill [--all] <id> [signal]: default SIGTERM; numbers or names, with or without SIG
// (the front's implementation).
import { runVerb } from '../container/verbs.js';
import { boolFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  runVerb('kill', ctx.root, ctx.args, { all: boolFlag(ctx.flags, 'all') }, ctx.log);
}
