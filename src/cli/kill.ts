// hako kill [--all] <id> [signal]: default SIGTERM; numbers or names, with or without SIG.
import { killContainer } from '../container/lifecycle.js';
import { parseSignal } from '../container/signals.js';
import { boolFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  const signal = parseSignal(ctx.args[1] ?? 'SIGTERM');
  killContainer(ctx.root, ctx.args[0]!, signal, boolFlag(ctx.flags, 'all'));
}
