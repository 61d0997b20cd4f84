// The six OCI hooks under dist/hako (RUNC-CONTRACT.md §6, runtime-spec 1.3): each hook
// is a shell script written here that records its stdin, args, environment (the raw
// /proc/<pid>/environ), cwd and `readlink /proc/self/ns/*` into a directory, and appends
// its name to a shared log (the order). Checked: the point each runs at (status, pid as
// its pid namespace sees it), its namespaces against the container's and hako's, cwd,
// env exactly as given, args; failures and timeouts with nothing left behind; Docker's
// libnetwork-setkey prestart hook (a compiled stand-in at a rewritten path, which checks
// that argv[0] is "libnetwork-setkey" and the state names the init's net namespace).
// Needs root and dist/hako.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Hook, Spec } from '../../src/oci/types.js';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runContainer } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  chownTree,
  errorMessage,
  HAKO,
  hakoSkip,
  hk,
  isAlive,
  readIfExists,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

const skip = asContainerTests(hakoSkip());

const NS = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'];
const DOCKER_FIXTURE = path.join(FIXTURES_DIR, 'docker-plain-1.json');
const dockerSkip = skip || (existsSync(DOCKER_FIXTURE) ? false : `${DOCKER_FIXTURE} not found`);
/** Where the scratch dir appears inside the container (for startContainer). */
const IN = '/hookdir';

// $1: the directory to record into; $2: the shared order log; the rest are recorded too.
const RECORDER = `#!/bin/sh
out="$1"
/bin/mkdir -p "$out"
/bin/cat > "$out/stdin"
for a in "$@"; do echo "$a"; done > "$out/args"
exec 3</proc/self/environ
/bin/cat <&3 > "$out/environ"
exec 3<&-
pwd -P > "$out/cwd"
for n in ${NS.join(' ')}; do echo "$n $(/bin/readlink /proc/self/ns/$n)"; done > "$out/ns"
echo "$(/bin/basename "$out")" >> "$2"
`;

interface Recorded {
  state: Record<string, unknown>;
  args: string[];
  env: string[];
  cwd: string;
  ns: Record<string, string>;
}

function recorded(dir: string): Recorded | undefined {
  if (!existsSync(path.join(dir, 'ns'))) return undefined;
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    state: JSON.parse(read('stdin')) as Record<string, unknown>,
    args: read('args').split('\n').slice(0, -1),
    env: read('environ').split('\0').filter((e) => e !== ''),
    cwd: read('cwd').trim(),
    ns: Object.fromEntries(read('ns').trim().split('\n').map((l) => l.split(' ') as [string, string])),
  };
}

function nsOf(pid: number | 'self'): Record<string, string> {
  return Object.fromEntries(NS.map((n) => [n, readlinkSync(`/proc/${pid}/ns/${n}`)]));
}

interface Setup {
  bundle: Bundle;
  root: string;
  id: string;
  dir: string;
  log: string;
  cgroupsPath: string;
}

/** A bundle with the scratch dir bound at /hookdir, the recorder at <dir>/hook.sh, and `hooks(dir)` as its hooks. */
async function setup(
  t: Test,
  hooks: (s: { dir: string; log: string; inLog: string }) => Spec['hooks'],
  args = ['/bin/sleep', '1000'],
  edit?: (spec: Spec) => void,
): Promise<Setup> {
  const id = containerId('hk');
  const dir = await scratchDir(t, 'hooks');
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, 'hook.sh'), RECORDER, { mode: 0o755 });
  const log = path.join(dir, 'order');
  const cgroupsPath = `/hako-hooks-${id}`;
  const bundle = await makeBundle(t, {
    args,
    edit: (spec) => {
      spec.mounts!.push({ destination: IN, type: 'bind', source: dir, options: ['rbind', 'rw'] });
      spec.linux!.cgroupsPath = cgroupsPath;
      spec.annotations = { 'org.hako.test': 'hooks' };
      spec.hooks = hooks({ dir, log, inLog: `${IN}/order` });
      edit?.(spec);
    },
  });
  const root = await makeStateRoot(t, HAKO);
  return { bundle, root, id, dir, log, cgroupsPath };
}

