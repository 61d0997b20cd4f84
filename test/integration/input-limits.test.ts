// Inputs that must get a clear error and bounded work (src/input-limits.ts), under
// dist/hako with real containers: config.json, process.json, --resources and state
// records that are a FIFO, /dev/zero or nested 100,000 deep; huge values echoed in
// messages; and a process whose pid cannot be reported (--pid-file in a missing
// directory), which must not be left running. Each case checks the exit code, the
// message, that the command did not hang, and that nothing is left. Needs root,
// dist/hako and the probe.
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle, type BundleOptions } from '../helpers/rootfs.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  errorMessage,
  HAKO,
  hakoSkip,
  hk,
  isAlive,
  readIfExists,
  reapIfOurs,
  scratchDir,
  spawnRuntime,
  type SpawnOptions,
  type SpawnResult,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

const MISSING_PID_FILE = '/nonexistent-hako-dir/pid';

interface Container {
  bundle: Bundle;
  root: string;
  id: string;
  pid: number;
  dir: string;
  marker: string;
}

/** A created (or started) container whose init is a probe that sleeps. */
async function container(t: Test, opts: BundleOptions & { start?: boolean } = {}): Promise<Container> {
  const id = containerId('lim');
  const marker = `marker-${id}`;
  const bundle = await makeBundle(t, { args: ['/probe', '--stat', `/${marker}`, '--sleep', 'inf'], ...opts });
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'lim');
  const pidFile = path.join(dir, 'init.pid');
  const create = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id], {
    stdoutFile: path.join(dir, 'init.out'),
    stderrFile: path.join(dir, 'init.err'),
  });
  t.equal(create.code, 0, 'create exits 0', { stderr: create.stderr });
  const pid = Number(readIfExists(pidFile));
  t.teardown(async () => {
    await hk(root, ['delete', '-f', id]);
    await reapIfOurs(pid, 2000);
  });
  if (opts.start) {
    const start = await hk(root, ['start', id]);
    t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  }
  return { bundle, root, id, pid, dir, marker };
}

async function finish(t: Test, c: Container, markers: string[] = []): Promise<void> {
  await hk(c.root, ['delete', '-f', c.id]);
  await reapIfOurs(c.pid, 2000);
  await checkNothingLeft(t, { bundleDir: c.bundle.dir, markers: [c.marker, ...markers], stateRoot: c.root, pids: [c.pid], noChildren: true });
}

/** A command that must fail: its exit code, a message, no hang, a short stderr. */
async function mustFail(t: Test, root: string, args: string[], code: number, message: RegExp, opts: SpawnOptions = {}): Promise<SpawnResult> {
  const r = await spawnRuntime(HAKO, root, args, { timeoutMs: 20_000, ...opts });
  t.notOk(r.timedOut, `${args[0]} did not hang`);
  t.equal(r.code, code, `${args[0]} exits ${code}`, { stderr: r.stderr.slice(0, 2000) });
  t.match(errorMessage(r), message, 'the message says why', { stderr: r.stderr.slice(0, 2000) });
  t.ok(r.stderr.length < 4096, `stderr is short (${r.stderr.length} bytes)`);
  return r;
}

/** create (and run -d) with the bundle as `prepare` leaves it: exit 1, the message, nothing left. */
function createFails(name: string, prepare: (b: Bundle) => void, message: RegExp, pidFile?: string): void {
  t.test(name, { skip }, async (t) => {
    for (const cmd of [['create'], ['run', '-d']]) {
      await t.test(cmd.join(' '), async (t) => {
        const id = containerId('lim');
        const marker = `marker-${id}`;
        const bundle = await makeBundle(t, { args: ['/probe', '--stat', `/${marker}`, '--sleep', 'inf'] });
        prepare(bundle);
        const root = await makeStateRoot(t, HAKO);
        const dir = await scratchDir(t, 'lim');
        await mustFail(t, root, [...cmd, '--bundle', bundle.dir, '--pid-file', pidFile ?? path.join(dir, 'pid'), id], 1, message);
        t.notOk(existsSync(path.join(root, id)), 'no state dir for the id');
        await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, markers: [marker], dirs: [dir], noChildren: true });
      });
    }
  });
}

function fifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

