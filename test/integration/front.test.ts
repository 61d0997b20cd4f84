// The front (dist/hako, cpp/front) and the container record it reads: a real container's
// record validates against schemas/container-record.schema.json; the front and the brain
// (which reaches the same verbs through the addon) answer alike; a record version the front
// does not read is handed to the brain; and bad records each give a clear error, with
// runc's exit status, removing nothing that is not the container's (RUNC-CONTRACT.md).
// Needs root, dist/hako (and dist/libexec/hako/hako-brain) and the probe.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import AjvModule from 'ajv';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { asContainerTests, errorMessage, HAKO, hakoSkip, hk, isAlive, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';
import { runtimeCommand } from '../helpers/runtime.js';
import { readProcStat } from '../../src/container/status.js';
import { REPO_ROOT } from '../helpers/paths.js';

const skip = asContainerTests(hakoSkip());
const BRAIN = path.join(path.dirname(HAKO), 'libexec', 'hako', 'hako-brain');

/** The record schema, compiled with the schemas it refers to. */
function recordValidator(): (data: unknown) => boolean {
  // ajv is CommonJS: its class is the module's default export, or that object's default.
  const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule.default;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const dir = path.join(REPO_ROOT, 'schemas');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
  const v = ajv.getSchema('https://hako.invalid/schemas/container-record.schema.json')!;
  return (data) => {
    const ok = v(data) as boolean;
    if (!ok) t.comment(JSON.stringify(v.errors));
    return ok;
  };
}

const brain = (root: string, args: string[]) => runtimeCommand(BRAIN, root, args, { timeoutMs: 30_000 });

