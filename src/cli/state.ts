// hako state <id>: the OCI state, 2-space indented, no trailing newline (as runc).
// The front's implementation (src/container/verbs.ts).
import { writeStdout } from '../output.js';
import { serveVerb } from '../container/verbs.js';
import type { CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  writeStdout((await serveVerb('state', ctx.root, ctx.args, {}, ctx.log)).stdout);
}
