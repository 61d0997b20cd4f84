// A hook that fails, against runc 1.1.5: the error line, word for word (the runtime's
// name and the paths aside), for each way a hook fails (an exit status with output, a
// signal, a timeout, a missing binary), at create (prestart, createRuntime,
// createContainer) and at delete (poststop, whose first failure runc logs as an error and
// hako, following the runtime spec, as a warning, running the hooks after it). The hook
// index counts within the hook's kind, as runc's. Needs root, runc and dist/hako.
import { chmodSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Hook, Spec } from '../../src/oci/types.js';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, differentialSkip, HAKO, readIfExists, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(differentialSkip());

/** Every logrus line's level and msg (text format). */
function logLines(stderr: string): Array<{ level: string; msg: string }> {
  const out: Array<{ level: string; msg: string }> = [];
  for (const line of stderr.split('\n')) {
    const m = /level=(\w+) msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (m) out.push({ level: m[1]!, msg: JSON.parse(`"${m[2]}"`) as string });
  }
  return out;
}

interface Way {
  name: string;
  /** the failing hook, given the scratch dir */
  hook: (dir: string) => Hook;
}

const WAYS: Way[] = [
  { name: 'an exit status with output', hook: (dir) => ({ path: path.join(dir, 'fail.sh'), args: ['fail.sh', 'x'] }) },
  { name: 'a signal (SIGSYS)', hook: () => ({ path: '/bin/sh', args: ['sh', '-c', 'ulimit -c 0; kill -SYS $$'] }) },
  { name: 'a timeout', hook: () => ({ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }) },
  { name: 'a missing binary', hook: (dir) => ({ path: path.join(dir, 'nope') }) },
];

type Kind = 'prestart' | 'createRuntime' | 'createContainer';

/** The create's error and the delete's first poststop failure, with the run's own names made neutral. */
async function failures(runtime: string, kind: Kind | 'poststop', way: Way, t: Test): Promise<{ level: string; msg: string } | undefined> {
  const dir = await scratchDir(t, 'hookerr');
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, 'fail.sh'), '#!/bin/sh\necho "out $1"\necho err >&2\nexit 3\n', { mode: 0o755 });
  writeFileSync(path.join(dir, 'ok.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const ok: Hook = { path: path.join(dir, 'ok.sh') };
  const id = containerId('hookerr');
  const bundle = await makeBundle(t, {
    args: ['/bin/sleep', '1000'],
    edit: (spec: Spec) => {
      spec.hooks = { [kind]: [ok, way.hook(dir), ok] };
    },
  });
  const root = await makeStateRoot(t, runtime);
  const create = await spawnRuntime(runtime, root, ['create', '--bundle', bundle.dir, id], {
    stdoutFile: path.join(dir, 'out'),
    stderrFile: path.join(dir, 'err'),
    timeoutMs: 30_000,
  });
  const neutral = (m: { level: string; msg: string }) => ({
    level: m.level,
    msg: m.msg.replaceAll(dir, 'DIR').replace(/^(runc|hako) create failed: /, 'RUNTIME create failed: '),
  });
  if (kind !== 'poststop') {
    t.not(create.code, 0, `${runtime}: create fails`);
    return logLines(create.stderr).map(neutral).find((l) => l.level === 'error');
  }
  t.equal(create.code, 0, `${runtime}: create`, { stderr: create.stderr });
  const del = await runtimeCommand(runtime, root, ['delete', '-f', id]);
  t.equal(readIfExists(path.join(root, id, 'state.json')), '', `${runtime}: the container is gone`);
  return logLines(del.stderr).map(neutral)[0];
}

for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
  for (const way of WAYS) {
    t.test(`${kind}: ${way.name}: the same error line as runc's`, { skip }, async (t) => {
      const runc = await failures('runc', kind, way, t);
      const hako = await failures(HAKO, kind, way, t);
      t.ok(runc?.msg.includes('error running hook #1: '), 'runc names the hook by its index in its kind', { runc });
      t.same(hako, runc, 'hako\'s line is runc\'s');
    });
  }
}

for (const way of WAYS) {
  t.test(`poststop: ${way.name}: runc's words, as a warning (the runtime spec)`, { skip }, async (t) => {
    const runc = await failures('runc', 'poststop', way, t);
    const hako = await failures(HAKO, 'poststop', way, t);
    t.equal(runc?.level, 'error', 'runc logs it as an error');
    t.equal(hako?.level, 'warning', 'hako, as a warning');
    t.equal(hako?.msg, runc?.msg, 'in the same words');
  });
}
