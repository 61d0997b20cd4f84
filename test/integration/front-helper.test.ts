// The front's helper process ("hako-warm", cpp/front/warm.cc): for create, run and exec the
// front starts it before it hands over; it makes hako-init's sealed copy, then warms up the
// cgroup writer lock, and the brain adopts it, takes the copy and reaps it, whatever
// becomes of the command. Nothing may be left for the caller's subreaper: this test is one
// (as containerd's shim and conmon are), and checks its children after each command. The
// timing itself is the bench's (bench/README.md), never asserted here.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import {
  asContainerTests,
  becomeSubreaper,
  eventually,
  HAKO,
  hakoSkip,
  liveChildren,
  procInfo,
  reapIfOurs,
  spawnRuntime,
  zombieChildren,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());
const BRAIN = join(HAKO, '..', 'libexec', 'hako', 'hako-brain');

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Our warm-up children, live or exited: none may be left by a command that returned. */
function warmChildren(): string[] {
  return [...new Set([...liveChildren(), ...zombieChildren()])].filter((p) => comm(p) === 'hako-warm').map((p) => `pid ${p} ${procInfo(p)?.state ?? '?'}`);
}

function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const n of names) delete env[n];
  return env;
}

t.before(() => {
  if (!skip) becomeSubreaper();
});

t.test('the front\'s warm-up process is reaped by the brain, whatever the command comes to', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const bundle = await makeBundle(t, { args: ['true'] });
  const broken = await makeBundle(t, { args: ['true'] });
  const config = JSON.parse(readFileSync(join(broken.dir, 'config.json'), 'utf8'));
  config.process.args = 'not a list';
  writeFileSync(join(broken.dir, 'config.json'), JSON.stringify(config));
  const env = envWithout('HAKO_TEST_STOP_AT', 'HAKO_CGROUP_WARM');
  const id = containerId('warm');
  const cases: { name: string; args: string[]; code: number }[] = [
    { name: 'run of true', args: ['run', '--bundle', bundle.dir, id], code: 0 },
    { name: 'create refused by the schema', args: ['create', '--bundle', broken.dir, `${id}-x`], code: 1 },
    { name: 'run --help', args: ['run', '--help'], code: 0 },
    { name: 'exec into a missing container', args: ['exec', `${id}-missing`, 'true'], code: 255 },
    { name: 'run with a usage error', args: ['run', '--no-such-flag', id], code: 1 },
  ];
  for (const c of cases) {
    const r = await spawnRuntime(HAKO, root, c.args, { cwd: bundle.dir, env });
    t.equal(r.code, c.code, `${c.name}: exit status (${r.stderr.trim()})`);
    t.same(warmChildren(), [], `${c.name}: nothing left for the caller's subreaper`);
    t.same(zombieChildren(), [], `${c.name}: no exited child left`);
  }
});

t.test('the warm-up process ends by itself when the brain is killed before it adopted it', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const bundle = await makeBundle(t, { args: ['true'] });
  const id = containerId('warm-killed');
  const env = { ...envWithout('HAKO_CGROUP_WARM'), HAKO_TEST_STOP_AT: 'create:dir-made' };
  const r = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, id], { cwd: bundle.dir, env });
  t.equal(r.signal, 'SIGKILL', 'the brain stopped itself where asked');
  // Re-parented to this subreaper: the front did start it, and its stop pipe closed with the brain.
  // (a zombie counts as alive too: each pid once)
  const warm = [...new Set([...liveChildren(), ...zombieChildren()])].filter((p) => comm(p) === 'hako-warm');
  t.equal(warm.length, 1, 'one hako-warm process was the brain\'s');
  t.ok(await eventually(() => warm.every((p) => procInfo(p)?.state === 'Z' || procInfo(p) === undefined), 5000), 'it exited on its own');
  for (const p of warm) t.ok(await reapIfOurs(p), `reaped ${p}`);
  const deleted = await runtimeCommand(HAKO, root, ['delete', '-f', id], { env: envWithout('HAKO_TEST_STOP_AT') });
  t.equal(deleted.code, 0, deleted.stderr);
  t.same(zombieChildren(), [], 'nothing else left');
});

t.test('a HAKO_CGROUP_WARM the front did not set is not acted on', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const bundle = await makeBundle(t, { args: ['true'] });
  const env = { ...envWithout('HAKO_TEST_STOP_AT'), HAKO_CGROUP_WARM: '1:0' };
  // The brain run directly (no front): pid 1 is not its child, fd 0 is not a pipe's write end.
  const direct = await spawnRuntime(BRAIN, root, ['run', '--bundle', bundle.dir, containerId('warm-forged')], { cwd: bundle.dir, env });
  t.equal(direct.code, 0, direct.stderr);
  t.same([...warmChildren(), ...zombieChildren().map(String)], [], 'nothing left');
  // Through the front, for a verb it serves and one it hands over.
  const state = await runtimeCommand(HAKO, root, ['list'], { env });
  t.equal(state.code, 0, state.stderr);
  const run = await spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, containerId('warm-forged2')], { cwd: bundle.dir, env });
  t.equal(run.code, 0, run.stderr);
  t.same([...warmChildren(), ...zombieChildren().map(String)], [], 'nothing left');
});

t.test("hako-init runs from the front's sealed copy", { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const bundle = await makeBundle(t, { args: ['true'] });
  const env = envWithout('HAKO_TEST_STOP_AT', 'HAKO_CGROUP_WARM', 'HAKO_INIT_MEMFD');
  const r = await spawnRuntime(HAKO, root, ['--debug', 'run', '--bundle', bundle.dir, containerId('init-copy')], { cwd: bundle.dir, env });
  t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
  t.match(r.stderr, /msg="hako-init: \S+\/hako-init-[0-9a-f]+ \(copied by the front\)"/, 'the brain took the copy the front had made');
});

t.test('a copy that is not sealed is not run', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const bundle = await makeBundle(t, { args: ['true'] });
  const initFile = readdirSync(join(BRAIN, '..')).find((f) => f.startsWith('hako-init-'));
  t.ok(initFile, 'the build has its hako-init beside the brain');
  // The brain run directly, with a memfd named as the front names its copy, left open for writing.
  const script = [
    'import os, sys',
    "fd = os.memfd_create('hako-init', os.MFD_ALLOW_SEALING)",
    'os.set_inheritable(fd, True)',
    "env = dict(os.environ, HAKO_INIT_MEMFD=f'{fd}:{sys.argv[1]}', HAKO_CGROUP_WARM='1:0')",
    'os.execve(sys.argv[2], sys.argv[2:], env)',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script, initFile!, BRAIN, '--root', root, '--debug', 'run', '--bundle', bundle.dir, containerId('init-unsealed')], {
    cwd: bundle.dir,
    env: envWithout('HAKO_TEST_STOP_AT'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  t.equal(r.status, 0, 'run exits 0', { stderr: r.stderr });
  t.match(r.stderr, /msg="hako-init: \S+\/hako-init-[0-9a-f]+"/, 'the brain made its own copy');
  t.notMatch(r.stderr, /copied by the front/);
});
