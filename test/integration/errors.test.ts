// Failures of create and run under dist/hako: each must exit 1 with a clear message and
// leave nothing behind: no state dir, no hako-init or container process (alive, or a
// zombie re-parented to this subreaper), no mount under the bundle, no mount on the host.
// Plus mount destinations that are symlinks pointing out of the rootfs (CVE-2021-30465
// class): the mount must land inside the rootfs. Needs root, dist/hako and the probe.
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { parseProbeReport } from '../helpers/probe.js';
import { containerId, integrationSkip, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import type { Spec } from '../../src/oci/types.js';
import {
  asContainerTests,
  checkNothingLeft,
  errorMessage,
  HAKO,
  hakoSkip,
  hostMountsAt,
  readIfExists,
  scratchDir,
  spawnRuntime,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());


function hostMountCount(): number {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).length;
}

interface ErrorCase {
  name: string;
  edit?: (spec: Spec) => void;
  /** Changes to the bundle (files, symlinks) after the config is written. */
  prepare?: (bundle: Bundle) => Promise<void>;
  /** What the message must contain or match. */
  message: Array<string | RegExp>;
}

/**
 * Runs the case under `create` and under a foreground `run`, each in a fresh state root,
 * and checks exit 1, the message, and that nothing is left.
 */
function errorCase(c: ErrorCase): void {
  t.test(c.name, { skip }, async (t) => {
    for (const cmd of [['create'], ['run']] as const) {
      await t.test(cmd.join(' '), async (t) => {
        const id = containerId('err');
        const marker = `marker-${id}`;
        const bundle = await makeBundle(t, {
          args: ['/probe', '--stat', `/${marker}`, '--sleep', 'inf'],
          edit: (spec) => c.edit?.(spec),
        });
        await c.prepare?.(bundle);
        const root = await makeStateRoot(t, HAKO);
        const dir = await scratchDir(t, 'err');
        const mountsBefore = hostMountCount();
        const r = await spawnRuntime(HAKO, root, [...cmd, '--bundle', bundle.dir, '--pid-file', path.join(dir, 'pid'), id], {
          stdoutFile: path.join(dir, 'out'),
          stderrFile: path.join(dir, 'err'),
          timeoutMs: 20_000,
        });
        t.equal(r.code, 1, 'exit 1', { stderr: r.stderr, stdout: r.stdout });
        t.notOk(r.timedOut, 'did not hang');
        const msg = errorMessage(r);
        for (const m of c.message) {
          if (typeof m === 'string') t.ok(msg.includes(m), `message has ${JSON.stringify(m)}`, { msg });
          else t.match(msg, m, `message matches ${m}`, { msg });
        }
        t.match(r.stderr, /level=error/, 'an error line on stderr');
        t.equal(r.stdout, '', 'nothing on stdout (the container never ran)');
        t.notOk(existsSync(path.join(dir, 'pid')), 'no pid file written');
        t.notOk(existsSync(path.join(root, id)), 'no state dir for the id');
        t.equal(hostMountCount(), mountsBefore, 'the host mount table has as many entries as before');
        await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, markers: [marker], dirs: [dir], noChildren: true });
      });
    }
  });
}

errorCase({
  name: 'missing rootfs directory',
  edit: (spec) => void (spec.root!.path = 'no-such-rootfs'),
  message: ['no-such-rootfs', /does not exist|no such file or directory/i],
});

errorCase({
  name: 'rootfs is a file',
  prepare: async (b) => {
    await fs.rm(b.rootfs, { recursive: true });
    writeFileSync(b.rootfs, 'not a directory\n');
  },
  message: [/rootfs/, /not a directory/i],
});

errorCase({
  name: 'bind mount with a missing source',
  edit: (spec) => spec.mounts!.push({ destination: '/mnt', type: 'bind', source: '/no/such/bind-source', options: ['rbind'] }),
  message: ['/no/such/bind-source', '/mnt', /no such file or directory/i],
});