/** A recorder hook: host paths (or in-container ones for startContainer). */
function rec(dir: string, name: string, log: string, extra: Partial<Hook> = {}, inside = false): Hook {
  const base = inside ? IN : dir;
  return { path: `${base}/hook.sh`, args: ['hook.sh', `${base}/${name}`, log], ...extra };
}

function cgroupDirs(cgroupsPath: string): string[] {
  const out: string[] = [];
  const top = '/sys/fs/cgroup';
  if (existsSync(path.join(top, cgroupsPath))) out.push(path.join(top, cgroupsPath));
  for (const h of readdirSync(top)) {
    const p = path.join(top, h, cgroupsPath);
    if (existsSync(p)) out.push(p);
  }
  return out;
}


async function create(s: Setup): Promise<{ r: Awaited<ReturnType<typeof spawnRuntime>>; pid: number; stderrFile: string }> {
  const pidFile = path.join(s.dir, 'init.pid');
  const stderrFile = path.join(s.dir, 'container.stderr');
  const r = await spawnRuntime(HAKO, s.root, ['create', '--bundle', s.bundle.dir, '--pid-file', pidFile, s.id], {
    stdoutFile: path.join(s.dir, 'container.stdout'),
    stderrFile,
  });
  return { r, pid: Number(readIfExists(pidFile)) || 0, stderrFile };
}

t.test('every hook point: status, pid, namespaces, cwd, env, args, order', { skip }, async (t) => {
  const s = await setup(t, ({ dir, log, inLog }) => ({
    prestart: [rec(dir, 'prestart', log, { env: ['A=1', 'B=two words'] }), rec(dir, 'prestart2', log)],
    createRuntime: [rec(dir, 'createRuntime', log, { env: ['CR=1'], timeout: 5 })],
    createContainer: [rec(dir, 'createContainer', log, { env: ['CC=1'] })],
    startContainer: [rec(dir, 'startContainer', inLog, { env: ['SC=1'] }, true), rec(dir, 'startContainer2', inLog, {}, true)],
    poststart: [rec(dir, 'poststart', log, { env: ['PS=1'] })],
    poststop: [rec(dir, 'poststop', log, { env: ['PST=1'] })],
  }));
  const host = nsOf('self');
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const pid = c.pid;
  const container = nsOf(pid);
  t.same(readIfExists(s.log).split('\n').filter(Boolean), ['prestart', 'prestart2', 'createRuntime', 'createContainer'], 'create ran prestart, createRuntime, createContainer, in order');

  const base = { ociVersion: '1.3.0', id: s.id, bundle: s.bundle.dir, annotations: { 'org.hako.test': 'hooks' } };
  for (const name of ['prestart', 'prestart2', 'createRuntime']) {
    const r = recorded(path.join(s.dir, name))!;
    t.ok(r, `${name} ran`);
    t.same(r.state, { ...base, ociVersion: r.state.ociVersion, status: 'creating', pid }, `${name}: status creating, the init's host pid`);
    t.same(r.ns, host, `${name}: hako's namespaces`);
    t.equal(r.cwd, s.bundle.dir, `${name}: cwd is the bundle`);
    t.same(r.args, [`${s.dir}/${name}`, s.log], `${name}: args after argv[0]`);
  }
  t.same(recorded(path.join(s.dir, 'prestart'))!.env, ['A=1', 'B=two words'], 'prestart: env exactly as given');
  t.same(recorded(path.join(s.dir, 'prestart2'))!.env, [], 'a hook without env gets none (nothing inherited)');
  t.same(recorded(path.join(s.dir, 'createRuntime'))!.env, ['CR=1'], 'createRuntime: env exactly as given');
  const ociVersion = recorded(path.join(s.dir, 'prestart'))!.state.ociVersion;

  const cc = recorded(path.join(s.dir, 'createContainer'))!;
  t.same(cc.state, { ...base, ociVersion, status: 'creating', pid: 1 }, 'createContainer: status creating, pid 1 (its pid namespace)');
  t.same(cc.ns, container, 'createContainer: the container\'s namespaces');
  t.equal(cc.cwd, s.bundle.rootfs, 'createContainer: cwd is the rootfs');
  t.same(cc.env, ['CC=1'], 'createContainer: env exactly as given');

  const st = await hk(s.root, ['state', s.id]);
  t.equal(JSON.parse(st.stdout).status, 'created', 'created after create');

  const start = await hk(s.root, ['start', s.id]);
  t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  await waitFor('startContainer hooks', () => existsSync(path.join(s.dir, 'startContainer2', 'ns')));
  // ... and done: the init execs its process once its hooks are (the order line is their last step).
  await waitFor('the process', () => readIfExists(`/proc/${pid}/comm`).trim() === 'sleep');
  const sc = recorded(path.join(s.dir, 'startContainer'))!;
  t.same(sc.state, { ...base, ociVersion, status: 'created', pid: 1 }, 'startContainer: status created, pid 1');
  t.same(sc.ns, container, 'startContainer: the container\'s namespaces');
  t.equal(sc.cwd, '/', 'startContainer: cwd is process.cwd (inside the rootfs)');
  t.same(sc.env, ['SC=1'], 'startContainer: env exactly as given');
  t.same(recorded(path.join(s.dir, 'startContainer2'))!.env, [...s.bundle.spec.process!.env!, 'HOME=/root'], 'startContainer without env: the process\'s env (HOME from /etc/passwd, as runc)');
  const ps = recorded(path.join(s.dir, 'poststart'))!;
  t.same(ps.state, { ...base, ociVersion, status: 'running', pid }, 'poststart: status running, the host pid');
  t.same(ps.ns, host, 'poststart: hako\'s namespaces');
  t.same(ps.env, ['PS=1'], 'poststart: env exactly as given');
  t.ok(isAlive(pid), 'the container runs');

  const del = await hk(s.root, ['delete', '-f', s.id]);
  t.equal(del.code, 0, 'delete -f exits 0', { stderr: del.stderr });
  const pst = recorded(path.join(s.dir, 'poststop'))!;
  t.same(pst.state, { ...base, ociVersion, status: 'stopped' }, 'poststop: status stopped, no pid');
  t.same(pst.ns, host, 'poststop: hako\'s namespaces');
  t.same(pst.env, ['PST=1'], 'poststop: env exactly as given');
  t.same(cgroupDirs(s.cgroupsPath), [], 'poststop ran after the cgroup was removed');
  // start returns once the init is released: its startContainer hooks and hako's poststart run side by side.
  const order = readIfExists(s.log).split('\n').filter(Boolean);
  t.same(
    order.filter((x) => x !== 'poststart'),
    ['prestart', 'prestart2', 'createRuntime', 'createContainer', 'startContainer', 'startContainer2', 'poststop'],
    'the whole order',
  );
  t.ok(order.indexOf('poststart') > order.indexOf('createContainer') && order.indexOf('poststart') < order.indexOf('poststop'), 'poststart during start');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [pid], bundleDir: s.bundle.dir });
});

