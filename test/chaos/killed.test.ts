// Killed at every step: hako (the front and the brain) SIGKILLed at each named step of
// create, start, run, exec, delete and kill --all (HAKO_TEST_STOP_AT, test-only: see
// src/container/stop-point.ts), and hako-init SIGKILLed at each of its stages. After
// each: `state` tells the truth, `delete --force` succeeds, and nothing is left: no
// process, mount, cgroup directory in any hierarchy, state directory, fifo or socket, and
// no held lock (the same id is created and deleted again). Also the caller's subreaper (a
// shim stand-in) killed under a running container: the container is not lost track of.
// npm test runs a sample of the steps; npm run test:chaos (HAKO_CHAOS=full) all of them,
// also for a container sharing the host's pid and mount namespaces.
// Needs root and dist/hako.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, mountsUnder } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, errorMessage, HAKO, hakoSkip, hostMountsAt, isAlive, uniqueMarker, waitFor } from '../helpers/lifecycle.js';
import { FULL, cgroupParent, cgroupsLeft, containersIn, hkSpawn, reapAsAShim, recordErrors } from '../helpers/chaos.js';

const skip = asContainerTests(hakoSkip());
// Longer than tap's 120 s default on a busy shared machine; test:chaos sets its own.
if (!process.env.HAKO_CHAOS) t.setTimeout(600_000);

type Setup = 'none' | 'created' | 'running';
interface Case {
  /** HAKO_TEST_STOP_AT */
  step: string;
  setup: Setup;
  /** the command run with the stop point */
  verb: (id: string) => string[];
  /** what `state` may say afterwards ('none': "container does not exist") */
  states: string[];
  /** hako itself is killed (else hako-init is, and hako reports) */
  killsHako: boolean;
  /** part of npm test's sample */
  sample?: boolean;
}

const create = (id: string, bundle: string) => ['create', '--bundle', bundle, id];

function cases(bundle: string, quick: string): Case[] {
  const c: Case[] = [];
  const createSteps = ['front:handover', 'create:dir-made', 'create:intent-recorded', 'create:cgroup-made', 'create:fifo-made', 'create:spawned', 'create:plan-sent', 'create:init-pid', 'create:init-recorded', 'create:run-hooks', 'create:ready', 'create:launched', 'create:recorded'];
  for (const step of createSteps) {
    const early = step === 'front:handover' || step === 'create:dir-made';
    const states = early ? ['none'] : step === 'create:recorded' ? ['created'] : ['stopped'];
    c.push({ step, setup: 'none', verb: (id) => create(id, bundle), states, killsHako: true, sample: ['create:cgroup-made', 'create:init-recorded'].includes(step) });
  }
  for (const stage of ['spawned', 'plan-sent', 'init-pid', 'run-hooks', 'ready']) {
    // hako-init killed: create fails and cleans up, or (killed once ready) the container is stopped.
    c.push({ step: `init:create:${stage}`, setup: 'none', verb: (id) => create(id, bundle), states: stage === 'ready' ? ['none', 'stopped'] : ['none'], killsHako: false, sample: stage === 'run-hooks' });
  }
  c.push({ step: 'start:before-release', setup: 'created', verb: (id) => ['start', id], states: ['created'], killsHako: true });
  c.push({ step: 'start:released', setup: 'created', verb: (id) => ['start', id], states: ['running'], killsHako: true, sample: true });
  c.push({ step: 'create:init-recorded', setup: 'none', verb: (id) => ['run', '-d', '--bundle', bundle, id], states: ['stopped'], killsHako: true });
  c.push({ step: 'create:recorded', setup: 'none', verb: (id) => ['run', '-d', '--bundle', bundle, id], states: ['created'], killsHako: true });
  c.push({ step: 'start:released', setup: 'none', verb: (id) => ['run', '-d', '--bundle', bundle, id], states: ['running'], killsHako: true });
  c.push({ step: 'run:exited', setup: 'none', verb: (id) => ['run', '--bundle', quick, id], states: ['stopped'], killsHako: true, sample: true });
  for (const step of ['front:handover', 'exec:spawned', 'exec:plan-sent', 'exec:init-pid', 'exec:ready']) {
    c.push({ step, setup: 'running', verb: (id) => ['exec', '-d', id, '/bin/sleep', '1000'], states: ['running'], killsHako: true, sample: step === 'exec:init-pid' });
  }
  for (const stage of ['spawned', 'plan-sent', 'init-pid', 'ready']) {
    c.push({ step: `init:exec:${stage}`, setup: 'running', verb: (id) => ['exec', '-d', id, '/bin/sleep', '1000'], states: ['running'], killsHako: false });
  }
  c.push({ step: 'delete:before-kill', setup: 'running', verb: (id) => ['delete', '--force', id], states: ['running'], killsHako: true });
  c.push({ step: 'delete:before-destroy', setup: 'running', verb: (id) => ['delete', '--force', id], states: ['stopped'], killsHako: true, sample: true });
  c.push({ step: 'delete:before-remove-state', setup: 'running', verb: (id) => ['delete', '--force', id], states: ['stopped'], killsHako: true });
  c.push({ step: 'kill:locked', setup: 'running', verb: (id) => ['kill', '--all', id, 'KILL'], states: ['running'], killsHako: true });
  c.push({ step: 'kill:frozen', setup: 'running', verb: (id) => ['kill', '--all', id, 'KILL'], states: ['paused'], killsHako: true, sample: true });
  return c;
}

