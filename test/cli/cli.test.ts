// The executable's contract: version, help, usage errors, exit codes, error output and logs.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hako, hakoBin } from '../helpers/hako.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { COMMANDS } from '../../src/cli/table.js';

const TEXT_ERROR = /^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" level=error msg="(.*)"\n$/;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hako-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// What the executable under test runs on, asked of the engine itself: a Bun single-file
// executable is bun again with BUN_BE_BUN=1; a Node single-executable application holds
// the node binary of node-linux-<arch>; a script (bin/hako) runs on the node in $PATH.
/** The brain beside the front (dist/hako and dist/libexec/hako/hako-brain), else the executable itself. */
function brainOf(front: string): string {
  const beside = join(dirname(realpathSync(front)), 'libexec', 'hako', 'hako-brain');
  return existsSync(beside) ? beside : front;
}

function engineOf(): string {
  const bin = brainOf(hakoBin());
  const bun = spawnSync(bin, ['--version'], { env: { ...process.env, BUN_BE_BUN: '1' }, encoding: 'utf8' });
  if (bun.status === 0 && /^\d+\.\d+\.\d+\s*$/.test(bun.stdout)) return `bun: ${bun.stdout.trim()}`;
  if (readFileSync(bin).subarray(0, 2).toString() === '#!') return `node: ${spawnSync('node', ['--version'], { encoding: 'utf8' }).stdout.trim()}`;
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', `node-linux-${arch}`, 'package.json'), 'utf8')) as { version: string };
  return `node: v${pkg.version}`;
}

t.test('--version: hako version X.Y.Z, commit:, spec: 1.3.0', async (t) => {
  const engineLine = engineOf();
  for (const flag of ['--version', '-v', '-version']) {
    const r = hako([flag]);
    t.equal(r.status, 0);
    const lines = r.stdout.trimEnd().split('\n');
    t.match(lines[0], /^hako version \d+\.\d+\.\d+/);
    t.match(lines[1], /^commit: \S+$/);
    t.equal(lines[2], 'spec: 1.3.0');
    t.equal(lines[3], engineLine, 'the engine and its own version (not the Node version Bun imitates)');
    t.equal(r.stderr, '');
  }
  const brain = brainOf(hakoBin());
  if (brain !== hakoBin()) {
    const own = spawnSync(brain, ['--version'], { encoding: 'utf8' });
    t.equal(hako(['--version']).stdout, own.stdout, 'the front says what the brain says');
  }
});

t.test('help: global, per command, help <cmd>, no arguments', async (t) => {
  for (const argv of [['--help'], ['-h'], []]) {
    const r = hako(argv);
    t.equal(r.status, 0, argv.join(' '));
    for (const cmd of ['spec', 'state', 'features', 'validate']) t.match(r.stdout, new RegExp(`^   ${cmd} +\\S`, 'm'));
    t.match(r.stdout, /--root/);
    t.notMatch(r.stdout, /self-test/, 'hidden commands stay hidden');
    t.equal(r.stderr, '');
  }
  for (const argv of [['state', '--help'], ['state', '-h'], ['help', 'state'], ['--root', '/x', 'state', '-help']]) {
    const r = hako(argv);
    t.equal(r.status, 0, argv.join(' '));
    t.match(r.stdout, /hako state <container-id>/);
    t.equal(r.stderr, '');
  }
  for (const c of COMMANDS) {
    const r = hako([c.name, '--help']);
    t.equal(r.status, 0, `${c.name} --help`);
    t.match(r.stdout, new RegExp(`hako ${c.name}`));
    for (const f of c.flags.filter((f) => !f.hidden)) t.match(r.stdout, `--${f.name}`, `${c.name} --help names --${f.name}`);
  }
  const spec = hako(['spec', '--help']);
  t.match(spec.stdout, /--bundle/);
  t.match(spec.stdout, /--rootless/);
});

// The sections of a urfave/cli help text ("NAME:", "GLOBAL OPTIONS:") and its flag cells,
// "--bundle value, -b value" -> the whole line's first column.
const sections = (text: string): string[] => text.split('\n').filter((l) => /^[A-Z][A-Z ]+:$/.test(l));
const flagCells = (text: string): Map<string, string> =>
  new Map(
    text
      .split('\n')
      .filter((l) => /^   --\S/.test(l))
      .map((l) => {
        const cell = /^   (--.*?)(?: {2,}|$)/.exec(l)![1]!;
        return [cell.split(/[ ,]/)[0]!, cell];
      }),
  );