const FAIL = (dir: string): string => {
  const p = path.join(dir, 'fail.sh');
  writeFileSync(p, '#!/bin/sh\necho "out $1"\necho err >&2\nexit 3\n', { mode: 0o755 });
  return p;
};
const SLOW = (dir: string): string => {
  const p = path.join(dir, 'slow.sh');
  writeFileSync(p, '#!/bin/sh\necho started\nexec /bin/sleep 30\n', { mode: 0o755 });
  return p;
};

const createFailures: Array<[string, (s: { dir: string; log: string }) => Spec['hooks'], RegExp, string[]]> = [
  [
    'prestart',
    ({ dir, log }) => ({ prestart: [rec(dir, 'p0', log), { path: FAIL(dir), args: ['fail', 'x'] }, rec(dir, 'p2', log)], createContainer: [rec(dir, 'cc', log)] }),
    /unable to start container process: error during container init: error running hook #1: error running hook: exit status 3, stdout: out x\n, stderr: err\n$/,
    ['p0'],
  ],
  [
    'createRuntime',
    ({ dir, log }) => ({ createRuntime: [{ path: FAIL(dir), args: ['fail', 'y'] }], createContainer: [rec(dir, 'cc', log)] }),
    /unable to start container process: error during container init: error running hook #0: error running hook: exit status 3, stdout: out y\n, stderr: err\n$/,
    [],
  ],
  [
    'createContainer',
    ({ dir, log }) => ({ prestart: [rec(dir, 'p0', log)], createContainer: [rec(dir, 'cc', log), { path: FAIL(dir), args: ['fail', 'z'] }] }),
    /unable to start container process: error during container init: error running hook #1: error running hook: exit status 3, stdout: out z\n, stderr: err\n$/,
    ['p0', 'cc'],
  ],
  [
    'a createRuntime timeout',
    ({ dir }) => ({ createRuntime: [{ path: SLOW(dir), args: ['slow'], timeout: 1 }] }),
    /error during container init: error running hook #0: hook ran past specified timeout of 1\.0s$/,
    [],
  ],
  [
    'a createContainer timeout',
    ({ dir }) => ({ createContainer: [{ path: SLOW(dir), args: ['slow'], timeout: 1 }] }),
    /error during container init: error running hook #0: hook ran past specified timeout of 1\.0s$/,
    [],
  ],
  [
    'a missing prestart binary',
    ({ dir }) => ({ prestart: [{ path: path.join(dir, 'nope'), args: ['nope'] }] }),
    /error during container init: error running hook #0: fork\/exec \S+\/nope: no such file or directory$/,
    [],
  ],
  [
    'a missing createContainer binary',
    ({ dir }) => ({ createContainer: [{ path: path.join(dir, 'nope') }] }),
    /error during container init: error running hook #0: fork\/exec \S+\/nope: no such file or directory$/,
    [],
  ],
];

