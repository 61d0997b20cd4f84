// hako kill [--all] <id> [signal]: default SIGTERM; numbers or names, with or without SIG
// (the front's implementation).
import { serveVerb } from '../container/verbs.js';
import { boolFlag, type CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  await serveVerb('kill', ctx.root, ctx.args, { all: boolFlag(ctx.flags, 'all') }, ctx.log);
}
