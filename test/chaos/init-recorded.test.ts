// The init's pid is in the early record as soon as stage 0 reports it: create writes it
// while the init mounts its rootfs, before the init asks for its hooks. A create killed
// when the hooks' turn comes (HAKO_TEST_STOP_AT=create:run-hooks) leaves a record that
// names the init; `state` says stopped (its creator is gone), `delete --force`
// kills the init and removes everything. Needs root and dist/hako.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, mountsUnder } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, errorMessage, HAKO, hakoSkip, isAlive, uniqueMarker } from '../helpers/lifecycle.js';
import { cgroupParent, cgroupsLeft, containersIn, hkSpawn, reapAsAShim, recordErrors } from '../helpers/chaos.js';

const skip = asContainerTests(hakoSkip());

t.test('create killed at the hooks\' turn: the record already names the init', { skip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const parent = cgroupParent(t, 'init-recorded');
  const marker = uniqueMarker('initrec');
  const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', `sleep 1000; echo ${marker}`] });
  const id = containerId('initrec');
  bundle.spec.linux!.cgroupsPath = `${parent}/${id}`;
  await bundle.writeConfig();
  const stopReaping = reapAsAShim();
  t.teardown(stopReaping);

  const r = await hkSpawn(root, ['create', '--bundle', bundle.dir, id], { HAKO_TEST_STOP_AT: 'create:run-hooks' });
  t.equal(r.signal, 'SIGKILL', 'hako stopped at create:run-hooks', { stderr: r.stderr });
  const file = path.join(root, id, 'state.json');
  t.ok(existsSync(file), 'a record is left');
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; initStartTime: string; creating?: unknown };
  t.same(recordErrors(rec), [], 'it validates against its schema');
  t.ok(rec.creating, 'still the early record');
  t.ok(rec.pid > 0, `the init's pid is recorded (${rec.pid})`);
  // The init leaves once it finds the sync socket closed: its start time, if it is still there.
  t.not(rec.initStartTime, '0', 'with its start time');
  const stat = rec.pid > 0 && existsSync(`/proc/${rec.pid}/stat`) ? readFileSync(`/proc/${rec.pid}/stat`, 'utf8') : undefined;
  if (stat !== undefined) t.equal(stat.split(') ')[1]!.split(' ')[19], rec.initStartTime, 'the init\'s own');

  const state = await hkSpawn(root, ['state', id]);
  t.equal(state.code === 0 ? (JSON.parse(state.stdout) as { status: string }).status : errorMessage(state), 'stopped', 'state: stopped (its creator is gone)');
  const del = await hkSpawn(root, ['delete', '--force', id]);
  t.equal(del.code, 0, 'delete --force', { stderr: del.stderr });
  t.ok(!(rec.pid > 0) || !isAlive(rec.pid), 'the init is gone');
  t.same(containersIn(root), [], 'no state dir left');
  t.same(cgroupsLeft(`${parent}/${id}`), [], 'no cgroup directory left');
  t.same(mountsUnder(bundle.dir), [], 'no mount left under the bundle');
  await stopReaping();
  await checkNothingLeft(t, { markers: [marker], noChildren: true });
});