t.test('a real container: its record validates; the front and the brain answer alike', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'front');
  const hookOut = path.join(dir, 'hooks');
  const bundle = await makeBundle(t, {
    args: ['/probe', '--sleep', 'inf'],
    edit: (s) => {
      s.annotations = { 'org.example.b': '2', 'org.example.a': '1' };
      s.hooks = {
        poststart: [{ path: '/bin/sh', args: ['sh', '-c', `cat >> ${hookOut}; echo >> ${hookOut}`], env: ['A=1'], timeout: 5 }],
        poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat >> ${hookOut}`] }],
      };
    },
  });
  const id = containerId('front');
  const c = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, id]);
  t.equal(c.code, 0, 'create', { stderr: c.stderr });
  const record = JSON.parse(readFileSync(path.join(root, id, 'state.json'), 'utf8'));
  t.ok(recordValidator()(record), 'the record validates against schemas/container-record.schema.json');
  t.equal(record.version, 2);
  t.equal(record.ownPidNamespace, true, 'a pid namespace of its own');
  t.same(record.hooks.poststop, [{ path: '/bin/sh', args: ['sh', '-c', `cat >> ${hookOut}`] }]);
  t.ok(record.cgroup.dirs.length > 0 && record.cgroup.probe, 'cgroup dirs and probe');

  for (const args of [['state', id], ['list'], ['list', '-f', 'json'], ['list', '-q'], ['ps', '-f', 'json', id]]) {
    const f = await hk(root, args);
    const b = await brain(root, args);
    t.equal(f.code, 0, `front: ${args.join(' ')}`, { stderr: f.stderr });
    t.same({ code: b.code, stdout: b.stdout, stderr: b.stderr }, { code: f.code, stdout: f.stdout, stderr: f.stderr }, `the brain answers ${args.join(' ')} alike`);
  }
  t.equal((await hk(root, ['start', id])).code, 0, 'start');
  const state = JSON.parse((await hk(root, ['state', id])).stdout);
  t.equal(state.status, 'running');
  t.match(readFileSync(hookOut, 'utf8'), `"status":"running","pid":${state.pid},"bundle":${JSON.stringify(bundle.dir)},"annotations":{"org.example.b":"2","org.example.a":"1"}}`, 'poststart read the state');
  t.equal((await brain(root, ['pause', id])).code, 0, 'pause through the brain');
  t.equal(JSON.parse((await hk(root, ['state', id])).stdout).status, 'paused');
  t.equal((await hk(root, ['resume', id])).code, 0, 'resume through the front');
  const table = await hk(root, ['ps', id]);
  t.match(table.stdout, /^UID +PID +PPID/, 'ps: the host ps header');
  t.match(table.stdout, new RegExp(`\\n\\S+ +${state.pid} `), 'ps: the init row');
  const psNoPid = await hk(root, ['ps', id, '-o', 'comm']);
  t.equal(psNoPid.code, 1);
  t.equal(errorMessage(psNoPid), "couldn't find PID field in ps output");
  t.equal((await hk(root, ['kill', id, 'KILL'])).code, 0, 'kill');
  t.equal((await hk(root, ['delete', '-f', id])).code, 0, 'delete -f');
  t.match(readFileSync(hookOut, 'utf8'), /"status":"stopped","bundle"/, 'poststop ran');
  t.notOk(existsSync(path.join(root, id)), 'the state dir is gone');
});

// ---------------------------------------------------------------- crafted records

interface Init {
  child: ChildProcess;
  pid: number;
  startTime: string;
}

/** A live process to stand for a container's init (killed at teardown). */
async function fakeInit(t: Test): Promise<Init> {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  t.teardown(() => void child.kill('SIGKILL'));
  return { child, pid: child.pid!, startTime: readProcStat(child.pid!)!.startTime };
}

function record(id: string, init: Init, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 2,
    ociVersion: '1.3.0',
    id,
    pid: init.pid,
    initStartTime: init.startTime,
    bundle: '/nonexistent/bundle',
    rootfs: '/nonexistent/bundle/rootfs',
    created: '2026-12-03T10:00:00.123456789Z',
    ownPidNamespace: true,
    ...extra,
  };
}

function writeRecord(root: string, id: string, content: string | Record<string, unknown>): string {
  mkdirSync(path.join(root, id), { recursive: true, mode: 0o711 });
  const file = path.join(root, id, 'state.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

t.test('crafted records validate, and the front reads them', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const init = await fakeInit(t);
  const rec = record('ok', init, { annotations: { z: '1', a: '2' } });
  t.ok(recordValidator()(rec), 'the test record is a valid record');
  writeRecord(root, 'ok', rec);
  const st = await hk(root, ['state', 'ok']);
  t.equal(st.code, 0, { stderr: st.stderr });
  t.equal(
    st.stdout,
    `{\n  "ociVersion": "1.3.0",\n  "id": "ok",\n  "pid": ${init.pid},\n  "status": "running",\n  "bundle": "/nonexistent/bundle",\n` +
      `  "rootfs": "/nonexistent/bundle/rootfs",\n  "created": "2026-12-03T10:00:00.123456789Z",\n  "annotations": {\n    "z": "1",\n    "a": "2"\n  },\n  "owner": ""\n}`,
    'state: 2-space JSON in runc\'s key order, no trailing newline',
  );
  const list = await hk(root, ['list']);
  t.equal(
    list.stdout,
    'ID          PID         STATUS      BUNDLE                CREATED                          OWNER\n' +
      `ok          ${String(init.pid).padEnd(12)}running     /nonexistent/bundle   2026-12-03T10:00:00.123456789Z   root\n`,
    'list: the table',
  );
  t.equal((await hk(root, ['kill', 'ok', '0'])).code, 0, 'kill 0');
  const bad = await hk(root, ['kill', 'ok', 'NOSUCH']);
  t.same([bad.code, errorMessage(bad)], [1, 'unknown signal "NOSUCH"']);
  const exited = new Promise((r) => init.child.once('exit', r));
  t.equal((await hk(root, ['kill', 'ok', 'sigterm'])).code, 0, 'kill sigterm');
  await exited;
  t.equal(JSON.parse((await hk(root, ['state', 'ok'])).stdout).status, 'stopped', 'the init got SIGTERM');
  t.equal((await hk(root, ['delete', 'ok'])).code, 0, 'delete of a stopped container');
  t.notOk(existsSync(path.join(root, 'ok')));
});

t.test('a record version the front does not read is handed to the brain', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const init = await fakeInit(t);
  for (const version of [3, 0]) {
    const file = writeRecord(root, 'v', record('v', init, { version }));
    const r = await hk(root, ['state', 'v']);
    t.equal(r.code, 1, `version ${version}: exit 1`);
    // Only the brain words it so: the front execs the brain instead of answering.
    t.equal(errorMessage(r), `${file}: a container record of version ${version}, which this hako does not read (it reads version 2)`);
    const log = path.join(root, '..', `${path.basename(root)}.log`);
    t.teardown(() => rmSync(log, { force: true }));
    const j = await hk(root, ['--log', log, '--log-format', 'json', 'kill', 'v']);
    t.equal(j.code, 1);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    t.equal(lines.length, 1, 'one error line in the log');
    t.equal(JSON.parse(lines[0]!).level, 'error');
    writeFileSync(log, '');
  }
  t.ok(isAlive(init.pid), 'the process is untouched');
});

t.test('a record of version 1 (before the front) is upgraded in place, and every verb works on it', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'front-v1');
  const hookOut = path.join(dir, 'poststop');
  const bundle = await makeBundle(t, {
    args: ['/probe', '--sleep', 'inf'],
    edit: (s) => {
      s.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${hookOut}`] }] };
    },
  });
  const id = containerId('v1');
  t.equal((await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, id])).code, 0, 'create');
  const file = path.join(root, id, 'state.json');
  const v2 = JSON.parse(readFileSync(file, 'utf8'));
  // What a version 1 create wrote: no hooks, pid-namespace flag or cgroup directories.
  const { hooks: _h, ownPidNamespace: _o, ...rest } = v2;
  writeFileSync(file, JSON.stringify({ ...rest, version: 1, cgroup: { driver: v2.cgroup.driver, paths: v2.cgroup.paths } }));

  const list = await hk(root, ['list', '-q']);
  t.same([list.code, list.stdout], [0, `${id}\n`], 'list', { stderr: list.stderr });
  const upgraded = JSON.parse(readFileSync(file, 'utf8'));
  t.same(upgraded, v2, 'the upgraded record is the one create writes now');
  t.ok(recordValidator()(upgraded), 'and it validates');

  writeFileSync(file, JSON.stringify({ ...rest, version: 1, cgroup: { driver: v2.cgroup.driver, paths: v2.cgroup.paths } }));
  t.equal((await hk(root, ['start', id])).code, 0, 'start of a version 1 record');
  t.equal(JSON.parse(readFileSync(file, 'utf8')).version, 2);
  writeFileSync(file, JSON.stringify({ ...rest, version: 1, cgroup: { driver: v2.cgroup.driver, paths: v2.cgroup.paths } }));
  t.equal((await hk(root, ['pause', id])).code, 0, 'pause');
  t.equal(JSON.parse((await hk(root, ['state', id])).stdout).status, 'paused');
  writeFileSync(file, JSON.stringify({ ...rest, version: 1, cgroup: { driver: v2.cgroup.driver, paths: v2.cgroup.paths } }));
  const del = await hk(root, ['delete', '--force', id]);
  t.equal(del.code, 0, 'delete --force of a paused version 1 container', { stderr: del.stderr });
  t.notOk(existsSync(path.join(root, id)), 'its state is gone');
  t.match(readFileSync(hookOut, 'utf8'), `"id":"${id}"`, 'the poststop hook ran');
  t.notOk(isAlive(v2.pid), 'its init is gone');
  for (const d of v2.cgroup.dirs as string[]) t.notOk(existsSync(d), `cgroup ${d} removed`);
});

