// hako pause <id>: freeze every process of the container (its cgroup's freezer).
import { pauseContainer } from '../container/lifecycle.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  pauseContainer(ctx.root, ctx.args[0]!);
}
