// The front hands create, run and every other command it does not serve to the brain with
// BUN_JSC_useJIT=0 in the environment (JavaScriptCore interprets a call's run-once code:
// bench/README.md), unless the caller set it. Seen from a createRuntime hook, whose parent
// is the brain.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { asContainerTests, HAKO, hakoSkip, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

async function brainEnvironment(t: Test, callerValue: string | undefined): Promise<string[]> {
  const root = await makeStateRoot(t, HAKO);
  const out = join(await scratchDir(t, 'engine-env'), 'environ');
  const bundle = await makeBundle(t, {
    args: ['true'],
    edit: (spec) => {
      spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `tr '\\0' '\\n' < /proc/$PPID/environ > ${out}`] }] };
    },
  });
  const env = { ...process.env };
  delete env.HAKO_TEST_STOP_AT;
  delete env.BUN_JSC_useJIT;
  if (callerValue !== undefined) env.BUN_JSC_useJIT = callerValue;
  const r = await spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, containerId('engine-env')], { cwd: bundle.dir, env });
  t.equal(r.code, 0, r.stderr);
  return readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('BUN_JSC_'));
}

t.test('the brain runs without the JIT', { skip }, async (t) => {
  t.same(await brainEnvironment(t, undefined), ['BUN_JSC_useJIT=0']);
});

t.test("a caller's own BUN_JSC_useJIT stands", { skip }, async (t) => {
  t.same(await brainEnvironment(t, '1'), ['BUN_JSC_useJIT=1']);
});