const runcSkip = existsSync('/usr/bin/runc') || existsSync('/usr/sbin/runc') ? false : 'runc not installed';
const runc = (args: string[]) => spawnSync('runc', args, { encoding: 'utf8' });

t.test('help in urfave/cli\'s layout, as runc: hako -h and hako COMMAND -h against runc', { skip: runcSkip }, async (t) => {
  const ours = hako(['-h']).stdout;
  const theirs = runc(['-h']).stdout;
  t.same(sections(ours), ['NAME:', 'USAGE:', 'VERSION:', 'COMMANDS:', 'GLOBAL OPTIONS:'], 'hako -h: the sections');
  t.same(sections(ours), sections(theirs), 'the same sections as runc -h');
  t.match(ours, /^NAME:\n   hako - a low-level OCI container runtime/, "hako's own name and description");
  t.match(ours, /\nUSAGE:\n   hako \[global options\] command \[command options\] \[arguments\.\.\.\]\n/);
  t.match(ours, /\nVERSION:\n   \d+\.\d+\.\d+\ncommit: /, 'the version as runc shows its own');
  t.match(ours, /\n   help, h +Shows a list of commands or help for one command\n/);
  const globals = flagCells(ours);
  for (const [flag, cell] of flagCells(theirs)) {
    if (globals.has(flag)) t.equal(globals.get(flag), cell, `global ${flag}: written as runc writes it`);
  }
  t.equal(globals.get('--root'), '--root value');
  for (const c of COMMANDS.filter((c) => !c.hidden)) {
    const h = hako([c.name, '-h']).stdout;
    t.equal(sections(h)[0], 'NAME:', `${c.name}: NAME: first`);
    t.match(h, new RegExp(`^NAME:\\n   hako ${c.name} - `), `${c.name}: its name`);
    t.match(h, new RegExp(`\\nUSAGE:\\n   hako ${c.name} `), `${c.name}: its usage`);
    const r = runc([c.name, '-h']);
    if (r.status !== 0) continue; // validate is hako's own
    const cells = flagCells(h);
    for (const [flag, cell] of flagCells(r.stdout)) {
      if (cells.has(flag)) t.equal(cells.get(flag), cell, `${c.name} ${flag}: written as runc writes it`);
    }
  }
  const create = hako(['create', '-h']).stdout;
  t.same(sections(create), sections(runc(['create', '-h']).stdout), 'create -h: the same sections as runc create -h');
  t.same(sections(create), ['NAME:', 'USAGE:', 'DESCRIPTION:', 'OPTIONS:']);
  t.match(create, /\n   --preserve-fds value +Pass N additional .* \(default: 0\)\n/, 'a default as urfave shows it');
});

t.test('wrong number of arguments: Incorrect Usage + help on stdout, error on stderr, exit 1', async (t) => {
  const r = hako(['state']);
  t.equal(r.status, 1);
  t.match(r.stdout, /^Incorrect Usage\.\n\n/);
  t.match(r.stdout, /hako state <container-id>/);
  t.match(r.stderr, TEXT_ERROR);
  t.equal(TEXT_ERROR.exec(r.stderr)![1], 'hako: \\"state\\" requires exactly 1 argument(s)');
});

t.test('unknown flags: Incorrect Usage: flag provided but not defined, exit 1', async (t) => {
  let r = hako(['state', '--bogus', 'x']);
  t.equal(r.status, 1);
  t.match(r.stdout, /^Incorrect Usage: flag provided but not defined: -bogus\n/);
  t.match(r.stdout, /hako state/);
  t.equal(TEXT_ERROR.exec(r.stderr)?.[1], 'flag provided but not defined: -bogus');
  r = hako(['--bogus', 'state', 'x']);
  t.equal(r.status, 1);
  t.match(r.stdout, /^Incorrect Usage: flag provided but not defined: -bogus\n/);
});

t.test('unknown command: exit 3', async (t) => {
  const r = hako(['frobnicate']);
  t.equal(r.status, 3);
  t.equal(r.stdout, '');
  t.equal(TEXT_ERROR.exec(r.stderr)?.[1], "No help topic for 'frobnicate'");
});

t.test('state of a missing container: exit 1, runc wording, text or json', async (t) => {
  const root = tempDir(t);
  let r = hako(['--root', root, 'state', 'nope']);
  t.equal(r.status, 1);
  t.equal(r.stdout, '');
  t.equal(TEXT_ERROR.exec(r.stderr)?.[1], 'container does not exist');
  r = hako(['--root', root, '--log-format', 'json', 'state', 'nope']);
  t.equal(r.status, 1);
  const line = JSON.parse(r.stderr);
  t.same(Object.keys(line), ['level', 'msg', 'time']);
  t.equal(line.level, 'error');
  t.equal(line.msg, 'container does not exist');
  r = hako(['--root', root, 'state', 'a b']);
  t.equal(TEXT_ERROR.exec(r.stderr)?.[1], 'invalid container ID format');
  r = hako(['--root', root, 'state', '..']);
  t.equal(TEXT_ERROR.exec(r.stderr)?.[1], 'invalid container ID format');
});