errorCase({
  name: 'args[0] not found in $PATH',
  edit: (spec) => void (spec.process!.args = ['nope']),
  message: ['exec: "nope": executable file not found in $PATH'],
});

errorCase({
  name: 'args[0] an absolute path that does not exist',
  edit: (spec) => void (spec.process!.args = ['/no/such/binary']),
  message: ['/no/such/binary', /no such file or directory/i],
});

errorCase({
  name: 'args[0] not executable',
  edit: (spec) => void (spec.process!.args = ['/etc/passwd']),
  message: ['exec: "/etc/passwd": permission denied'],
});

errorCase({
  name: 'cwd is a file',
  edit: (spec) => void (spec.process!.cwd = '/etc/passwd'),
  message: ['/etc/passwd', /not a directory/i],
});

errorCase({
  name: 'cwd below a file (cannot exist)',
  edit: (spec) => void (spec.process!.cwd = '/etc/passwd/sub'),
  message: ['/etc/passwd', /not a directory/i],
});

errorCase({
  name: 'cwd not absolute',
  edit: (spec) => void (spec.process!.cwd = 'relative/dir'),
  message: [/cwd/i, /absolute/i],
});

errorCase({
  name: 'invalid config.json: args is not an array (schema, with its JSON pointer)',
  edit: (spec) => void ((spec.process as unknown as Record<string, unknown>).args = 42),
  message: ['/process/args'],
});

errorCase({
  name: 'invalid config.json: a mount without a destination',
  edit: (spec) => void delete (spec.mounts![0] as unknown as Record<string, unknown>).destination,
  message: ['/mounts/0', 'destination'],
});

errorCase({
  name: 'invalid config.json: an unknown namespace type',
  edit: (spec) => spec.linux!.namespaces!.push({ type: 'bogus' as 'pid' }),
  message: ['/linux/namespaces/5/type'],
});

errorCase({
  name: 'invalid config.json: not JSON at all',
  prepare: async (b) => writeFileSync(b.configPath, '{"ociVersion": "1.0.2", "process": '),
  message: ['config.json', /JSON|parse|unexpected/i],
});

errorCase({
  name: 'no config.json',
  prepare: async (b) => fs.rm(b.configPath),
  message: ['config.json', /no such file or directory|does not exist|not found/i],
});

errorCase({
  name: 'a mount of an unknown filesystem type',
  edit: (spec) => spec.mounts!.push({ destination: '/mnt', type: 'no-such-fs', source: 'none' }),
  message: ['/mnt', /no-such-fs|no such device/i],
});

errorCase({
  name: 'joining a namespace path that does not exist',
  edit: (spec) => {
    spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) => (ns.type === 'network' ? { type: 'network', path: '/proc/0/ns/net-nope' } : ns));
  },
  message: ['/proc/0/ns/net-nope'],
});

// ---------------------------------------------------------------------------------------
// Mount destinations that are symlinks out of the rootfs.

async function runProbe(t: Test, bundle: Bundle, id: string): Promise<{ code: number | null; stdout: string; stderr: string; root: string }> {
  const root = await makeStateRoot(t, HAKO);
  const r = await runtimeCommand(HAKO, root, ['run', '--bundle', bundle.dir, id], { timeoutMs: 30_000 });
  return { ...r, root };
}

