// hako validate [-b DIR] [--process FILE]: every problem, one per line, exit 1 if any.
// Things that are accepted but doubtful follow as "warning:" lines and do not fail.
import { writeStdout } from '../output.js';
import { basename } from 'node:path';
import { checkBundleConfig, checkProcessFile } from '../oci/load.js';
import { configWarnings, formatProblem, type Problem } from '../oci/validate.js';
import { stringFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): number {
  const processFile = stringFlag(ctx.flags, 'process');
  let label: string;
  let problems: Problem[];
  let warnings: Problem[] = [];
  if (processFile !== undefined) {
    label = basename(processFile);
    problems = checkProcessFile(processFile).problems;
  } else {
    label = 'config.json';
    const checked = checkBundleConfig(stringFlag(ctx.flags, 'bundle') || process.cwd());
    problems = checked.problems;
    if (problems.length === 0) warnings = configWarnings(checked.value);
  }
  const lines = [
    ...problems.map((p) => formatProblem(label, p)),
    ...warnings.map((w) => formatProblem(label, { ...w, message: `warning: ${w.message}` })),
  ];
  writeStdout(lines.map((l) => l + '\n').join(''));
  return problems.length > 0 ? 1 : 0;
}
