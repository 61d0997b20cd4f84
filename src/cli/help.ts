// Help text, rendered by yargs from the command table. Loaded only for help and usage errors.
import yargs, { type Argv, type Options } from 'yargs';
import { GLOBAL_FLAGS, COMMANDS, type CommandSpec, type FlagSpec } from './table.js';

const INTRO = `hako is a low-level OCI container runtime with runc's command line.

Containers are configured using bundles: a directory that holds a specification
file named "config.json" and a root filesystem. To start a new container:

    # hako run [ -b bundle ] <container-id>

Where "<container-id>" is your name for the instance of the container. The
bundle defaults to the current directory.`;

export async function renderHelp(command: CommandSpec | undefined, version: string): Promise<string> {
  const y = baseParser();
  if (!command) {
    y.usage(`${INTRO}\n\nUsage: hako [global options] command [command options] [arguments...]\n\nVersion:\n  ${version.trimEnd().replace(/\n/g, '\n  ')}`);
    y.options(toOptions(GLOBAL_FLAGS)).group(visible(GLOBAL_FLAGS).map((f) => f.name), 'Global options:');
    for (const c of COMMANDS.filter((c) => !c.hidden)) y.command(commandLine(c), c.summary);
    return y.getHelp().then((text) => text + '\n');
  }
  const usage = `hako ${command.name}${command.flags.length ? ' [command options]' : ''}${command.argsUsage ? ' ' + command.argsUsage : ''}`;
  y.usage(`${usage} - ${command.summary}${command.description ? '\n\n' + command.description : ''}`);
  y.options(toOptions(command.flags));
  return y.getHelp().then((text) => text + '\n');
}

function baseParser(): Argv {
  return yargs([]).scriptName('hako').help(false).version(false).exitProcess(false).strict(false).wrap(100);
}

function commandLine(c: CommandSpec): string {
  return c.name;
}

function visible(flags: FlagSpec[]): FlagSpec[] {
  return flags.filter((f) => !f.hidden);
}

function toOptions(flags: FlagSpec[]): Record<string, Options> {
  const out: Record<string, Options> = {};
  for (const f of visible(flags)) {
    out[f.name] = {
      alias: f.aliases,
      describe: f.describe,
      type: f.type === 'bool' ? 'boolean' : f.type === 'uint' ? 'number' : f.type === 'strings' ? 'array' : 'string',
      ...(f.default !== undefined ? { default: f.default } : {}),
    };
  }
  return out;
}
