// Reading config.json and process.json: JSON errors with line and column, then validation.
import { join, resolve } from 'node:path';
import { HakoError } from '../errors.js';
import { parseJsonInput, readInputFile } from '../input-limits.js';
import type { Process, Spec } from './types.js';
import { checkConfig, checkProcess, formatProblem, type Problem } from './validate.js';

/** A JSON input file (config.json, process.json), bounded in size and depth (input-limits.ts). */
export function readJsonFile(file: string, label: string): unknown {
  return parseJsonInput(readInputFile(file, label), label, file);
}

export interface Checked<T> {
  value: T;
  problems: Problem[];
}

/** config.json of a bundle, with every problem found (schema, semantics, root.path against the bundle). */
export function checkBundleConfig(bundleDir: string): Checked<Spec> & { file: string } {
  const dir = resolve(bundleDir);
  const file = join(dir, 'config.json');
  const value = readJsonFile(file, 'config.json');
  return { file, value: value as Spec, problems: checkConfig(value, { bundleDir: dir }) };
}

/**
 * exec -p FILE (and validate --process): a process without `user` runs as uid 0, gid 0,
 * as runc 1.1.5 takes it (config.json's process still needs one, as the schema says).
 */
export function checkProcessFile(file: string): Checked<Process> {
  let value = readJsonFile(resolve(file), file);
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !('user' in value)) {
    value = { ...value, user: { uid: 0, gid: 0 } };
  }
  return { value: value as Process, problems: checkProcess(value) };
}

/** config.json, or a HakoError listing every problem (what create and run use). */
export function loadBundleConfig(bundleDir: string): Spec {
  const { value, problems } = checkBundleConfig(bundleDir);
  if (problems.length > 0) throw problemsError('config.json', problems);
  return value;
}

export function problemsError(label: string, problems: Problem[]): HakoError {
  const lines = problems.map((p) => formatProblem(label, p));
  return new HakoError(lines.join('; '), { pointer: problems[0]!.pointer });
}
