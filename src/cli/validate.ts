// hako validate [-b DIR] [--process FILE]: every problem, one per line, exit 1 if any.
import { basename } from 'node:path';
import { checkBundleConfig, checkProcessFile } from '../oci/load.js';
import { formatProblem, type Problem } from '../oci/validate.js';
import { stringFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): number {
  const processFile = stringFlag(ctx.flags, 'process');
  let label: string;
  let problems: Problem[];
  if (processFile !== undefined) {
    label = basename(processFile);
    problems = checkProcessFile(processFile).problems;
  } else {
    label = 'config.json';
    problems = checkBundleConfig(stringFlag(ctx.flags, 'bundle') || process.cwd()).problems;
  }
  if (problems.length === 0) return 0;
  process.stdout.write(problems.map((p) => formatProblem(label, p) + '\n').join(''));
  return 1;
}