for (const [what, hooks, message, ran] of createFailures) {
  t.test(`${what} failing fails create and leaves nothing`, { skip }, async (t) => {
    const s = await setup(t, hooks);
    const began = Date.now();
    const c = await create(s);
    t.equal(c.r.code, 1, 'create exits 1', { stderr: c.r.stderr });
    t.match(errorMessage(c.r), message, 'runc\'s wording');
    t.ok(Date.now() - began < 15_000, 'no long wait');
    t.same(readIfExists(s.log).split('\n').filter(Boolean), ran, 'the hooks before it ran, none after');
    t.same(cgroupDirs(s.cgroupsPath), [], 'no cgroup left');
    const ls = await hk(s.root, ['list', '-q']);
    t.equal(ls.stdout.trim(), '', 'no container listed');
    await checkNothingLeft(t, { stateRoot: s.root, bundleDir: s.bundle.dir, markers: [s.dir] });
  });
}

t.test('startContainer failing: start returns, the error is on the container\'s stderr, the container stops', { skip }, async (t) => {
  const s = await setup(t, ({ dir, log, inLog }) => ({
    startContainer: [{ path: `${IN}/fail.sh`, args: ['fail', 'sc'] }, rec(dir, 'after', inLog, {}, true)],
    poststop: [rec(dir, 'poststop', log)],
  }));
  FAIL(s.dir);
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const start = await hk(s.root, ['start', s.id]);
  t.equal(start.code, 0, 'start exits 0 (as runc)', { stderr: start.stderr });
  await waitFor('the container stopped', async () => JSON.parse((await hk(s.root, ['state', s.id])).stdout).status === 'stopped');
  t.equal(readIfExists(c.stderrFile), 'error running hook #0: error running hook: exit status 3, stdout: out sc\n, stderr: err\n\n', 'the error on the container\'s stderr');
  t.notOk(existsSync(path.join(s.dir, 'after')), 'the next startContainer hook did not run');
  const del = await hk(s.root, ['delete', s.id]);
  t.equal(del.code, 0, 'delete exits 0', { stderr: del.stderr });
  t.ok(recorded(path.join(s.dir, 'poststop')), 'poststop ran');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});

