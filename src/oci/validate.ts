// Validating config.json and process.json: the generated schema validators first, then
// the semantic checks (semantic.ts) on documents the schema accepted. Every fault comes
// back as a Problem: a JSON pointer and a message that names the rule.
//
// The validators in ./generated/ are produced at build time by scripts/gen-validators.mjs
// from schemas/*.json; nothing here compiles a schema.
//
// Numbers: JSON.parse turns integers above 2^53 into the nearest double, so a uint64
// such as 18446744073709551615 passes as its rounded value. Code that needs exact
// 64-bit values (seccomp argument values) must read them from the raw text.
import {
  validateConfig,
  validateProcess,
  validateState,
  validateFeatures,
  type ValidateFunction,
  type ValidatorError,
} from './generated/validators.js';
import { clipMessage } from '../input-limits.js';
import { type Problem, escapeToken, problem, sortProblems } from './problem.js';
import { type SemanticOptions, processProblems, semanticProblems, semanticWarnings } from './semantic.js';
import type { Process, Spec } from './types.js';

export type { Problem } from './problem.js';
export type { SemanticOptions as CheckOptions } from './semantic.js';

/**
 * Schema and semantic checks of a config.json document; [] means valid.
 * Semantic checks run only when the schema passes (they rely on its shape).
 * With bundleDir, root.path must also exist (relative to the bundle) as a directory.
 */
export function checkConfig(config: unknown, opts: SemanticOptions = {}): Problem[] {
  const schema = schemaProblems(validateConfig, config);
  if (schema.length > 0) return schema;
  return sortProblems(semanticProblems(config as Spec, opts));
}

/** Checks a bare process object (exec --process FILE); pointers are relative to it. */
export function checkProcess(process: unknown): Problem[] {
  const schema = schemaProblems(validateProcess, process);
  if (schema.length > 0) return schema;
  return sortProblems(processProblems(process as Process));
}

/** Checks an OCI state document (what hooks read on stdin). */
export function checkState(state: unknown): Problem[] {
  return schemaProblems(validateState, state);
}

/** Checks a features document (`hako features` output). */
export function checkFeatures(features: unknown): Problem[] {
  return schemaProblems(validateFeatures, features);
}

/** Things hako accepts but a user should hear about; [] for an invalid config. */
export function configWarnings(config: unknown): Problem[] {
  if (!validateConfig(config)) return [];
  return sortProblems(semanticWarnings(config as Spec));
}

/**
 * "config.json: /process/args: must be a non-empty array" ("config.json: must be an object"
 * at the root). A huge key in the pointer or value in the message is cut (clipMessage).
 */
export function formatProblem(file: string, p: Problem): string {
  return clipMessage(p.pointer === '' ? `${file}: ${p.message}` : `${file}: ${p.pointer}: ${p.message}`);
}

// ---------------------------------------------------------------- ajv errors -> problems

function schemaProblems(validate: ValidateFunction, data: unknown): Problem[] {
  if (validate(data)) return [];
  return toProblems(validate.errors ?? []);
}

/** One problem per faulty location, sorted by pointer. */
export function toProblems(errors: readonly ValidatorError[]): Problem[] {
  const ranked = collapseAlternatives(errors)
    .filter((e) => e.keyword !== 'if')
    .map((e) => ({ p: describe(e), rank: rankOf(e.keyword) }));
  const best = new Map<string, { p: Problem; rank: number }>();
  for (const r of ranked) {
    const held = best.get(r.p.pointer);
    if (held === undefined || r.rank < held.rank) best.set(r.p.pointer, r);
  }
  return sortProblems([...best.values()].map((r) => r.p));
}

// Which error to keep when one location fails several rules.
const RANK: Record<string, number> = { required: 0, type: 1, enum: 2, const: 2, anyOf: 3, oneOf: 3 };
function rankOf(keyword: string): number {
  return RANK[keyword] ?? 4;
}

/**
 * anyOf/oneOf report every branch's errors plus their own. Keep one story: if all
 * branches only miss a property, say which ones would do; if all only want another
 * type, list the types; otherwise keep the errors of the branch that got furthest.
 */
function collapseAlternatives(errors: readonly ValidatorError[]): ValidatorError[] {
  const drop = new Set<number>();
  const replace = new Map<number, ValidatorError[]>();
  errors.forEach((e, idx) => {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') return;
    if (e.keyword === 'oneOf' && e.params['passingSchemas'] != null) return;
    const prefix = e.schemaPath + '/';
    const branches = new Map<string, ValidatorError[]>();
    for (let j = idx - 1; j >= 0; j--) {
      const b = errors[j]!;
      if (!b.schemaPath.startsWith(prefix) || !b.instancePath.startsWith(e.instancePath)) break;
      const branch = b.schemaPath.slice(prefix.length).split('/')[0]!;
      if (!branches.has(branch)) branches.set(branch, []);
      branches.get(branch)!.unshift(b);
      drop.add(j);
    }
    const ordered = [...branches.entries()].sort(([a], [b]) => Number(a) - Number(b));
    replace.set(idx, summarize(e, ordered.map(([, list]) => list)));
  });
  return errors.flatMap((e, idx) => (drop.has(idx) ? [] : (replace.get(idx) ?? [e])));
}

