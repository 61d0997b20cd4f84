// Reading config.json and process.json: JSON errors with line and column, then validation.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HakoError, fromSystemError } from '../errors.js';
import { describeJsonError } from './json-syntax.js';
import type { Process, Spec } from './types.js';
import { checkConfig, checkProcess, formatProblem, type Problem } from './validate.js';

export function readJsonFile(file: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fromSystemError(err);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HakoError(`${label}: invalid JSON: ${describeJsonError(text, err)}`, { path: file });
  }
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

export function checkProcessFile(file: string): Checked<Process> {
  const value = readJsonFile(resolve(file), file);
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