t.test('startContainer resolves its path inside the rootfs', { skip }, async (t) => {
  const s = await setup(t, ({ dir }) => ({ startContainer: [{ path: path.join(dir, 'hook.sh'), args: ['hook.sh', '/x', '/y'] }] }));
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0 (the host path is not looked up then)', { stderr: c.r.stderr });
  t.equal((await hk(s.root, ['start', s.id])).code, 0, 'start exits 0');
  await waitFor('the container stopped', async () => JSON.parse((await hk(s.root, ['state', s.id])).stdout).status === 'stopped');
  t.match(readIfExists(c.stderrFile), /^error running hook #0: fork\/exec \S+hook\.sh: no such file or directory\n$/, 'the host path does not exist inside');
  t.equal((await hk(s.root, ['delete', s.id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});

// The runtime spec: a failing poststart or poststop hook is logged as a warning, the
// remaining hooks run and the operation succeeds (runc 1.1.5 fails start and skips the rest).
const WARNING = (n: number, why: string) => `level=warning msg=${JSON.stringify(`error running hook #${n}: ${why}`)}`;

t.test('poststart failing: a warning, the next hooks run, start succeeds and the container runs', { skip }, async (t) => {
  const s = await setup(t, ({ dir, log }) => ({
    poststart: [{ path: FAIL(dir), args: ['fail', 'ps'] }, { path: '/bin/sh', args: ['sh', '-c', 'kill -SYS $$'] }, rec(dir, 'after', log)],
  }));
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const start = await hk(s.root, ['start', s.id]);
  t.equal(start.code, 0, 'start exits 0', { stderr: start.stderr });
  const lines = start.stderr.trim().split('\n');
  t.equal(lines.length, 2, 'one line per failed hook', { stderr: start.stderr });
  t.ok(lines[0]!.endsWith(WARNING(0, 'error running hook: exit status 3, stdout: out ps\n, stderr: err\n')), 'the first, a warning in runc\'s words', { line: lines[0] });
  t.ok(lines[1]!.endsWith(WARNING(1, 'error running hook: signal: bad system call, stdout: , stderr: ')), 'the second: the signal\'s name as Go prints it', { line: lines[1] });
  t.ok(recorded(path.join(s.dir, 'after')), 'the next poststart hook ran');
  t.equal(JSON.parse((await hk(s.root, ['state', s.id])).stdout).status, 'running', 'the container runs');
  t.equal((await hk(s.root, ['delete', '-f', s.id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});

t.test('poststop failing: a warning, the next hooks run, delete succeeds; --log --log-format json takes the warning', { skip }, async (t) => {
  const s = await setup(t, ({ dir, log }) => ({
    poststop: [{ path: FAIL(dir), args: ['fail', 'pst'] }, { path: path.join(dir, 'nope') }, rec(dir, 'after', log)],
  }));
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const logFile = path.join(s.dir, 'hako.log');
  const del = await hk(s.root, ['--log', logFile, '--log-format', 'json', 'delete', '-f', s.id]);
  t.equal(del.code, 0, 'delete exits 0', { stderr: del.stderr });
  t.equal(del.stderr, '', 'nothing on stderr: the warnings are in the log');
  const logged = readIfExists(logFile).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  t.same(
    logged.map((l) => [l.level, l.msg]),
    [
      ['warning', 'error running hook #0: error running hook: exit status 3, stdout: out pst\n, stderr: err\n'],
      ['warning', `error running hook #1: fork/exec ${path.join(s.dir, 'nope')}: no such file or directory`],
    ],
    'one warning per failed hook',
  );
  t.ok(recorded(path.join(s.dir, 'after')), 'the next poststop hook ran');
  t.same(cgroupDirs(s.cgroupsPath), [], 'no cgroup left');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});

t.test('a poststop timeout is SIGKILLed', { skip }, async (t) => {
  const s = await setup(t, ({ dir }) => ({ poststop: [{ path: SLOW(dir), args: ['slow'], timeout: 1 }] }));
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const began = Date.now();
  const del = await hk(s.root, ['delete', '-f', s.id]);
  t.equal(del.code, 0, 'delete exits 0');
  t.ok(del.stderr.trim().endsWith(WARNING(0, 'hook ran past specified timeout of 1.0s')), 'a warning in runc\'s words', { stderr: del.stderr });
  t.ok(Date.now() - began < 10_000, 'in about a second');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir, markers: [path.join(s.dir, 'slow.sh')] });
});

t.test('a poststop hook that closed its outputs is still killed at its timeout', { skip }, async (t) => {
  const s = await setup(t, ({ dir, log }) => {
    const quiet = path.join(dir, 'quiet.sh');
    writeFileSync(quiet, '#!/bin/sh\nexec >&- 2>&-\nexec /bin/sleep 30\n', { mode: 0o755 });
    return { poststop: [{ path: quiet, args: ['quiet'], timeout: 1 }, rec(dir, 'after', log)] };
  });
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const began = Date.now();
  const del = await hk(s.root, ['delete', '-f', s.id]);
  t.equal(del.code, 0, 'delete exits 0');
  t.ok(Date.now() - began < 10_000, 'in about a second, not the hook\'s 30');
  t.ok(del.stderr.trim().endsWith(WARNING(0, 'hook ran past specified timeout of 1.0s')), 'the timeout, as a warning', { stderr: del.stderr });
  t.ok(recorded(path.join(s.dir, 'after')), 'the next hook ran');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir, markers: [path.join(s.dir, 'quiet.sh')] });
});

t.test('foreground run: every hook, poststop after the exit', { skip }, async (t) => {
  const s = await setup(
    t,
    ({ dir, log, inLog }) => ({
      prestart: [rec(dir, 'prestart', log)],
      createContainer: [rec(dir, 'createContainer', log)],
      startContainer: [rec(dir, 'startContainer', inLog, {}, true)],
      poststart: [rec(dir, 'poststart', log)],
      poststop: [rec(dir, 'poststop', log)],
    }),
    ['/bin/sh', '-c', 'echo ran >> /hookdir/order'],
  );
  const r = await runContainer(HAKO, s.bundle, s.id);
  t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
  const order = readIfExists(s.log).split('\n').filter(Boolean);
  t.same(order.filter((x) => x !== 'ran' && x !== 'poststart'), ['prestart', 'createContainer', 'startContainer', 'poststop'], 'order');
  t.ok(order.indexOf('ran') > order.indexOf('startContainer') && order.indexOf('poststop') === order.length - 1, 'the process ran after startContainer, poststop last');
  t.equal(recorded(path.join(s.dir, 'poststop'))!.state.status, 'stopped', 'poststop: stopped');
  t.same(r.leftInStateRoot, [], 'nothing left in the state root');
});

t.test('Docker\'s prestart hook (libnetwork-setkey) runs as dockerd expects', { skip: dockerSkip || (spawnSync('cc', ['--version']).status !== 0 ? 'no C compiler for the stand-in' : false) }, async (t) => {
  const fixture = JSON.parse(readFileSync(DOCKER_FIXTURE, 'utf8')) as Spec;
  const dockerHook = fixture.hooks!.prestart![0]!;
  t.equal(dockerHook.args![0], 'libnetwork-setkey', 'the fixture\'s hook');
  const s = await setup(t, () => ({}));
  // The stand-in for /proc/<dockerd>/exe: records argv (argv[0] included, which a shell
  // script cannot see), its environment and stdin, and opens /proc/<state.pid>/ns/net as
  // libnetwork-setkey does; exits 0 only when argv[0] is what dockerd's reexec dispatches on.
  const dir = path.join(s.dir, 'proc', '23796');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(s.dir, 'standin.c'),
    String.raw`#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
extern char** environ;
int main(int argc, char** argv) {
  char buf[65536]; size_t n = fread(buf, 1, sizeof buf - 1, stdin); buf[n] = 0;
  FILE* f = fopen("${s.dir}/docker-record", "w");
  for (int i = 0; i < argc; i++) fprintf(f, "arg %s\n", argv[i]);
  for (char** e = environ; *e; e++) fprintf(f, "env %s\n", *e);
  fprintf(f, "stdin %s\n", buf);
  char* p = strstr(buf, "\"pid\":"); int pid = p ? atoi(p + 6) : 0;
  char ns[64]; snprintf(ns, sizeof ns, "/proc/%d/ns/net", pid);
  int fd = open(ns, O_RDONLY);
  fprintf(f, "netns %s\n", fd >= 0 ? "ok" : "missing");
  fclose(f);
  return strcmp(argv[0], "libnetwork-setkey") == 0 && fd >= 0 ? 0 : 5;
}
`,
  );
  const cc = spawnSync('cc', ['-o', path.join(dir, 'exe'), path.join(s.dir, 'standin.c')], { encoding: 'utf8' });
  t.equal(cc.status, 0, 'stand-in compiled', { stderr: cc.stderr });
  s.bundle.spec.hooks = { prestart: [{ ...dockerHook, path: path.join(dir, 'exe') }] };
  await s.bundle.writeConfig();
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const lines = readIfExists(path.join(s.dir, 'docker-record')).split('\n');
  t.same(lines.filter((l) => l.startsWith('arg ')).map((l) => l.slice(4)), dockerHook.args, 'argv is the hook\'s args, argv[0] libnetwork-setkey');
  t.same(lines.filter((l) => l.startsWith('env ')), [], 'no environment (the hook has none)');
  const state = JSON.parse(lines.find((l) => l.startsWith('stdin '))!.slice(6)) as Record<string, unknown>;
  t.match(state, { id: s.id, status: 'creating', pid: c.pid, bundle: s.bundle.dir }, 'the state dockerd decodes');
  t.ok(lines.includes('netns ok'), 'the init\'s net namespace is there to configure');
  t.equal((await hk(s.root, ['delete', '-f', s.id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});

t.test('without a pid namespace of its own, the init\'s hooks see its host pid', { skip }, async (t) => {
  const s = await setup(
    t,
    ({ dir, log, inLog }) => ({ createContainer: [rec(dir, 'cc', log)], startContainer: [rec(dir, 'sc', inLog, {}, true)] }),
    ['/bin/sleep', '1000'],
    (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'pid');
    },
  );
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  t.equal(recorded(path.join(s.dir, 'cc'))!.state.pid, c.pid, 'createContainer: the init\'s pid, as its (the host\'s) pid namespace sees it');
  t.equal((await hk(s.root, ['start', s.id])).code, 0, 'start');
  // The init execs its process once the hook is done and reaped: without a pid namespace of
  // its own, a hook that delete -f killed halfway would leave its zombies to this subreaper.
  await waitFor('startContainer', () => readIfExists(`/proc/${c.pid}/comm`).trim() === 'sleep');
  t.equal(recorded(path.join(s.dir, 'sc'))!.state.pid, c.pid, 'startContainer: the same');
  t.equal((await hk(s.root, ['delete', '-f', s.id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});

t.test('foreground run: a failing startContainer hook ends run with 1; a failing poststop is a warning, the status kept', { skip }, async (t) => {
  const s = await setup(t, () => ({ startContainer: [{ path: `${IN}/fail.sh`, args: ['fail', 'fg'] }] }), ['/bin/true']);
  FAIL(s.dir);
  const r = await runContainer(HAKO, s.bundle, s.id);
  t.equal(r.code, 1, 'run exits 1');
  t.equal(r.stderr, 'error running hook #0: error running hook: exit status 3, stdout: out fg\n, stderr: err\n\n', 'the init\'s error, through the container\'s stderr');
  t.same(r.leftInStateRoot, [], 'nothing left in the state root');

  const s2 = await setup(t, ({ dir }) => ({ poststop: [{ path: FAIL(dir), args: ['fail', 'stop'] }] }), ['/bin/sh', '-c', 'exit 7']);
  const r2 = await runContainer(HAKO, s2.bundle, s2.id);
  t.equal(r2.code, 7, 'run exits with the container\'s status (no SIGPIPE from a hook that does not read its stdin)', { r2 });
  t.ok(r2.stderr.trim().endsWith(WARNING(0, 'error running hook: exit status 3, stdout: out stop\n, stderr: err\n')), 'the poststop failure: a warning', { stderr: r2.stderr });
  t.same(r2.leftInStateRoot, [], 'nothing left in the state root');
  t.same(cgroupDirs(s2.cgroupsPath), [], 'no cgroup left');
});

t.test('run -d: a failing poststart is a warning, run succeeds and the container runs', { skip }, async (t) => {
  const s = await setup(t, ({ dir, log }) => ({
    poststart: [{ path: FAIL(dir), args: ['fail', 'rd'] }, rec(dir, 'after', log)],
    poststop: [rec(dir, 'poststop', log)],
  }));
  const pidFile = path.join(s.dir, 'init.pid');
  const r = await spawnRuntime(HAKO, s.root, ['run', '-d', '--bundle', s.bundle.dir, '--pid-file', pidFile, s.id], {
    stdoutFile: path.join(s.dir, 'out'),
    stderrFile: path.join(s.dir, 'err'),
  });
  t.equal(r.code, 0, 'run -d exits 0', { stderr: r.stderr });
  t.ok(r.stderr.trim().endsWith(WARNING(0, 'error running hook: exit status 3, stdout: out rd\n, stderr: err\n')), 'the poststart failure: a warning', { stderr: r.stderr });
  t.ok(recorded(path.join(s.dir, 'after')), 'the next poststart hook ran');
  const pid = Number(readIfExists(pidFile)) || 0;
  t.ok(pid > 0 && isAlive(pid), 'the container runs');
  t.equal((await hk(s.root, ['delete', '-f', s.id])).code, 0, 'delete');
  t.equal(recorded(path.join(s.dir, 'poststop'))?.state.status, 'stopped', 'poststop ran');
  t.same(cgroupDirs(s.cgroupsPath), [], 'no cgroup left');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [pid], bundleDir: s.bundle.dir, markers: [s.dir] });
});

t.test('startContainer under Docker\'s seccomp profile, capabilities and no_new_privs: hako-init still runs it', { skip: dockerSkip }, async (t) => {
  const docker = JSON.parse(readFileSync(DOCKER_FIXTURE, 'utf8')) as Spec;
  const s = await setup(
    t,
    ({ dir, inLog }) => ({ startContainer: [rec(dir, 'sc', inLog, { env: ['X=1'], timeout: 10 }, true)] }),
    ['/bin/sleep', '1000'],
    (spec) => {
      spec.linux!.seccomp = docker.linux!.seccomp;
      spec.process!.capabilities = docker.process!.capabilities;
      spec.process!.noNewPrivileges = true;
    },
  );
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  t.equal((await hk(s.root, ['start', s.id])).code, 0, 'start');
  await waitFor('startContainer', () => existsSync(path.join(s.dir, 'sc', 'ns')));
  const sc = recorded(path.join(s.dir, 'sc'))!;
  t.match(sc.state, { status: 'created', pid: 1 }, 'startContainer ran with its state');
  t.same(sc.env, ['X=1'], 'its env');
  t.ok(isAlive(c.pid), 'the container runs');
  t.equal((await hk(s.root, ['delete', '-f', s.id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});

t.test('a user namespace: createContainer and startContainer run in it (as the mapped root), prestart in hako\'s', { skip }, async (t) => {
  const s = await setup(
    t,
    ({ dir, log, inLog }) => ({
      prestart: [rec(dir, 'prestart', log)],
      createContainer: [rec(dir, 'cc', log)],
      startContainer: [rec(dir, 'sc', inLog, {}, true)],
    }),
    ['/bin/sleep', '1000'],
    (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
  );
  chmodSync(s.dir, 0o777);
  writeFileSync(s.log, '', { mode: 0o666 });
  chmodSync(s.log, 0o666);
  await chownTree(s.bundle.rootfs, 100000, 100000);
  const c = await create(s);
  t.equal(c.r.code, 0, 'create exits 0', { stderr: c.r.stderr });
  const container = Object.fromEntries([...NS, 'user'].map((n) => [n, readlinkSync(`/proc/${c.pid}/ns/${n}`)]));
  const cc = recorded(path.join(s.dir, 'cc'));
  t.ok(cc, 'createContainer ran');
  t.same(cc?.ns, Object.fromEntries(NS.map((n) => [n, container[n]])), 'createContainer: the container\'s namespaces');
  t.equal(statSync(path.join(s.dir, 'cc', 'ns')).uid, 100000, 'createContainer: as the container\'s root (host uid 100000)');
  t.equal(statSync(path.join(s.dir, 'prestart', 'ns')).uid, 0, 'prestart: as hako (root)');
  t.equal((await hk(s.root, ['start', s.id])).code, 0, 'start');
  await waitFor('startContainer', () => existsSync(path.join(s.dir, 'sc', 'ns')));
  t.equal(statSync(path.join(s.dir, 'sc', 'ns')).uid, 100000, 'startContainer: as the container\'s root');
  t.equal((await hk(s.root, ['delete', '-f', s.id])).code, 0, 'delete');
  await checkNothingLeft(t, { stateRoot: s.root, pids: [c.pid], bundleDir: s.bundle.dir });
});