t.test('mount destination /evil -> / (the rootfs itself): never mounted on the host\'s /', { skip }, async (t) => {
  const id = containerId('evilroot');
  const bundle = await makeBundle(t, {
    args: ['/probe', '--stat', `/marker-${id}`],
    edit: (spec) => spec.mounts!.push({ destination: '/evil', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }),
  });
  symlinkSync('/', path.join(bundle.rootfs, 'evil'));
  const hostRootBefore = hostMountsAt('/');
  const countBefore = hostMountCount();
  const r = await runProbe(t, bundle, id);
  // Mounting over the container's own / would hide the image; refusing is what runc does too
  // (with a less clear message). Either way nothing may appear on the host.
  if (r.code === 0) {
    const report = parseProbeReport(r.stdout);
    t.notOk(report.mounts?.some((m) => m.mount_point === '/' && m.fs_type === 'tmpfs'), 'not mounted over the container root');
  } else {
    t.equal(r.code, 1, 'refused with exit 1');
    t.match(errorMessage(r), /\/evil/, 'the message names the destination', { stderr: r.stderr });
  }
  t.same(hostMountsAt('/'), hostRootBefore, 'nothing mounted on the host\'s /');
  t.equal(hostMountCount(), countBefore, 'the host mount table has as many entries as before');
  t.equal(readIfExists(path.join(bundle.rootfs, 'evil')), '', 'the symlink in the image is untouched');
  await checkNothingLeft(t, { stateRoot: r.root, bundleDir: bundle.dir, markers: [`marker-${id}`], noChildren: true });
});

for (const kind of ['absolute', 'relative'] as const) {
  t.test(`mount destination /evil -> host directory (${kind} symlink): lands inside the rootfs`, { skip }, async (t) => {
    const id = containerId('evil');
    const hostDir = await scratchDir(t, 'evil-host');
    writeFileSync(path.join(hostDir, 'host-only'), 'on the host\n');
    const bundle = await makeBundle(t, {
      args: ['/probe', '--lstat', '/evil', '--stat', '/evil/host-only', '--write', '/evil/new-file'],
      edit: (spec) => spec.mounts!.push({ destination: '/evil', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }),
    });
    const target = kind === 'absolute' ? hostDir : path.join('../'.repeat(12), hostDir);
    symlinkSync(target, path.join(bundle.rootfs, 'evil'));
    const countBefore = hostMountCount();
    const r = await runProbe(t, bundle, id);
    t.equal(r.code, 0, 'runs (runc runs it too)', { stderr: r.stderr });
    const report = parseProbeReport(r.stdout);
    t.match(report.lstat['/evil'], { type: 'symlink', target }, 'the image\'s symlink is still there');
    t.same(report.stat['/evil/host-only'], { error: 'ENOENT' }, 'the container does not see the host directory');
    t.same(report.write['/evil/new-file'], { ok: true, created: true }, 'a writable tmpfs is at the symlink\'s target (root is read-only)');
    t.ok(report.mounts?.some((m) => m.fs_type === 'tmpfs' && m.mount_point === hostDir), `the tmpfs is mounted at ${hostDir} in the container's view`);
    t.same(hostMountsAt(hostDir), [], 'nothing mounted on the host directory');
    t.same((await fs.readdir(hostDir)).sort(), ['host-only'], 'the host directory is unchanged');
    t.ok(existsSync(path.join(bundle.rootfs, hostDir)), 'the mount point was made inside the rootfs');
    t.equal(hostMountCount(), countBefore, 'the host mount table has as many entries as before');
    await checkNothingLeft(t, { stateRoot: r.root, bundleDir: bundle.dir, noChildren: true });
  });
}

t.test('bind mount destination /evil -> host directory: the bind lands inside the rootfs', { skip }, async (t) => {
  const id = containerId('evilbind');
  const hostDir = await scratchDir(t, 'evil-host');
  const source = await scratchDir(t, 'evil-src');
  writeFileSync(path.join(source, 'from-source'), 'bound\n');
  const bundle = await makeBundle(t, {
    args: ['/probe', '--stat', '/evil/from-source'],
    edit: (spec) => spec.mounts!.push({ destination: '/evil', type: 'bind', source, options: ['rbind', 'ro'] }),
  });
  symlinkSync(hostDir, path.join(bundle.rootfs, 'evil'));
  const r = await runProbe(t, bundle, id);
  t.equal(r.code, 0, 'runs', { stderr: r.stderr });
  t.match(parseProbeReport(r.stdout).stat['/evil/from-source'], { type: 'file' }, 'the bind is visible through the symlink inside');
  t.same(hostMountsAt(hostDir), [], 'nothing mounted on the host directory');
  t.same(await fs.readdir(hostDir), [], 'the host directory is unchanged');
  await checkNothingLeft(t, { stateRoot: r.root, bundleDir: bundle.dir, noChildren: true });
});

