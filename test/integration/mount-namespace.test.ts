// A container without a mount namespace, and one that joins a mount namespace by path,
// against runc 1.1.5: both runtimes run them; unlike runc, hako leaves no mount on the
// host once the container is deleted. Needs root, dist/hako, runc and the probe.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { parseProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, mountsUnder, runtimeCommand } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  differentialSkip,
  errorMessage,
  HAKO,
  killQuietly,
  readIfExists,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const skip = asContainerTests(differentialSkip());
const ino = (file: string): number => statSync(file).ino;

/** The default bundle without a mount namespace (runc refuses masked and read-only paths then). */
function noMountNs(t: Test, args: string[]): Promise<Bundle> {
  return makeBundle(t, {
    args,
    edit: (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'mount');
      delete spec.linux!.maskedPaths;
      delete spec.linux!.readonlyPaths;
    },
  });
}

async function runForeground(t: Test, runtime: string, bundle: Bundle, label: string) {
  const root = await makeStateRoot(t, runtime);
  const dir = await scratchDir(t, label);
  const r = await spawnRuntime(runtime, root, ['run', '--bundle', bundle.dir, containerId(label)], {
    stdoutFile: path.join(dir, 'out'),
    stderrFile: path.join(dir, 'err'),
  });
  return { ...r, root };
}

t.test('no mount namespace: run in the foreground, as runc does, and no mount is left', { skip }, async (t) => {
  for (const runtime of ['runc', HAKO]) {
    const bundle = await noMountNs(t, ['/probe']);
    const r = await runForeground(t, runtime, bundle, 'nomnt');
    t.equal(r.code, 0, `${runtime}: exit 0`, { stderr: r.stderr });
    const report = parseProbeReport(r.stdout.trim().split('\n').at(-1) ?? '');
    t.equal(report.namespaces?.mnt, ino('/proc/self/ns/mnt'), `${runtime}: the container is in the runtime's mount namespace`);
    t.ok(report.mounts?.some((m) => m.mount_point === '/proc'), `${runtime}: the container has its /proc`);
    if (runtime === HAKO) {
      t.same(mountsUnder(bundle.dir), [], 'hako: no mount left on the host');
      await checkNothingLeft(t, { stateRoot: r.root, bundleDir: bundle.dir });
    }
  }
});

t.test('no mount namespace: create, start, delete; the mounts are on the host until delete', { skip }, async (t) => {
  const id = containerId('nomnt');
  const marker = `marker-${id}`;
  const bundle = await noMountNs(t, ['/probe', '--stat', `/${marker}`, '--sleep', 'inf']);
  bundle.spec.root!.readonly = true;
  await bundle.writeConfig();
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, 'nomnt');
  const create = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, '--pid-file', path.join(dir, 'pid'), id], {
    stdoutFile: path.join(dir, 'out'),
    stderrFile: path.join(dir, 'err'),
  });
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  const pid = Number(readIfExists(path.join(dir, 'pid')));
  const under = mountsUnder(bundle.dir);
  t.ok(under.includes(path.join(bundle.rootfs, 'proc')), 'the container\'s /proc is in the host\'s mount table', { under });
  t.equal(ino(`/proc/${pid}/ns/mnt`), ino('/proc/self/ns/mnt'), 'the init is in the host\'s mount namespace');
  t.equal((await runtimeCommand(HAKO, root, ['start', id])).code, 0, 'start');
  await waitFor('the report', () => readIfExists(path.join(dir, 'out')).endsWith('\n'));
  const report = parseProbeReport(readIfExists(path.join(dir, 'out')));
  t.ok(report.mounts?.find((m) => m.mount_point === '/')?.options.includes('ro'), 'root.readonly: "/" is read-only inside');
  const del = await runtimeCommand(HAKO, root, ['delete', '-f', id]);
  t.equal(del.code, 0, 'delete -f', { stderr: del.stderr });
  t.same(mountsUnder(bundle.dir), [], 'no mount left on the host after delete');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, pids: [pid], markers: [marker], dirs: [dir] });
});

t.test('no mount namespace: a failed create leaves no mount on the host', { skip }, async (t) => {
  const bundle = await noMountNs(t, ['/probe']);
  bundle.spec.process!.cwd = '/probe/not-a-dir'; // fails after the mounts, at the cwd
  await bundle.writeConfig();
  const root = await makeStateRoot(t, HAKO);
  const r = await runtimeCommand(HAKO, root, ['create', '--bundle', bundle.dir, containerId('nomnt')]);
  t.not(r.code, 0, 'create fails');
  t.match(errorMessage(r), /probe/, 'at the cwd', { stderr: r.stderr });
  t.same(mountsUnder(bundle.dir), [], 'no mount left on the host');
  await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir });
});

t.test('joining a mount namespace by path, as runc does', { skip }, async (t) => {
  for (const runtime of ['runc', HAKO]) {
    // A mount namespace of its own, a private copy of the host's (so the bundle is there);
    // one per runtime: the container's pivot_root takes the namespace's root with it.
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', '1000'], { stdio: 'ignore' });
    t.teardown(() => killQuietly(holder.pid!));
    const nsPath = `/proc/${holder.pid}/ns/mnt`;
    await waitFor('the new mount namespace', () => {
      try {
        return ino(nsPath) !== ino('/proc/self/ns/mnt');
      } catch {
        return false;
      }
    });
    const bundle = await makeBundle(t, {
      edit: (spec) => {
        spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) => (ns.type === 'mount' ? { type: 'mount', path: nsPath } : ns));
      },
    });
    const r = await runForeground(t, runtime, bundle, 'joinmnt');
    t.equal(r.code, 0, `${runtime}: exit 0`, { stderr: r.stderr });
    const report = parseProbeReport(r.stdout.trim().split('\n').at(-1) ?? '');
    t.equal(report.namespaces?.mnt, ino(nsPath), `${runtime}: in the joined mount namespace`);
    t.same(mountsUnder(bundle.dir), [], `${runtime}: nothing mounted on the host`);
    if (runtime === HAKO) await checkNothingLeft(t, { stateRoot: r.root, bundleDir: bundle.dir });
    killQuietly(holder.pid!);
  }
});