t.test('--log FILE --log-format json: one error line appended, bare message on stderr', async (t) => {
  const dir = tempDir(t);
  const log = join(dir, 'log.json');
  for (let i = 0; i < 2; i++) {
    const r = hako(['--root', dir, '--log', log, '--log-format=json', 'state', 'nope']);
    t.equal(r.status, 1);
    t.equal(r.stderr, 'container does not exist\n');
  }
  const lines = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 2);
  for (const l of lines) {
    t.equal(l.level, 'error');
    t.equal(l.msg, 'container does not exist');
    t.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
});

t.test('--log-format other than text or json is refused', async (t) => {
  const r = hako(['--log-format', 'xml', 'state', 'x']);
  t.equal(r.status, 1);
  t.equal(TEXT_ERROR.exec(r.stderr)?.[1], 'invalid log-format: xml');
});

t.test('--root / is refused; --criu, --systemd-cgroup, --rootless, --debug are accepted', async (t) => {
  let r = hako(['--root', '/', 'state', 'x']);
  t.equal(r.status, 1);
  t.match(r.stderr, /should not be set to \//);
  const root = tempDir(t);
  r = hako(['--criu', 'criu', '--systemd-cgroup', '--rootless=false', '--debug', '--root', root, 'state', 'x']);
  t.equal(r.status, 1);
  t.match(r.stderr, /container does not exist/);
});

t.test('spec: writes config.json once, refuses to overwrite', async (t) => {
  const dir = tempDir(t);
  let r = hako(['spec'], { cwd: dir });
  t.equal(r.status, 0);
  t.equal(r.stdout, '');
  t.equal(r.stderr, '');
  const text = readFileSync(join(dir, 'config.json'), 'utf8');
  t.match(text, /^\{\n\t"ociVersion": "1\.3\.0",/);
  t.notMatch(text, /\n$/, 'no trailing newline, as runc');
  const spec = JSON.parse(text);
  t.same(spec.process.args, ['sh']);
  t.equal(spec.root.path, 'rootfs');
  r = hako(['spec'], { cwd: dir });
  t.equal(r.status, 1);
  t.equal(TEXT_ERROR.exec(r.stderr)?.[1], 'File config.json exists. Remove it first');
});

t.test('spec --rootless -b DIR: user namespace mapping the caller', async (t) => {
  const dir = tempDir(t);
  const r = hako(['spec', '--rootless', '-b', dir]);
  t.equal(r.status, 0);
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  t.ok(spec.linux.namespaces.some((n: { type: string }) => n.type === 'user'));
  t.notOk(spec.linux.namespaces.some((n: { type: string }) => n.type === 'network'));
  t.same(spec.linux.uidMappings, [{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
  const missing = hako(['spec', '-b', join(dir, 'nope')]);
  t.equal(missing.status, 1);
  t.match(TEXT_ERROR.exec(missing.stderr)?.[1], /^chdir .*nope: no such file or directory$/);
});

t.test('features: OCI features JSON, 4-space indent, trailing newline, truthful', async (t) => {
  const r = hako(['features']);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.match(r.stdout, /^\{\n {4}"ociVersionMin": "1\.0\.0",\n/);
  t.match(r.stdout, /\}\n$/);
  const f = JSON.parse(r.stdout);
  t.equal(f.ociVersionMax, '1.3.0');
  t.type(f.linux, 'object');
  t.same(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  t.equal(f.linux.seccomp.enabled, true, 'seccomp filters are compiled and loaded');
  t.same(f.linux.seccomp.actions, ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'], 'actions: all, as runc');
  t.ok(f.linux.seccomp.archs.includes('SCMP_ARCH_X86_64') || f.linux.seccomp.archs.includes('SCMP_ARCH_AARCH64'), 'archs: what libseccomp knows');
  t.match(f.annotations['io.github.seccomp.libseccomp.version'], /^\d+\.\d+\.\d+$/, 'the libseccomp version annotation');
  const idmap = process.geteuid?.() === 0;
  t.equal(f.linux.mountExtensions.idmap.enabled, idmap, `id-mapped mounts ${idmap ? 'work as root' : 'need root'}`);
  t.same(f.linux.netDevices, { enabled: true }, 'linux.netDevices is carried out (as runc 1.4 says)');
  t.same(f.linux.namespaces, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
  for (const o of ['bind', 'rbind', 'ro', 'nosuid', 'rro', 'rprivate', 'tmpcopyup', 'strictatime']) t.ok(f.mountOptions.includes(o), o);
  t.equal(f.mountOptions.includes('idmap') && f.mountOptions.includes('ridmap'), idmap, 'idmap and ridmap listed when they work');
  t.ok(f.linux.capabilities.includes('CAP_SYS_ADMIN') && f.linux.capabilities[0] === 'CAP_CHOWN', 'the capabilities hako applies, in number order');
  t.same(f.mountOptions, [...f.mountOptions].sort(), 'sorted');
  t.same(f.linux.memoryPolicy, {
    modes: ['MPOL_BIND', 'MPOL_DEFAULT', 'MPOL_INTERLEAVE', 'MPOL_LOCAL', 'MPOL_PREFERRED', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE'],
    flags: ['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'],
  }, 'memory policy modes and flags, sorted, as runc 1.4 lists them');
});

t.test('self-test: the embedded addon loads and hako-init runs from a sealed memfd', async (t) => {
  const r = hako(['self-test']);
  t.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.match(report.init, /^hako-init \d+\.\d+\.\d+/);
  t.match(report.addon, /^\d+\.\d+\.\d+/);
  t.ok(Number(report.seals) & 0xf, 'seal, shrink, grow and write seals are set');
});

t.test('validate: a good bundle is silent, a broken one lists every problem with its JSON path', async (t) => {
  const dir = tempDir(t);
  let r = hako(['spec', '-b', dir]);
  t.equal(r.status, 0);
  r = hako(['validate', '-b', dir]);
  t.equal(r.status, 1, 'no rootfs yet');
  t.match(r.stdout, /^config\.json: \/root\/path: /);
  mkdirSync(join(dir, 'rootfs'));
  r = hako(['validate', '--bundle', dir]);
  t.equal(r.status, 0, r.stdout);
  t.equal(r.stdout, '');
  t.equal(r.stderr, '');

  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.process.args = [];
  config.process.cwd = 'relative';
  config.linux.namespaces[0].type = 'pidd';
  delete config.process.user;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  r = hako(['validate'], { cwd: dir });
  t.equal(r.status, 1);
  t.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, 4, r.stdout);
  t.ok(lines.includes('config.json: /process/args: must be a non-empty array'), r.stdout);
  t.ok(lines.some((l) => l.startsWith('config.json: /process/cwd: ')));
  t.ok(lines.some((l) => l.startsWith('config.json: /process/user: is required')));
  t.ok(lines.some((l) => l.startsWith('config.json: /linux/namespaces/0/type: must be one of')));
});

t.test('validate: invalid JSON and a missing config.json are errors with the file named', async (t) => {
  const dir = tempDir(t);
  let r = hako(['validate', '-b', dir]);
  t.equal(r.status, 1);
  t.match(TEXT_ERROR.exec(r.stderr)?.[1], /^open .*config\.json: no such file or directory$/);
  writeFileSync(join(dir, 'config.json'), '{\n  "ociVersion": "1.3.0",\n  }');
  r = hako(['validate', '-b', dir]);
  t.equal(r.status, 1);
  t.match(TEXT_ERROR.exec(r.stderr)?.[1], /^config\.json: invalid JSON: .* at line 3 column 3$/);
});

t.test('validate --process FILE: a bare process object', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'process.json');
  writeFileSync(file, JSON.stringify({ cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } }));
  let r = hako(['validate', '--process', file]);
  t.equal(r.status, 0, r.stdout);
  writeFileSync(file, JSON.stringify({ cwd: 'x', args: 'sh', user: { uid: -1, gid: 0 } }));
  r = hako(['validate', '-p', file]);
  t.equal(r.status, 1);
  const lines = r.stdout.trimEnd().split('\n');
  t.ok(lines.every((l) => l.startsWith('process.json: /')), r.stdout);
  t.ok(lines.some((l) => l.startsWith('process.json: /args: ')));
  t.ok(lines.some((l) => l.startsWith('process.json: /user/uid: ')));
  // Without user: uid 0, gid 0, as runc 1.1.5's exec -p takes it.
  writeFileSync(file, JSON.stringify({ cwd: '/', args: ['sh'] }));
  r = hako(['validate', '--process', file]);
  t.equal(r.status, 0, 'no user: valid');
  t.equal(r.stdout, '', 'no user: no problem');
});