// CVE-2019-16884 class: only a real procfs at /proc, nothing else mounted at or under it.
errorCase({
  name: 'a proc mount under /proc is refused',
  edit: (spec) => spec.mounts!.push({ destination: '/proc/sys', type: 'proc', source: 'proc' }),
  message: ['/proc/sys', /\/proc must be a real procfs/],
});

errorCase({
  name: 'a tmpfs over /proc is refused',
  edit: (spec) => {
    const proc = spec.mounts!.find((m) => m.destination === '/proc')!;
    Object.assign(proc, { type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
  },
  message: [/"\/proc"/, /\/proc must be a real procfs/],
});

// CVE-2025-31133 class: an image whose /dev/null is a symlink (here to /etc/passwd) must
// not make hako bind something else over masked paths, or hand the container that file
// as its null device: create fails closed instead.
errorCase({
  name: 'an image /dev/null that is a symlink is never used as the null device',
  edit: (spec) => {
    spec.mounts = spec.mounts!.filter((m) => !m.destination.startsWith('/dev'));
    spec.linux!.maskedPaths = ['/etc/hostname'];
  },
  prepare: async (b) => {
    await fs.rm(path.join(b.rootfs, 'dev', 'null'), { force: true });
    await fs.mkdir(path.join(b.rootfs, 'dev'), { recursive: true });
    symlinkSync('/etc/passwd', path.join(b.rootfs, 'dev', 'null'));
  },
  message: [/\/dev\/null/, /not the null device/],
});

// Fields hako does not carry out yet are refused by name, never silently ignored.
errorCase({
  name: 'runtime-spec fields hako does not implement yet are refused',
  edit: (spec) => {
    spec.linux!.intelRdt = { closID: 'gold' };
  },
  message: ['not supported by hako yet: /linux/intelRdt'],
});

// The log contract managers rely on (podman reads its oci-log, containerd the last error
// line of log.json): a failing create appends exactly one error line whose msg carries
// the whole cause, the same line as runc's but for the runtime's name; --debug adds
// debug lines only. Compared with runc on the same bundle.
t.test('--log FILE --log-format json: a failing create writes one error line with the whole cause, as runc', { skip: skip || integrationSkip('runc') }, async (t) => {
  const bundle = await makeBundle(t, { args: ['/nonexistent'] });
  const dir = await scratchDir(t, 'log');
  const errorLines = async (runtime: string, name: string, debug: boolean) => {
    const root = await makeStateRoot(t, runtime);
    const log = path.join(dir, `${name}-${debug}.json`);
    writeFileSync(log, '{"level":"info","msg":"an earlier line","time":"2026-01-01T00:00:00Z"}\n');
    const id = containerId('log');
    const global = ['--log', log, '--log-format', 'json', ...(debug ? ['--debug'] : [])];
    const r = await spawnRuntime(runtime, root, [...global, 'create', '--bundle', bundle.dir, id], { timeoutMs: 20_000 });
    t.equal(r.code, 1, `${name}: create fails`);
    await runtimeCommand(runtime, root, ['delete', '--force', id]);
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    t.equal(lines[0]!.msg, 'an earlier line', `${name}: the log was appended to`);
    const errors = lines.filter((l) => l.level === 'error');
    t.equal(errors.length, 1, `${name}: exactly one error line`, { lines });
    t.equal(lines.at(-1), errors[0], `${name}: the error line is the last one`);
    return errors[0]?.msg ?? '';
  };
  for (const debug of [false, true]) {
    const ours = await errorLines(HAKO, 'hako', debug);
    const theirs = await errorLines('runc', 'runc', debug);
    t.equal(ours, 'hako create failed: unable to start container process: exec: "/nonexistent": stat /nonexistent: no such file or directory');
    t.equal(ours.replace(/^hako /, 'runc '), theirs, `the same message as runc${debug ? ' with --debug' : ''}`);
  }
});
