// hako state <id>: the OCI state, 2-space indented, no trailing newline (as runc).
// The front's implementation (src/container/verbs.ts).
import { writeStdout } from '../output.js';
import { runVerb } from '../container/verbs.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  writeStdout(runVerb('state', ctx.root, ctx.args).stdout);
}