async function stateOf(root: string, id: string): Promise<string> {
  const r = await hkSpawn(root, ['state', id], undefined, 10_000);
  if (r.code !== 0) {
    const msg = errorMessage(r);
    return msg === 'container does not exist' ? 'none' : `error: ${msg}`;
  }
  return (JSON.parse(r.stdout) as { status: string }).status;
}

async function trial(t: Test, root: string, bundle: Bundle, cgPath: (id: string) => string, kase: Case, marker: string): Promise<void> {
  const id = containerId('chaos');
  bundle.spec.linux!.cgroupsPath = cgPath(id);
  await bundle.writeConfig();
  if (kase.setup !== 'none') {
    const c = await hkSpawn(root, create(id, bundle.dir));
    t.equal(c.code, 0, 'create', { stderr: c.stderr });
    if (kase.setup === 'running') t.equal((await hkSpawn(root, ['start', id])).code, 0, 'start');
  }
  const r = await hkSpawn(root, kase.verb(id), { HAKO_TEST_STOP_AT: kase.step });
  if (kase.killsHako) t.equal(r.signal, 'SIGKILL', `hako stopped at ${kase.step}`, { stderr: r.stderr });
  else t.equal(r.signal, null, `hako outlived hako-init, killed at ${kase.step}`, { stderr: r.stderr });
  t.not(r.stderr, /\n\s+at /, 'no stack trace');
  // What the killed hako would have reaped is re-parented to this subreaper, which reaps it
  // as a shim does (an unreaped process of the container's pid namespace keeps its init from
  // finishing its exit). Where hako lives on, it must reap its own (checkNothingLeft).
  // Also where hako lives on but the process it leaves is the container's (its init killed
  // once ready; an exec'd process): reaping those is the subreaper's, as after any create.
  const shimReaps = kase.killsHako || kase.step.endsWith(':ready') || kase.step.startsWith('init:exec:');
  const stopReaping = shimReaps ? reapAsAShim() : async () => undefined;
  t.teardown(stopReaping);

  const recordFile = path.join(root, id, 'state.json');
  if (existsSync(recordFile)) t.same(recordErrors(JSON.parse(readFileSync(recordFile, 'utf8'))), [], 'the record left behind validates against its schema');
  const status = await stateOf(root, id);
  t.ok(kase.states.includes(status), `state says ${status} (expected ${kase.states.join(' or ')})`);
  const list = await hkSpawn(root, ['list', '-f', 'json'], undefined, 10_000);
  t.equal(list.code, 0, 'list works', { stderr: list.stderr });

  const del = await hkSpawn(root, ['delete', '--force', id]);
  t.equal(del.code, 0, 'delete --force', { stderr: del.stderr });
  t.same(containersIn(root), [], 'no state dir left');
  t.same(cgroupsLeft(cgPath(id)), [], 'no cgroup directory left in any hierarchy');
  t.same(mountsUnder(bundle.dir), [], 'no mount left under the bundle');
  t.same(hostMountsAt(bundle.rootfs), [], 'no mount left at the rootfs');
  await stopReaping();
  await checkNothingLeft(t, { markers: [marker], noChildren: true });
  if (FULL) {
    // No lock left held, nothing in the way: the same id again.
    const stop = reapAsAShim();
    const again = await hkSpawn(root, create(id, bundle.dir));
    t.equal(again.code, 0, 'the same id can be created again', { stderr: again.stderr });
    t.equal((await hkSpawn(root, ['delete', '--force', id])).code, 0, 'and deleted');
    t.same(cgroupsLeft(cgPath(id)), [], 'no cgroup directory left');
    await stop();
    await checkNothingLeft(t, { markers: [marker], noChildren: true });
  }
}