function summarize(alt: ValidatorError, branches: ValidatorError[][]): ValidatorError[] {
  if (branches.length === 0) return [alt];
  const single = branches.every((b) => b.length === 1 && b[0]!.instancePath === alt.instancePath);
  if (single && branches.every((b) => b[0]!.keyword === 'required')) {
    const names = branches.map((b) => String(b[0]!.params['missingProperty']));
    return [{ ...alt, params: { ...alt.params, anyRequired: names } }];
  }
  if (single && branches.every((b) => b[0]!.keyword === 'type')) {
    const types = [...new Set(branches.flatMap((b) => String(b[0]!.params['type']).split(',')))];
    return [{ ...alt, keyword: 'type', params: { type: types.join(',') } }];
  }
  const depth = (b: ValidatorError[]) => Math.max(...b.map((x) => x.instancePath.split('/').length));
  const chosen = [...branches].sort((x, y) => depth(y) - depth(x) || x.length - y.length)[0]!;
  return chosen;
}

// ---------------------------------------------------------------- messages

const ARTICLE_TYPE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
  null: 'null',
};

// Doubles cannot hold the 64-bit bounds exactly; print what the schema meant.
function formatBound(n: number): string {
  if (n === 2 ** 64) return '18446744073709551615';
  if (n === 2 ** 63) return '9223372036854775807';
  if (n === -(2 ** 63)) return '-9223372036854775808';
  return String(n);
}

function schemaOf(e: ValidatorError): Record<string, unknown> {
  const s = e.parentSchema;
  return s && typeof s === 'object' ? (s as Record<string, unknown>) : {};
}

function describe(e: ValidatorError): Problem {
  const at = e.instancePath;
  const params = e.params;
  const parent = schemaOf(e);
  switch (e.keyword) {
    case 'required':
      return problem(`${at}/${escapeToken(String(params['missingProperty']))}`, 'is required');
    case 'anyOf':
    case 'oneOf': {
      const names = params['anyRequired'];
      if (Array.isArray(names)) return problem(at, `must have ${names.map((n) => JSON.stringify(n)).join(' or ')}`);
      return problem(at, 'does not match any of the allowed forms');
    }
    case 'type': {
      const types = String(params['type']).split(',');
      if (types.length === 1 && types[0] === 'array' && typeof parent['minItems'] === 'number' && parent['minItems'] >= 1) {
        return problem(at, 'must be a non-empty array');
      }
      return problem(at, `must be ${types.map((t) => ARTICLE_TYPE[t] ?? t).join(' or ')}`);
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]) ?? [];
      return problem(at, `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
    }
    case 'const':
      return problem(at, `must be ${JSON.stringify(params['allowedValue'])}`);
    case 'pattern': {
      const hint = parent['x-hint'];
      return problem(at, typeof hint === 'string' ? hint : `must match the pattern ${String(params['pattern'])}`);
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return problem(at, rangeMessage(e.keyword, parent, Number(params['limit'])));
    case 'minItems': {
      const n = Number(params['limit']);
      return problem(at, n === 1 ? 'must be a non-empty array' : `must have at least ${n} items`);
    }
    case 'maxItems':
      return problem(at, `must have at most ${Number(params['limit'])} items`);
    case 'minLength': {
      const n = Number(params['limit']);
      return problem(at, n === 1 ? 'must not be empty' : `must be at least ${n} characters long`);
    }
    case 'maxLength':
      return problem(at, `must be at most ${Number(params['limit'])} characters long`);
    case 'additionalProperties':
      return problem(`${at}/${escapeToken(String(params['additionalProperty']))}`, 'is not allowed here');
    case 'uniqueItems':
      return problem(at, `must not repeat items (${Number(params['j'])} and ${Number(params['i'])} are equal)`);
    default:
      return problem(at, e.message ?? `fails the "${e.keyword}" rule`);
  }
}

function rangeMessage(keyword: string, parent: Record<string, unknown>, limit: number): string {
  const min = parent['minimum'];
  const max = parent['maximum'];
  if (typeof min === 'number' && typeof max === 'number') {
    return `must be ${parent['type'] === 'integer' ? 'an integer ' : ''}between ${formatBound(min)} and ${formatBound(max)}`;
  }
  switch (keyword) {
    case 'minimum':
      return `must be >= ${formatBound(limit)}`;
    case 'maximum':
      return `must be <= ${formatBound(limit)}`;
    case 'exclusiveMinimum':
      return `must be > ${formatBound(limit)}`;
    default:
      return `must be < ${formatBound(limit)}`;
  }
}
