// Every command and flag hako accepts, declared once as data. The lean parser
// (argv.ts) reads it on every call; help.ts reads it only to print help.
import type { CommandContext } from './context.js';

/** The state root as root, when --root is not given (runc's is /run/runc). */
export const DEFAULT_ROOT = '/run/hako';

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
  /** create, run, exec: the command moves a process into a cgroup (see warmCgroupWriter in main.ts) */
  placesProcess?: boolean;
  load(): Promise<CommandModule>;
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'debug', type: 'bool', describe: 'enable debug logging' },
  { name: 'log', type: 'string', describe: "set the log file to write hako logs to (default is '/dev/stderr')" },
  { name: 'log-format', type: 'string', default: 'text', describe: "set the log format ('text' (default), or 'json')" },
  {
    name: 'root',
    type: 'string',
    default: DEFAULT_ROOT,
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

const CREATE_FLAGS: FlagSpec[] = [
  { ...BUNDLE_FLAG, describe: 'path to the root of the bundle directory, defaults to the current directory' },
  {
    name: 'console-socket',
    type: 'string',
    describe: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
  },
  { name: 'pid-file', type: 'string', describe: 'specify the file to write the process id to' },
  { name: 'pidfd-socket', type: 'string', describe: "path to an AF_UNIX socket which will receive a file descriptor referencing the init process" },
  { name: 'no-pivot', type: 'bool', describe: 'do not use pivot root to jail process inside rootfs' },
  { name: 'no-new-keyring', type: 'bool', describe: 'do not create a new session keyring for the container' },
  {
    name: 'preserve-fds',
    type: 'uint',
    default: 0,
    describe: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
  },
];

export const COMMANDS: CommandSpec[] = [
  {
    name: 'create',
    summary: 'create a container',
    argsUsage: '<container-id>',
    description:
      'The create command creates an instance of a container for a bundle. The bundle is a directory\n' +
      'with a specification file named "config.json" and a root filesystem. Its process waits for "start".',
    args: { min: 1, max: 1 },
    flags: [...CREATE_FLAGS, { name: 'detach', aliases: ['d'], type: 'bool', hidden: true, describe: 'accepted; create always detaches' }],
    placesProcess: true,
    load: () => import('./create.js'),
  },
  {
    name: 'delete',
    summary: 'delete any resources held by the container often used with detached container',
    argsUsage: '<container-id>',
    args: { min: 1, max: 1 },
    flags: [{ name: 'force', aliases: ['f'], type: 'bool', describe: 'Forcibly deletes the container if it is still running (uses SIGKILL)' }],
    load: () => import('./delete.js'),
  },
  {
    name: 'events',
    summary: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
    argsUsage: '<container-id>',
    description:
      'The events command displays information about the container. By default the\n' +
      'information is displayed once every 5 seconds.',
    args: { min: 1, max: 1 },
    flags: [
      { name: 'interval', type: 'string', default: '5s', describe: 'set the stats collection interval' },
      { name: 'stats', type: 'bool', describe: "display the container's stats then exit" },
    ],
    load: () => import('./events.js'),
  },
  {
    name: 'exec',
    summary: 'execute new process inside the container',
    argsUsage: '<container-id> <command> [command options]  || -p process.json <container-id>',
    description:
      'The exec command executes a new process inside an existing (created or running) container.\n' +
      'With -p, process.json is a complete OCI process and the process flags are ignored.',
    args: { min: 1, max: Infinity },
    flags: [
      {
        name: 'console-socket',
        type: 'string',
        describe: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
      },
      { name: 'pidfd-socket', type: 'string', describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the exec process' },
      { name: 'cwd', type: 'string', describe: 'current working directory in the container' },
      { name: 'env', aliases: ['e'], type: 'strings', describe: 'set environment variables' },
      { name: 'tty', aliases: ['t'], type: 'bool', describe: 'allocate a pseudo-TTY' },
      { name: 'user', aliases: ['u'], type: 'string', describe: 'UID (format: <uid>[:<gid>])' },
      { name: 'additional-gids', aliases: ['g'], type: 'strings', describe: 'additional gids' },
      { name: 'process', aliases: ['p'], type: 'string', describe: 'path to the process.json' },
      { name: 'detach', aliases: ['d'], type: 'bool', describe: 'detach from the container\'s process' },
      { name: 'pid-file', type: 'string', describe: 'specify the file to write the process id to' },
      { name: 'process-label', type: 'string', describe: 'set the asm process label for the process commonly used with selinux' },
      { name: 'apparmor', type: 'string', describe: 'set the apparmor profile for the process' },
      { name: 'no-new-privs', type: 'bool', describe: 'set the no new privileges value for the process' },
      { name: 'cap', aliases: ['c'], type: 'strings', describe: 'add a capability to the bounding set for the process' },
      {
        name: 'preserve-fds',
        type: 'uint',
        default: 0,
        describe: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
      },
      { name: 'cgroup', type: 'strings', describe: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.' },
      { name: 'ignore-paused', type: 'bool', describe: 'allow exec in a paused container' },
    ],
    stopAtFirstArg: true,
    placesProcess: true,
    load: () => import('./exec.js'),
  },
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
    name: 'kill',
    summary: "kill sends the specified signal (default: SIGTERM) to the container's init process",
    argsUsage: '<container-id> [signal]',
    args: { min: 1, max: 2 },
    flags: [{ name: 'all', aliases: ['a'], type: 'bool', describe: 'send the specified signal to all processes inside the container' }],
    load: () => import('./kill.js'),
  },
  {
    name: 'list',
    summary: 'lists containers started by hako with the given root',
    argsUsage: '',
    args: { min: 0, max: 0 },
    flags: [
      { name: 'format', aliases: ['f'], type: 'string', default: 'table', describe: 'select one of: table or json' },
      { name: 'quiet', aliases: ['q'], type: 'bool', describe: 'display only container IDs' },
    ],
    load: () => import('./list.js'),
  },
  {
    name: 'pause',
    summary: 'pause suspends all processes inside the container',
    argsUsage: '<container-id>',
    description:
      'The pause command suspends all processes in the instance of the container.\n' +
      'Use hako list to identify instances of containers and their current status.',
    args: { min: 1, max: 1 },
    flags: [],
    load: () => import('./pause.js'),
  },
  {
    name: 'ps',
    summary: 'ps displays the processes running inside a container',
    argsUsage: '<container-id> [ps options]',
    args: { min: 1, max: Infinity },
    flags: [{ name: 'format', aliases: ['f'], type: 'string', default: 'table', describe: 'select one of: table or json' }],
    stopAtFirstArg: true,
    load: () => import('./ps.js'),
  },
  {
    name: 'resume',
    summary: 'resumes all processes that have been previously paused',
    argsUsage: '<container-id>',
    description:
      'The resume command resumes all processes in the instance of the container.\n' +
      'Use hako list to identify instances of containers and their current status.',
    args: { min: 1, max: 1 },
    flags: [],
    load: () => import('./resume.js'),
  },
  {
    name: 'run',
    summary: 'create and run a container',
    argsUsage: '<container-id>',
    args: { min: 1, max: 1 },
    flags: [
      ...CREATE_FLAGS,
      { name: 'detach', aliases: ['d'], type: 'bool', describe: 'detach from the container\'s process' },
      { name: 'keep', type: 'bool', describe: 'do not delete the container after it exits' },
      { name: 'no-subreaper', type: 'bool', describe: 'disable the use of the subreaper used to reap reparented processes' },
    ],
    placesProcess: true,
    load: () => import('./run.js'),
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
    name: 'start',
    summary: 'executes the user defined process in a created container',
    argsUsage: '<container-id>',
    args: { min: 1, max: 1 },
    flags: [],
    load: () => import('./start.js'),
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
    name: 'update',
    summary: 'update container resource constraints',
    argsUsage: '<container-id>',
    description:
      'The update command changes the resources of a running, created or paused container.\n' +
      'With --resources FILE (or - for stdin: an OCI LinuxResources JSON object) every other flag is ignored.',
    args: { min: 1, max: 1 },
    flags: [
      {
        name: 'resources',
        aliases: ['r'],
        type: 'string',
        describe: "path to the file containing the resources to update or '-' to read from the standard input",
      },
      { name: 'blkio-weight', type: 'uint', describe: 'Specifies per cgroup weight, range is from 10 to 1000' },
      { name: 'cpu-period', type: 'string', describe: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-quota', type: 'string', describe: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpu-burst', type: 'string', describe: 'CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period' },
      { name: 'cpu-share', type: 'string', describe: 'CPU shares (relative weight vs. other containers)' },
      { name: 'cpu-rt-period', type: 'string', describe: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
      { name: 'cpu-rt-runtime', type: 'string', describe: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
      { name: 'cpuset-cpus', type: 'string', describe: 'CPU(s) to use' },
      { name: 'cpuset-mems', type: 'string', describe: 'Memory node(s) to use' },
      { name: 'cpu-idle', type: 'string', describe: 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE' },
      { name: 'memory', type: 'string', describe: 'Memory limit (in bytes)' },
      { name: 'memory-reservation', type: 'string', describe: 'Memory reservation or soft_limit (in bytes)' },
      { name: 'memory-swap', type: 'string', describe: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
      { name: 'pids-limit', type: 'string', describe: 'Maximum number of pids allowed in the container' },
      { name: 'l3-cache-schema', type: 'string', describe: 'The string of Intel RDT/CAT L3 cache schema' },
      { name: 'mem-bw-schema', type: 'string', describe: 'The string of Intel RDT/MBA memory bandwidth schema' },
      { name: 'kernel-memory', type: 'string', hidden: true, describe: 'accepted for compatibility with runc; ignored' },
      { name: 'kernel-memory-tcp', type: 'string', hidden: true, describe: 'accepted for compatibility with runc; ignored' },
    ],
    load: () => import('./update.js'),
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