t.test('bad input: each a clear error, runc\'s exit status, nothing removed that is not the container\'s', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const init = await fakeInit(t);
  writeRecord(root, 'neighbour', record('neighbour', init));

  // A missing state directory.
  for (const verb of ['state', 'kill', 'pause', 'resume', 'start', 'ps', 'delete']) {
    const r = await hk(root, [verb, 'missing']);
    t.same([r.code, errorMessage(r)], [1, 'container does not exist'], `${verb} of a missing id`);
  }
  t.equal((await hk(root, ['delete', '-f', 'missing'])).code, 0, 'delete -f of a missing id exits 0');
  t.equal((await hk(root, ['state', 'a/b'])).code, 1, 'an invalid id');

  // Truncated, corrupt, not an object, wrong field types, another container's id.
  const full = JSON.stringify(record('c', init));
  const cases: Array<[string, string, RegExp]> = [
    ['truncated', full.slice(0, full.length / 2), /corrupt state: parse error/],
    ['empty', '', /corrupt state: parse error/],
    ['garbage', '\u0000\u00ff{{{', /corrupt state: parse error/],
    ['array', '[1,2]', /corrupt state: not a hako container record \(no version\)/],
    ['pid string', JSON.stringify(record('c', init, { pid: 'x' })), /corrupt state: \/pid: must be a pid/],
    ['hooks wrong', JSON.stringify(record('c', init, { hooks: { poststop: [{ path: 1 }] } })), /corrupt state: \/hooks\/poststop\/0\/path: must be a string/],
    ['cgroup relative', JSON.stringify(record('c', init, { cgroup: { driver: 'v1', paths: {}, dirs: ['../x'], probe: '/x' } })), /\/cgroup\/dirs\/0: must be an absolute path/],
    ['another id', JSON.stringify(record('other', init)), /corrupt state: \/id: "other" is not the directory's name/],
    ['too deep', `{"version":2,"x":${'['.repeat(600)}${']'.repeat(600)}}`, /corrupt state: nested more than 528 deep/],
  ];
  for (const [what, text, why] of cases) {
    const file = writeRecord(root, 'c', text);
    const r = await hk(root, ['state', 'c']);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.match(errorMessage(r), why, what);
    t.ok(errorMessage(r).startsWith(`${file}: corrupt state: `), `${what}: the file is named`);
    const k = await hk(root, ['kill', 'c', 'KILL']);
    t.equal(k.code, 1, `${what}: kill fails`);
    const d = await hk(root, ['delete', 'c']);
    t.equal(d.code, 1, `${what}: delete without -f fails`);
    t.ok(existsSync(file), `${what}: and removes nothing`);
    const f = await hk(root, ['delete', '-f', 'c']);
    t.equal(f.code, 0, `${what}: delete -f removes the state dir`, { stderr: f.stderr });
    t.notOk(existsSync(path.join(root, 'c')), `${what}: gone`);
  }
  t.ok(isAlive(init.pid), 'no process was signalled');

  // state.json a symbolic link, a record larger than 32 MiB.
  mkdirSync(path.join(root, 'link'));
  symlinkSync(path.join(root, 'neighbour', 'state.json'), path.join(root, 'link', 'state.json'));
  t.match(errorMessage(await hk(root, ['state', 'link'])), /corrupt state: not a regular file/, 'a symlinked record is refused');
  writeRecord(root, 'big', `{"version":2,"pad":"${'x'.repeat(33 << 20)}"}`);
  t.match(errorMessage(await hk(root, ['state', 'big'])), /corrupt state: larger than 32 MiB/, 'a huge record is refused');
  for (const id of ['link', 'big']) t.equal((await hk(root, ['delete', '-f', id])).code, 0);
  t.ok(existsSync(path.join(root, 'neighbour', 'state.json')), 'the link\'s target is left alone');

  // A state dir left by a create that crashed halfway: exec.fifo, no state.json.
  mkdirSync(path.join(root, 'half'));
  writeFileSync(path.join(root, 'half', 'exec.fifo'), '');
  t.same(errorMessage(await hk(root, ['state', 'half'])), 'container does not exist');
  const listed = await hk(root, ['list', '-q']);
  t.equal(listed.stdout, 'neighbour\n', 'list skips it');
  t.equal(listed.stderr, 'load container half: container does not exist\n', 'and says why');
  t.equal((await hk(root, ['delete', 'half'])).code, 1, 'delete without -f: exit 1');
  t.notOk(existsSync(path.join(root, 'half')), 'but the stray dir is removed (as runc)');

  // An init pid reused by an unrelated process (start time differs).
  writeRecord(root, 'reused', record('reused', init, { initStartTime: '1' }));
  const st = JSON.parse((await hk(root, ['state', 'reused'])).stdout);
  t.same([st.status, st.pid], ['stopped', 0], 'stopped, pid 0');
  t.equal(errorMessage(await hk(root, ['kill', 'reused', 'KILL'])), 'container not running');
  t.equal((await hk(root, ['delete', 'reused'])).code, 0, 'delete');
  t.ok(isAlive(init.pid), 'the unrelated process lives on');

  // A cgroup directory already gone.
  const gone = `/sys/fs/cgroup/pids/hako-front-test-gone-${process.pid}`;
  writeRecord(root, 'nocg', record('nocg', init, { ownPidNamespace: false, cgroup: { driver: 'v1', paths: { pids: gone }, dirs: [gone], probe: gone, freezer: gone } }));
  t.equal((await hk(root, ['kill', '--all', 'nocg', '0'])).code, 0, 'kill --all: nothing to signal');
  t.match(errorMessage(await hk(root, ['pause', 'nocg'])), `failed to write "FROZEN": write ${gone}/freezer.state: no such file or directory`);
  t.equal((await hk(root, ['ps', '-f', 'json', 'nocg'])).stdout, 'null\n', 'ps: no processes');
  t.equal((await hk(root, ['delete', 'nocg'])).code, 1, 'delete of a running container without -f fails');
  const del = await hk(root, ['delete', '-f', 'nocg']);
  t.equal(del.code, 0, 'delete -f', { stderr: del.stderr });
  t.notOk(existsSync(path.join(root, 'nocg')), 'the state dir is gone');
  t.notOk(isAlive(init.pid), 'its init was killed');
  t.ok(existsSync(path.join(root, 'neighbour', 'state.json')), 'the neighbour is left alone');
});

