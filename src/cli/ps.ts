// hako ps [-f table|json] <id> [ps args...]: the container's processes. json: the host
// pids of its cgroup (null when none, as runc prints it); table: the host's `ps` (default
// -ef), its header and the rows whose PID is one of them (the front's implementation).
import { serveVerb } from '../container/verbs.js';
import { writeStdout } from '../output.js';
import { stringFlag, type CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  writeStdout((await serveVerb('ps', ctx.root, ctx.args, { format: stringFlag(ctx.flags, 'format') ?? 'table' }, ctx.log)).stdout);
}
