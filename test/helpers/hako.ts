// Running the hako executable under test: $HAKO_BIN, else dist/hako (npm run build).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';


export function hakoBin(): string {
  const bin = process.env.HAKO_BIN ?? join(REPO_ROOT, 'dist', 'hako');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: run npm run build first`);
  return bin;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function hako(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(hakoBin(), args, {
    cwd: opts.cwd,
    input: opts.input,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
