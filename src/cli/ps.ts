// hako ps [-f table|json] <id> [ps args...]: the container's processes. json: the host
// pids of its cgroup as a JSON array (null when there are none, as runc prints it); table:
// the host's `ps` (default -ef), its header and the rows whose PID is one of them.
import { spawnSync } from 'node:child_process';
import { HakoError } from '../errors.js';
import { containerPids } from '../container/lifecycle.js';
import { writeStdout } from '../output.js';
import { stringFlag, type CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  const format = stringFlag(ctx.flags, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new HakoError(`invalid format option`);
  const pids = containerPids(ctx.root, ctx.args[0]!);
  if (format === 'json') {
    writeStdout(`${pids.length ? JSON.stringify(pids) : 'null'}\n`);
    return;
  }
  const psArgs = ctx.args.length > 1 ? ctx.args.slice(1) : ['-ef'];
  const ps = spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (ps.error) throw new HakoError(`exec: "ps": ${ps.error.message}`);
  if (ps.status !== 0) throw new HakoError(`exit status ${ps.status}: ${ps.stdout}${ps.stderr}`);
  writeStdout(filterPsTable(ps.stdout, pids));
}

/** The header of `ps` output and the rows whose PID column holds one of `pids`. */
export function filterPsTable(output: string, pids: readonly number[]): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const pidIndex = header.trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new HakoError("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const rows = lines.slice(1).filter((line) => {
    if (line === '') return false;
    const field = line.trim().split(/\s+/)[pidIndex];
    const pid = Number(field);
    if (!Number.isInteger(pid)) throw new HakoError(`unable to parse pid: ${JSON.stringify(field)}`);
    return wanted.has(pid);
  });
  return [header, ...rows].map((l) => `${l}\n`).join('');
}
