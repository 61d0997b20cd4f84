// src/container/hooks.ts without root: how hako runs a hook (argv as args, env exactly,
// cwd, stdin state, captured output, timeout), runc's error wording, the order and the
// first failure stopping the rest, and the plan records for the init's hooks.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOOK_NAMES, hookPlan, hookState, runHook, runHooks } from '../../src/container/hooks.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { PlanHookKind } from '../../src/plan/launch-plan.js';

const dir = mkdtempSync(join(tmpdir(), 'hako-hooks-unit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const script = (name: string, body: string): string => {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
};

const state = hookState('c1', '/b', { ociVersion: '1.0.0', annotations: { a: 'b' } }, 'creating', 42);

t.test('the state: compact, pid only when given, annotations only when there are some', async (t) => {
  t.equal(JSON.stringify(state), `{"ociVersion":"${state.ociVersion}","id":"c1","status":"creating","pid":42,"bundle":"/b","annotations":{"a":"b"}}`);
  t.same(Object.keys(hookState('c1', '/b', { ociVersion: '1', annotations: {} }, 'stopped')), ['ociVersion', 'id', 'status', 'bundle'], 'poststop: no pid key');
});

// tap's processinfo wraps child_process in this test process and adds its own variables to
// every child's environment: those are dropped here (the integration test checks the
// exact environment under dist/hako, where nothing wraps spawn).
const envOf = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\0')
    .filter((e) => e !== '' && !/^(_TAPJS_PROCESSINFO_\w*|NODE_OPTIONS)=/.test(e));

t.test('argv is args, env exactly env, cwd as given, the state on stdin', async (t) => {
  const rec = join(dir, 'rec');
  const p = script('rec.sh', `for a in "$@"; do echo "arg $a"; done > ${rec}; exec 3</proc/self/environ; /bin/cat <&3 > ${rec}.env; pwd -P >> ${rec}; /bin/cat >> ${rec}`);
  t.equal(runHook({ path: p, args: ['rec.sh', 'x', 'y z'], env: ['K=v', 'E='] }, state, '/tmp'), undefined, 'succeeds');
  t.equal(readFileSync(rec, 'utf8'), `arg x\narg y z\n/tmp\n${JSON.stringify(state)}`, 'args after argv[0], cwd, stdin');
  t.same(envOf(`${rec}.env`), ['K=v', 'E='], 'env as given');
  t.equal(runHook({ path: p }, state, dir), undefined, 'no args, no env');
  t.equal(readFileSync(rec, 'utf8'), `${dir}\n${JSON.stringify(state)}`);
  t.same(envOf(`${rec}.env`), [], 'nothing inherited');
});

t.test('failures: runc\'s wording', async (t) => {
  const fail = script('fail.sh', 'echo out; echo err >&2; exit 3');
  t.equal(runHook({ path: fail }, state, dir), 'error running hook: exit status 3, stdout: out\n, stderr: err\n');
  const killed = script('killed.sh', 'kill -9 $$');
  t.equal(runHook({ path: killed }, state, dir), 'error running hook: signal: killed, stdout: , stderr: ');
  t.equal(runHook({ path: join(dir, 'missing') }, state, dir), `fork/exec ${join(dir, 'missing')}: no such file or directory`);
  t.equal(runHook({ path: dir }, state, dir), `fork/exec ${dir}: permission denied`);
  const slow = script('slow.sh', 'exec sleep 20');
  const began = Date.now();
  t.equal(runHook({ path: slow, timeout: 1 }, state, dir), 'hook ran past specified timeout of 1.0s');
  t.ok(Date.now() - began < 5000, 'killed at the timeout');
  // Its outputs closed, the hook runs on: the timeout still ends it.
  const quiet = script('quiet.sh', 'exec >&- 2>&-; exec sleep 20');
  const quietBegan = Date.now();
  t.equal(runHook({ path: quiet, timeout: 1 }, state, dir), 'hook ran past specified timeout of 1.0s', 'a hook that closed its outputs');
  t.ok(Date.now() - quietBegan < 5000, 'killed at the timeout all the same');
  const deaf = script('deaf.sh', 'exit 0');
  t.equal(runHook({ path: deaf }, { ...state, annotations: { big: 'x'.repeat(1 << 20) } }, dir), undefined, 'a hook that does not read its stdin is fine');
});

// Go's syscall.Signal.String() (os/exec's "signal: ..."), not the C library's names.
t.test('a hook killed by a signal: the signal\'s name as Go prints it', async (t) => {
  const names: Array<[string, string]> = [
    ['SYS', 'bad system call'],
    ['HUP', 'hangup'],
    ['INT', 'interrupt'],
    ['TERM', 'terminated'],
    ['USR2', 'user defined signal 2'],
    ['ALRM', 'alarm clock'],
    ['PWR', 'power failure'],
    ['16', 'stack fault'],
    ['VTALRM', 'virtual timer expired'],
    ['XCPU', 'CPU time limit exceeded'],
    ['40', 'signal 40'],
  ];
  for (const [sig, text] of names) {
    // no core file: the status says "(core dumped)" only when one was written, as Go's does
    const p = script(`sig-${sig}.sh`, `ulimit -c 0; kill -${sig} $$; sleep 5`);
    t.equal(runHook({ path: p }, state, dir), `error running hook: signal: ${text}, stdout: , stderr: `, `SIG${sig}`);
  }
});

t.test('hooks of one kind in order; the first failure stops the rest', async (t) => {
  const log = join(dir, 'order');
  writeFileSync(log, '');
  const step = (n: string) => ({ path: script(`s${n}.sh`, `echo ${n} >> ${log}`) });
  const fail = { path: script('f.sh', 'echo no; exit 1') };
  t.throws(() => runHooks([step('0'), fail, step('2')], state, dir), { message: 'error running hook #1: error running hook: exit status 1, stdout: no\n, stderr: ' });
  t.equal(readFileSync(log, 'utf8'), '0\n');
  runHooks(undefined, state);
  runHooks([step('a'), step('b')], state, dir);
  t.equal(readFileSync(log, 'utf8'), '0\na\nb\n');
});

t.test('hookPlan: the init\'s hooks and their states', async (t) => {
  const spec = defaultSpec();
  spec.annotations = { k: 'v' };
  spec.hooks = {
    prestart: [{ path: '/p' }],
    startContainer: [{ path: '/s', args: ['s', '1'], timeout: 3 }],
    createContainer: [{ path: '/c', env: [] }, { path: '/c2', env: ['A=1'] }],
  };
  const p = hookPlan(spec, 'id1', '/bundle');
  t.same(p.hooks, [
    { kind: PlanHookKind.CREATE_CONTAINER, timeout: 0, hasEnv: 1, path: '/c', args: [], env: [] },
    { kind: PlanHookKind.CREATE_CONTAINER, timeout: 0, hasEnv: 1, path: '/c2', args: [], env: ['A=1'] },
    { kind: PlanHookKind.START_CONTAINER, timeout: 3, hasEnv: 0, path: '/s', args: ['s', '1'], env: [] },
  ]);
  const [cc, sc] = p.hookStates;
  t.same(JSON.parse(`${cc!.head}1${cc!.tail}`), { ociVersion: spec.ociVersion, id: 'id1', status: 'creating', pid: 1, bundle: '/bundle', annotations: { k: 'v' } });
  t.same(JSON.parse(`${sc!.head}7${sc!.tail}`), { ociVersion: spec.ociVersion, id: 'id1', status: 'created', pid: 7, bundle: '/bundle', annotations: { k: 'v' } });
  t.same(hookPlan(defaultSpec(), 'x', '/b'), { hooks: [], hookStates: [] }, 'no hooks: nothing in the plan');
  t.same(HOOK_NAMES, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
});
