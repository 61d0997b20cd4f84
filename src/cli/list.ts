// hako list [-f table|json] [-q]: every container under --root (the front's implementation).
import { serveVerb } from '../container/verbs.js';
import { boolFlag, stringFlag, type CommandContext } from './context.js';
import { writeStderr, writeStdout } from '../output.js';

export async function run(ctx: CommandContext): Promise<void> {
  const r = await serveVerb('list', ctx.root, [], { format: stringFlag(ctx.flags, 'format') ?? 'table', quiet: boolFlag(ctx.flags, 'quiet') }, ctx.log);
  if (r.stderr) writeStderr(r.stderr);
  writeStdout(r.stdout);
}