for (const variant of FULL ? ['own namespaces', 'host pid and mount namespaces'] : ['own namespaces']) {
  t.test(`killed at every step (${variant}${FULL ? '' : ', a sample'})`, { skip }, async (t) => {
    const root = await makeStateRoot(t, HAKO);
    const parent = cgroupParent(t, 'chaos');
    const marker = uniqueMarker('chaos');
    const hostNs = variant !== 'own namespaces';
    const edit = (s: Bundle['spec']) => {
      if (!hostNs) return;
      s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== 'pid' && ns.type !== 'mount');
      delete s.linux!.maskedPaths;
      delete s.linux!.readonlyPaths;
    };
    const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', `sleep 1000; echo ${marker}`], edit });
    const quick = await makeBundle(t, { args: ['/bin/true'], edit });
    quick.spec.linux!.cgroupsPath = `${parent}/quick`;
    await quick.writeConfig();
    const all = cases(bundle.dir, quick.dir).filter((c) => FULL || c.sample);
    for (const kase of hostNs ? all.filter((c) => c.setup === 'none') : all) {
      await t.test(`${kase.step}: ${kase.verb('ID').join(' ')}`, async (t) => {
        const cgPath = (id: string) => (kase.verb('ID')[0] === 'run' && kase.verb('ID').includes(quick.dir) ? `${parent}/quick` : `${parent}/${id}`);
        await trial(t, root, kase.verb('ID').includes(quick.dir) ? quick : bundle, cgPath, kase, marker);
      });
    }
  });
}

// A shim stand-in: a subreaper that runs `hako create` and `hako start`, then is SIGKILLed.
// The container's init re-parents to the next subreaper (this test); state, exec, kill and
// delete still find it, and nothing is left.
t.test('the caller\'s subreaper killed: the container is not lost track of', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const parent = cgroupParent(t, 'chaos-shim');
  const marker = uniqueMarker('shim');
  const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', `sleep 1000; echo ${marker}`] });
  const id = containerId('shim');
  bundle.spec.linux!.cgroupsPath = `${parent}/${id}`;
  await bundle.writeConfig();
  const py = String.raw`
import ctypes, subprocess, sys, os, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
hako, root, bundle, cid = sys.argv[1:5]
for args in (['create', '--bundle', bundle, cid], ['start', cid]):
    r = subprocess.run([hako, '--root', root] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0: sys.exit(10 + r.returncode)
print('started', flush=True)
time.sleep(1000)
`;
  const shim = spawn('python3', ['-c', py, HAKO, root, bundle.dir, id], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  shim.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await waitFor('the shim to start the container', () => out.includes('started') || shim.exitCode !== null, 30_000);
  t.equal(shim.exitCode, null, 'the shim created and started the container');
  const before = JSON.parse((await hkSpawn(root, ['state', id])).stdout) as { pid: number; status: string };
  t.equal(before.status, 'running');
  t.equal(Number(readFileSync(`/proc/${before.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]), shim.pid, 'the init is the shim\'s child');
  shim.kill('SIGKILL');
  await new Promise((r) => shim.once('exit', r));
  await waitFor('the init to re-parent to this subreaper', () => readFileSync(`/proc/${before.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(process.pid));
  const after = JSON.parse((await hkSpawn(root, ['state', id])).stdout) as { pid: number; status: string };
  t.same([after.status, after.pid], ['running', before.pid], 'state still finds it running, same pid');
  const ex = await hkSpawn(root, ['exec', id, '/bin/echo', 'still here']);
  t.same([ex.code, ex.stdout], [0, 'still here\n'], 'exec still works');
  t.equal((await hkSpawn(root, ['kill', id, 'KILL'])).code, 0, 'kill');
  await waitFor('the init to die', () => !isAlive(before.pid));
  t.equal(await stateOf(root, id), 'stopped', 'state: stopped');
  t.equal((await hkSpawn(root, ['delete', id])).code, 0, 'delete');
  t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup left');
  t.notOk(existsSync(path.join(root, id)), 'no state dir left');
  await checkNothingLeft(t, { pids: [before.pid], markers: [marker], noChildren: true });
});
