// The lean command-line parser: runc's (urfave/cli v1) rules, no parsing library.
// Long flags take one dash or two, values as "--f v" or "--f=v", bools as "--f" or "--f=false".
import { UnknownCommandError, UsageError } from '../errors.js';
import { COMMANDS, GLOBAL_FLAGS, findCommand, type CommandSpec, type FlagSpec } from './table.js';

export type FlagValue = string | boolean | number | string[];
export type FlagValues = Record<string, FlagValue | undefined>;

export type Parsed =
  | { kind: 'version'; globals: FlagValues }
  | { kind: 'help'; globals: FlagValues; command?: CommandSpec }
  | { kind: 'command'; globals: FlagValues; command: CommandSpec; flags: FlagValues; args: string[] };

interface FlagParse {
  flags: FlagValues;
  positionals: string[];
  /** index in the token list where flag parsing stopped (first positional when stopping there) */
  stoppedAt: number;
}

export function parseArgv(argv: string[]): Parsed {
  const g = parseFlags(argv, GLOBAL_FLAGS, { stopAtFirstArg: true, command: undefined });
  const globals = g.flags;
  if (globals.version) return { kind: 'version', globals };
  const rest = argv.slice(g.stoppedAt);
  if (globals.help || rest.length === 0) return { kind: 'help', globals };

  const name = rest[0]!;
  if (name === 'help' || name === 'h') {
    const topic = rest[1];
    if (topic === undefined) return { kind: 'help', globals };
    const command = findCommand(topic);
    if (!command) throw new UnknownCommandError(topic);
    return { kind: 'help', globals, command };
  }
  const command = findCommand(name);
  if (!command) throw new UnknownCommandError(name);

  const specs = [...command.flags, HELP_FLAG];
  const c = parseFlags(rest.slice(1), specs, { stopAtFirstArg: command.stopAtFirstArg ?? false, command: command.name });
  if (c.flags.help) return { kind: 'help', globals, command };
  const args = c.positionals;
  checkArgCount(command, args.length);
  return { kind: 'command', globals, command, flags: c.flags, args };
}

const HELP_FLAG: FlagSpec = { name: 'help', aliases: ['h'], type: 'bool', describe: 'show help' };

function checkArgCount(command: CommandSpec, n: number): void {
  const { min, max } = command.args;
  if (n >= min && n <= max) return;
  let rule: string;
  if (min === max) rule = `requires exactly ${min} argument(s)`;
  else if (n < min) rule = `requires a minimum of ${min} argument(s)`;
  else rule = `requires a maximum of ${max} argument(s)`;
  throw new UsageError(`hako: "${command.name}" ${rule}`, command.name);
}

function parseFlags(
  tokens: string[],
  specs: FlagSpec[],
  opts: { stopAtFirstArg: boolean; command: string | undefined },
): FlagParse {
  const flags: FlagValues = {};
  const positionals: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok === '--') {
      positionals.push(...tokens.slice(i + 1));
      return { flags, positionals, stoppedAt: tokens.length };
    }
    if (tok.length < 2 || tok[0] !== '-') {
      if (opts.stopAtFirstArg) {
        positionals.push(...tokens.slice(i));
        return { flags, positionals, stoppedAt: i };
      }
      positionals.push(tok);
      continue;
    }
    const body = tok.startsWith('--') ? tok.slice(2) : tok.slice(1);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const spec = specs.find((s) => s.name === name || s.aliases?.includes(name));
    if (!spec) {
      const detail = `flag provided but not defined: -${name}`;
      throw new UsageError(detail, opts.command, detail);
    }
    if (spec.type === 'bool') {
      flags[spec.name] = inline === undefined ? true : parseBool(inline, name, opts.command);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= tokens.length) {
        const detail = `flag needs an argument: -${name}`;
        throw new UsageError(detail, opts.command, detail);
      }
      value = tokens[++i]!;
    }
    flags[spec.name] = flagValue(spec, value, flags[spec.name], name, opts.command);
  }
  return { flags, positionals, stoppedAt: tokens.length };
}

function flagValue(
  spec: FlagSpec,
  value: string,
  previous: FlagValue | undefined,
  given: string,
  command: string | undefined,
): FlagValue {
  switch (spec.type) {
    case 'strings':
      return [...((previous as string[] | undefined) ?? []), value];
    case 'uint': {
      if (!/^\d+$/.test(value)) {
        const detail = `invalid value "${value}" for flag -${given}: parse error`;
        throw new UsageError(detail, command, detail);
      }
      return Number(value);
    }
    default:
      return value;
  }
}

function parseBool(value: string, given: string, command: string | undefined): boolean {
  // Go's strconv.ParseBool
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  const detail = `invalid boolean value "${value}" for -${given}: parse error`;
  throw new UsageError(detail, command, detail);
}

export function visibleCommands(): CommandSpec[] {
  return COMMANDS.filter((c) => !c.hidden);
}
