// hako delete [--force] <id> (the front's implementation).
import { serveVerb } from '../container/verbs.js';
import { boolFlag, type CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  await serveVerb('delete', ctx.root, ctx.args, { force: boolFlag(ctx.flags, 'force') }, ctx.log);
}