function replaceConfig(b: Bundle, make: (file: string) => void): void {
  renameSync(b.configPath, `${b.configPath}.orig`);
  make(b.configPath);
}

// ------------------------------------------------------------------ unbounded reads

createFails(
  'config.json a symlink to /dev/zero: refused before reading',
  (b) => replaceConfig(b, (f) => symlinkSync('/dev/zero', f)),
  /^hako (create|run) failed: config\.json: .*config\.json: not a regular file \(a character device\)$/,
);

createFails(
  'config.json a FIFO: refused, no hang',
  (b) => replaceConfig(b, (f) => fifo(f)),
  /^hako (create|run) failed: config\.json: .*config\.json: not a regular file \(a FIFO\)$/,
);

createFails(
  'config.json over 16 MiB: refused',
  (b) => {
    b.spec.annotations = { big: 'x'.repeat(16 * 1024 * 1024) };
    writeFileSync(b.configPath, JSON.stringify(b.spec));
  },
  /config\.json: .*config\.json: larger than 16 MiB, the limit for config\.json$/,
);

t.test('exec -p with process.json a FIFO or /dev/zero: exit 255, no hang, nothing started', { skip }, async (t) => {
  const c = await container(t, { start: true });
  const file = path.join(c.dir, 'process.json');
  fifo(file);
  await mustFail(t, c.root, ['exec', '-p', file, c.id], 255, /^exec failed: .*process\.json: not a regular file \(a FIFO\)$/);
  const zero = path.join(c.dir, 'zero.json');
  symlinkSync('/dev/zero', zero);
  await mustFail(t, c.root, ['exec', '-p', zero, c.id], 255, /not a regular file \(a character device\)$/);
  await finish(t, c);
});

t.test('update --resources: a FIFO, and stdin that never ends (/dev/zero)', { skip }, async (t) => {
  const c = await container(t, { start: true });
  const file = path.join(c.dir, 'resources.json');
  fifo(file);
  await mustFail(t, c.root, ['update', '--resources', file, c.id], 1, /^resources: .*resources\.json: not a regular file \(a FIFO\)$/);
  await mustFail(t, c.root, ['update', '--resources', '-', c.id], 1, /^resources from stdin: larger than 16 MiB, the limit for resources from stdin$/, {
    stdin: '/dev/zero',
  });
  const ok = await hk(c.root, ['update', '--resources', '-', c.id], '{"pids":{"limit":77}}');
  t.equal(ok.code, 0, 'a real resources document on stdin still works', { stderr: ok.stderr });
  await finish(t, c);
});

t.test('state.json a FIFO or a symlink to /dev/zero: state, exec and delete fail, no hang', { skip }, async (t) => {
  const c = await container(t);
  const file = path.join(c.root, c.id, 'state.json');
  renameSync(file, `${file}.orig`);
  t.teardown(() => {
    // put the record back, so the teardown's delete -f finds the container
    try {
      renameSync(`${file}.orig`, file);
    } catch {
      // already back
    }
  });
  fifo(file);
  await mustFail(t, c.root, ['state', c.id], 1, /state\.json: corrupt state: not a regular file \(a FIFO\)$/);
  await mustFail(t, c.root, ['exec', c.id, '/probe'], 255, /state\.json: corrupt state: not a regular file \(a FIFO\)$/);
  const list = await spawnRuntime(HAKO, c.root, ['list'], { timeoutMs: 20_000 });
  t.notOk(list.timedOut, 'list did not hang');
  t.equal(list.code, 0, 'list exits 0, skipping the record it cannot load (as runc)');
  t.match(list.stderr, /^load container .*state\.json: corrupt state: not a regular file \(a FIFO\)\n$/);
  execFileSync('rm', [file]);
  symlinkSync('/dev/zero', file);
  // Never read through the link (the front opens with O_NOFOLLOW); delete without -f
  // refuses (with -f the front removes a state dir whose record cannot be read).
  await mustFail(t, c.root, ['state', c.id], 1, /corrupt state: not a regular file \(a symbolic link\)$/);
  await mustFail(t, c.root, ['exec', c.id, '/probe'], 255, /corrupt state: not a regular file \(a symbolic link\)$/);
  await mustFail(t, c.root, ['delete', c.id], 1, /corrupt state: not a regular file \(a symbolic link\)$/);
  execFileSync('rm', [file]);
  renameSync(`${file}.orig`, file);
  t.equal((await hk(c.root, ['state', c.id])).code, 0, 'the real record reads again');
  await finish(t, c);
});

