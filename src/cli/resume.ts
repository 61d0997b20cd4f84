// hako resume <id>: thaw a paused container (the front's implementation).
import { serveVerb } from '../container/verbs.js';
import type { CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  await serveVerb('resume', ctx.root, ctx.args, {}, ctx.log);
}
