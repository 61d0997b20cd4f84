import t from 'tap';
import { parseArgv } from '../../src/cli/argv.js';
import { UnknownCommandError, UsageError } from '../../src/errors.js';

t.test('global flags take one dash or two, and --flag=value', async (t) => {
  for (const argv of [
    ['--root', '/x', 'state', 'a'],
    ['-root', '/x', 'state', 'a'],
    ['--root=/x', 'state', 'a'],
    ['-root=/x', 'state', 'a'],
  ]) {
    const p = parseArgv(argv);
    t.equal(p.kind, 'command', argv.join(' '));
    if (p.kind !== 'command') continue;
    t.equal(p.globals.root, '/x');
    t.equal(p.command.name, 'state');
    t.same(p.args, ['a']);
  }
});

t.test('bool flags accept =true and =false', async (t) => {
  let p = parseArgv(['--debug=false', '--systemd-cgroup', 'state', 'a']);
  t.equal(p.globals.debug, false);
  t.equal(p.globals['systemd-cgroup'], true);
  p = parseArgv(['-debug=true', 'state', 'a']);
  t.equal(p.globals.debug, true);
  t.throws(() => parseArgv(['--debug=maybe', 'state', 'a']), /invalid boolean value "maybe" for -debug/);
});

t.test('--criu and --rootless are accepted', async (t) => {
  const p = parseArgv(['--criu', '/usr/sbin/criu', '--rootless=true', 'state', 'a']);
  t.equal(p.kind, 'command');
  t.equal(p.globals.criu, '/usr/sbin/criu');
  t.equal(p.globals.rootless, 'true');
});

t.test('command flags before or after the positional arguments, and after --', async (t) => {
  for (const argv of [
    ['spec', '-b', '/b', '--rootless'],
    ['spec', '--rootless', '--bundle=/b'],
    ['spec', '--bundle', '/b', '--rootless=true'],
  ]) {
    const p = parseArgv(argv);
    if (p.kind !== 'command') throw new Error('not a command');
    t.equal(p.flags.bundle, '/b', argv.join(' '));
    t.equal(p.flags.rootless, true);
  }
  const p = parseArgv(['state', '--', 'x']);
  t.equal(p.kind === 'command' && p.args[0], 'x');
});

t.test('version and help', async (t) => {
  t.equal(parseArgv(['--version']).kind, 'version');
  t.equal(parseArgv(['-v']).kind, 'version');
  t.equal(parseArgv([]).kind, 'help');
  t.equal(parseArgv(['--help']).kind, 'help');
  const h = parseArgv(['state', '--help']);
  t.equal(h.kind, 'help');
  t.equal(h.kind === 'help' && h.command?.name, 'state');
  const h2 = parseArgv(['help', 'spec']);
  t.equal(h2.kind === 'help' && h2.command?.name, 'spec');
  t.equal(parseArgv(['state', '-h']).kind, 'help');
});

t.test('usage errors name the fault as runc does', async (t) => {
  const cases: [string[], RegExp, string | undefined][] = [
    [['state'], /^hako: "state" requires exactly 1 argument\(s\)$/, 'state'],
    [['state', 'a', 'b'], /requires exactly 1 argument/, 'state'],
    [['features', 'x'], /"features" requires exactly 0 argument/, 'features'],
    [['--bogus', 'state', 'x'], /^flag provided but not defined: -bogus$/, undefined],
    [['state', '--bogus', 'x'], /^flag provided but not defined: -bogus$/, 'state'],
    [['--root'], /^flag needs an argument: -root$/, undefined],
    [['spec', '--bundle'], /^flag needs an argument: -bundle$/, 'spec'],
  ];
  for (const [argv, msg, command] of cases) {
    try {
      parseArgv(argv);
      t.fail(`${argv.join(' ')} parsed`);
    } catch (err) {
      t.type(err, UsageError, argv.join(' '));
      t.match((err as Error).message, msg);
      t.equal((err as UsageError).command, command);
    }
  }
});

t.test('an unknown command is its own error (exit 3)', async (t) => {
  t.throws(() => parseArgv(['frobnicate']), UnknownCommandError);
  t.throws(() => parseArgv(['help', 'frobnicate']), UnknownCommandError);
  t.throws(() => parseArgv(['frobnicate']), { message: "No help topic for 'frobnicate'" });
});