// ------------------------------------------------------------------ deep nesting

createFails(
  'config.json with 100,000 nested arrays: refused up front, saying where',
  (b) => {
    const text = JSON.stringify(b.spec);
    writeFileSync(b.configPath, `${text.slice(0, -1)},"org.example.deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
  },
  /^hako (create|run) failed: config\.json: invalid JSON: exceeded max depth: more than 512 nested arrays and objects at line 1 column \d+$/,
);

t.test('config.json nested exactly to the limit: create, state, exec and delete work', { skip }, async (t) => {
  // The config object is level 1; its extension field holds 511 more. The container
  // record holds the config: state and exec parse and copy it again.
  const c = await container(t, {
    start: true,
    edit: (s) => {
      (s as unknown as Record<string, unknown>)['org.example.deep'] = JSON.parse('['.repeat(511) + ']'.repeat(511));
    },
  });
  t.ok(isAlive(c.pid), 'the init runs');
  const state = await hk(c.root, ['state', c.id]);
  t.equal(state.code, 0, 'state exits 0', { stderr: state.stderr });
  const ex = await hk(c.root, ['exec', c.id, '/probe']);
  t.equal(ex.code, 0, 'exec exits 0', { stderr: ex.stderr });
  await finish(t, c);
});

// ------------------------------------------------------------------ huge values echoed

createFails(
  'a 10 MiB process.args[0] is cut in the message, with its length',
  (b) => {
    b.spec.process!.args = ['/' + 'a'.repeat(10 * 1024 * 1024)];
    writeFileSync(b.configPath, JSON.stringify(b.spec));
  },
  /^hako (create|run) failed: unable to start container process: exec: "\/a{255}\.\.\. \(10485761 bytes\)": file name too long$/,
);

t.test('exec of a 100 KB command name: the message cuts it (hako-init and the reporter)', { skip }, async (t) => {
  const c = await container(t, { start: true });
  const name = 'b'.repeat(100_000);
  await mustFail(t, c.root, ['exec', c.id, name], 255, /^exec failed: unable to start container process: exec: "b{256}\.\.\. \(100000 bytes\)": executable file not found in \$PATH$/);
  await mustFail(t, c.root, ['exec', c.id, `/${name}`], 255, /^exec failed: unable to start container process: exec: "\/b{255}\.\.\. \(100001 bytes\)": file name too long$/);
  await finish(t, c);
});

// ------------------------------------------------------------------ unreported processes

t.test('exec -d with a pid file that cannot be written: 255, and the process is killed', { skip }, async (t) => {
  const c = await container(t, { start: true });
  const mark = `${c.marker}-exec`;
  await mustFail(t, c.root, ['exec', '-d', '--pid-file', MISSING_PID_FILE, c.id, '/probe', '--stat', `/${mark}`, '--sleep', 'inf'], 255, /^exec failed: open \/nonexistent-hako-dir\/\.pid: no such file or directory$/);
  // checked before the container is deleted (which would kill it anyway)
  await checkNothingLeft(t, { markers: [mark] });
  t.ok(isAlive(c.pid), 'the container itself runs on');
  await finish(t, c, [mark]);
});

t.test('exec in the foreground with a pid file that cannot be written: 255, the process is killed', { skip }, async (t) => {
  const c = await container(t, { start: true });
  const mark = `${c.marker}-exec`;
  await mustFail(t, c.root, ['exec', '--pid-file', MISSING_PID_FILE, c.id, '/probe', '--stat', `/${mark}`, '--sleep', 'inf'], 255, /no such file or directory$/);
  await checkNothingLeft(t, { markers: [mark] });
  await finish(t, c, [mark]);
});

createFails(
  'create and run -d with a pid file that cannot be written: the init is killed and reaped, nothing left',
  () => undefined,
  /^hako (create|run) failed: open \/nonexistent-hako-dir\/\.pid: no such file or directory$/,
  MISSING_PID_FILE,
);
