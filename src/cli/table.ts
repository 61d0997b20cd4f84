// Every command and flag hako accepts, declared once as data. The lean parser
// (argv.ts) reads it on every call; yargs (help.ts) reads it only to print help.
import type { CommandContext } from './context.js';

export type FlagType = 'bool' | 'string' | 'uint' | 'strings';

export interface FlagSpec {
  name: string;
  aliases?: string[];
  type: FlagType;
  describe: string;
  default?: string | boolean | number;
  /** accepted and ignored (e.g. --criu), or ours but internal */
  hidden?: boolean;
}

export interface CommandModule {
  run(ctx: CommandContext): number | void | Promise<number | void>;
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  summary: string;
  /** what follows "hako <name> [command options]" in the usage line */
  argsUsage: string;
  description?: string;
  /** positional argument count, checked as runc does ("requires exactly 1 argument(s)") */
  args: { min: number; max: number };
  flags: FlagSpec[];
  /** exec-style: flags stop at the first positional argument */
  stopAtFirstArg?: boolean;
  hidden?: boolean;
  load(): Promise<CommandModule>;
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'debug', type: 'bool', describe: 'enable debug logging' },
  { name: 'log', type: 'string', describe: "set the log file to write hako logs to (default is '/dev/stderr')" },
  { name: 'log-format', type: 'string', default: 'text', describe: "set the log format ('text' (default), or 'json')" },
  {
    name: 'root',
    type: 'string',
    default: '/run/hako',
    describe: 'root directory for storage of container state (this should be located in tmpfs)',
  },
  { name: 'criu', type: 'string', hidden: true, describe: 'accepted for compatibility with runc; ignored' },
  {
    name: 'systemd-cgroup',
    type: 'bool',
    describe:
      'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:runc:434234"',
  },
  {
    name: 'rootless',
    type: 'string',
    default: 'auto',
    describe: "ignore cgroup permission errors ('true', 'false', or 'auto')",
  },
  { name: 'help', aliases: ['h'], type: 'bool', describe: 'show help' },
  { name: 'version', aliases: ['v'], type: 'bool', describe: 'print the version' },
];

const BUNDLE_FLAG: FlagSpec = {
  name: 'bundle',
  aliases: ['b'],
  type: 'string',
  describe: 'path to the root of the bundle directory',
};

export const COMMANDS: CommandSpec[] = [
  {
    name: 'features',
    summary: 'show the enabled features',
    argsUsage: '',
    description: 'Show the enabled features.\nThe result is parsable as a JSON.',
    args: { min: 0, max: 0 },
    flags: [],
    load: () => import('./features.js'),
  },
  {
    name: 'spec',
    summary: 'create a new specification file',
    argsUsage: '',
    description:
      'The spec command creates the new specification file named "config.json" for the bundle.\n' +
      'The spec generated is just a starter file. Editing of the spec is required to achieve desired results.',
    args: { min: 0, max: Infinity },
    flags: [
      { ...BUNDLE_FLAG, describe: 'path to the root of the bundle directory' },
      { name: 'rootless', type: 'bool', describe: 'generate a configuration for a rootless container' },
    ],
    load: () => import('./spec.js'),
  },
  {
    name: 'state',
    summary: 'output the state of a container',
    argsUsage: '<container-id>',
    description: 'The state command outputs current state information for the instance of a container.',
    args: { min: 1, max: 1 },
    flags: [],
    load: () => import('./state.js'),
  },
  {
    name: 'validate',
    summary: 'check a bundle or a process.json against the OCI runtime-spec (hako only)',
    argsUsage: '',
    description:
      'Validates config.json of the bundle (or a process.json given with --process) against the\n' +
      'OCI runtime-spec 1.3 schemas and the checks a runtime makes before it creates anything,\n' +
      'and prints every problem, one per line, as "<file>: <JSON pointer>: <rule>". Exit 1 if any.',
    args: { min: 0, max: 0 },
    flags: [
      { ...BUNDLE_FLAG, describe: 'path to the root of the bundle directory, defaults to the current directory' },
      { name: 'process', aliases: ['p'], type: 'string', describe: 'path to a process.json to validate instead' },
    ],
    load: () => import('./validate.js'),
  },
  {
    name: 'self-test',
    summary: 'check that the embedded addon and hako-init load (diagnostics)',
    argsUsage: '',
    args: { min: 0, max: 0 },
    flags: [],
    hidden: true,
    load: () => import('./self-test.js'),
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}
