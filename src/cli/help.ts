// Help text in urfave/cli v1's layout, as runc prints it (NAME:, USAGE:, VERSION:,
// COMMANDS:, GLOBAL OPTIONS: / OPTIONS:), rendered from the command table. Loaded only
// for help and usage errors.
//
// Not yargs: its help has a fixed layout of its own (options as "-b, --bundle" followed
// by "[string]" type tags, commands prefixed with the program's name, its own section
// names and wrapping), which no setting turns into urfave's. The layout is a few lines
// of templates and one column alignment, written here.
import { GLOBAL_FLAGS, COMMANDS, type CommandSpec, type FlagSpec } from './table.js';

const NAME = 'hako';
const USAGE = "a low-level OCI container runtime with runc's command line";
const ABOUT = `hako validates the "config.json" of a bundle against the OCI runtime-spec, naming
every problem with its JSON pointer before it touches the host, and runs the container
it describes. Its commands, flags, output and exit codes are runc's, so that container
managers (containerd, podman through conmon, Docker) run it as they run runc.

Containers are configured using bundles. A bundle for a container is a directory
that includes a specification file named "config.json" and a root filesystem.

To start a new instance of a container:

    # hako run [ -b bundle ] <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. Providing the bundle directory using "-b" is optional. The default
value for "bundle" is the current directory.`;

/** The help of hako, or of one command; `version` is `hako --version`'s text. */
export async function renderHelp(command: CommandSpec | undefined, version: string): Promise<string> {
  return command ? commandHelp(command) : appHelp(version);
}

function appHelp(version: string): string {
  const commands = COMMANDS.filter((c) => !c.hidden).map((c): [string, string] => [[c.name, ...(c.aliases ?? [])].join(', '), c.summary]);
  commands.push(['help, h', 'Shows a list of commands or help for one command']);
  return [
    `NAME:\n   ${NAME} - ${USAGE}\n\n${ABOUT}`,
    `USAGE:\n   ${NAME} [global options] command [command options] [arguments...]`,
    `VERSION:\n   ${version.trimEnd().replace(/^hako version /, '')}`,
    `COMMANDS:\n${columns(commands)}`,
    `GLOBAL OPTIONS:\n${columns(visible(GLOBAL_FLAGS).map(flagCells))}`,
  ].join('\n\n') + '\n';
}

function commandHelp(c: CommandSpec): string {
  const flags = visible(c.flags);
  const usage = `${NAME} ${c.name}${flags.length > 0 ? ' [command options]' : ''} ${c.argsUsage || '[arguments...]'}`;
  const parts = [`NAME:\n   ${NAME} ${c.name} - ${c.summary}`, `USAGE:\n   ${usage}`];
  if (c.description) parts.push(`DESCRIPTION:\n   ${c.description}`);
  // urfave ends the list with an indented empty line.
  if (flags.length > 0) parts.push(`OPTIONS:\n${columns(flags.map(flagCells))}\n   `);
  return parts.join('\n\n') + '\n';
}

function visible(flags: FlagSpec[]): FlagSpec[] {
  return flags.filter((f) => !f.hidden);
}

/** "--bundle value, -b value" and "path to ... (default: "x")", as urfave/cli v1 words a flag. */
function flagCells(f: FlagSpec): [string, string] {
  const placeholder = f.type === 'bool' ? '' : ' value';
  const names = [f.name, ...(f.aliases ?? [])].map((n) => `${n.length === 1 ? '-' : '--'}${n}${placeholder}`).join(', ');
  let usage = f.describe;
  if (f.type === 'uint') usage += ` (default: ${f.default ?? 0})`;
  else if (f.type === 'string' && typeof f.default === 'string' && f.default !== '') usage += ` (default: ${JSON.stringify(f.default)})`;
  return [names, usage];
}

/** Rows indented by three, the second column two spaces past the widest first cell (Go's tabwriter, padding 2). */
function columns(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `   ${a.padEnd(width + 2)}${b}`).join('\n');
}
