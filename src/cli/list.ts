// hako list [-f table|json] [-q]: every container under --root.
import { statSync, readFileSync } from 'node:fs';
import { HakoError } from '../errors.js';
import { containerDir, listContainerIds, readContainer } from '../container/state-store.js';
import { liveStatus } from '../container/status.js';
import { stateJson } from './state.js';
import { boolFlag, stringFlag, type CommandContext } from './context.js';
import { writeStderr, writeStdout } from '../output.js';

interface Row {
  id: string;
  state: Record<string, unknown>;
}

export function run(ctx: CommandContext): void {
  const format = stringFlag(ctx.flags, 'format') ?? 'table';
  if (format !== 'table' && format !== 'json') throw new HakoError(`invalid format option`);
  const rows = loadRows(ctx.root);
  if (boolFlag(ctx.flags, 'quiet')) {
    writeStdout(rows.map((r) => r.id + '\n').join(''));
    return;
  }
  if (format === 'json') {
    writeStdout((rows.length ? JSON.stringify(rows.map((r) => r.state)) : 'null') + '\n');
    return;
  }
  const table = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
  for (const { state: s } of rows) table.push([String(s.id), String(s.pid), String(s.status), String(s.bundle), String(s.created), String(s.owner)]);
  writeStdout(alignColumns(table));
}

// Entries that fail to load are skipped with a message, as runc does.
function loadRows(root: string): Row[] {
  const rows: Row[] = [];
  const users = userNames();
  for (const id of listContainerIds(root)) {
    try {
      const rec = readContainer(root, id);
      const dir = containerDir(root, id);
      const uid = statSync(dir).uid;
      rows.push({ id, state: stateJson(rec, liveStatus(rec, dir), users.get(uid) ?? `#${uid}`) });
    } catch (err) {
      writeStderr(`load container ${id}: ${(err as Error).message}\n`);
    }
  }
  return rows;
}

function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]!);
    }
  } catch {
    // no passwd: owners print as #uid
  }
  return names;
}

// Go's tabwriter(minwidth 12, tabwidth 1, padding 3, ' '): every cell but a line's last
// is padded to its column's widest cell plus 3, and at least 12.
export function alignColumns(table: string[][]): string {
  const widths: number[] = [];
  for (const row of table) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return table
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(Math.max(12, widths[i]! + 3)))).join('') + '\n')
    .join('');
}