t.test('the container lock: a verb that changes the container waits for whoever holds it', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const init = await fakeInit(t);
  writeRecord(root, 'locked', record('locked', init));
  // flock(1) takes the same lock the brain's create and update take (flock LOCK_EX on the state dir).
  const holder = spawn('flock', ['-x', path.join(root, 'locked'), 'sleep', '1'], { stdio: 'ignore' });
  const held = new Promise((r) => holder.once('exit', r));
  await new Promise((r) => setTimeout(r, 200));
  let done = false;
  const del = hk(root, ['delete', '-f', 'locked']).then((r) => {
    done = true;
    return r;
  });
  const state = await hk(root, ['state', 'locked']);
  t.equal(state.code, 0, 'state reads without the lock');
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(done, 'delete waits while the lock is held');
  t.ok(existsSync(path.join(root, 'locked', 'state.json')), 'nothing removed yet');
  await held;
  t.equal((await del).code, 0, 'delete once the lock is released');
  t.notOk(existsSync(path.join(root, 'locked')), 'and the container is gone');
});

t.test('errors: the front writes what the brain writes (stderr and --log lines, text and json)', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'front-log');
  const init = await fakeInit(t);
  writeRecord(root, 'reused', record('reused', init, { initStartTime: '1' }));
  writeRecord(root, 'bad', '{"version":2');
  const timeless = (s: string) => s.replace(/time="?[0-9TZ:-]+"?/g, 'time=T').replace(/"time":"[^"]+"/g, '"time":"T"');
  let n = 0;
  for (const args of [['state', 'missing'], ['kill', 'reused'], ['kill', 'reused', 'NOPE'], ['state', 'bad'], ['resume', 'reused'], ['delete', 'x/y'], ['list', '-f', 'yaml']]) {
    for (const log of [[], ['--log-format', 'json'], ['--log', 'LOG'], ['--log', 'LOG', '--log-format', 'json'], ['--debug']]) {
      const front = path.join(dir, `f${n}`);
      const brainLog = path.join(dir, `b${n++}`);
      const f = await hk(root, [...log.map((a) => (a === 'LOG' ? front : a)), ...args]);
      const b = await brain(root, [...log.map((a) => (a === 'LOG' ? brainLog : a)), ...args]);
      const what = [...log, ...args].join(' ');
      t.equal(f.code, 1, `${what}: exit 1`);
      t.same([f.code, timeless(f.stderr), f.stdout], [b.code, timeless(b.stderr), b.stdout], `${what}: as the brain`);
      if (log.includes('LOG')) t.equal(timeless(readFileSync(front, 'utf8')), timeless(readFileSync(brainLog, 'utf8')), `${what}: the same log line`);
    }
  }
});
