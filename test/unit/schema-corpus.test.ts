// Real configs must validate: the managers' fixtures, `runc spec` (plain and rootless),
// hako's own default spec, and sample state and features documents.
// Needs src/oci/generated (node scripts/gen-validators.mjs; the pretest script runs it).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, checkFeatures, checkProcess, checkState, configWarnings, formatProblem } from '../../src/oci/validate.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

const fixtures = FIXTURES_DIR;
const RUNC = '/usr/bin/runc';

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function show(file: string, problems: { pointer: string; message: string }[]): string[] {
  return problems.map((p) => formatProblem(file, p));
}

t.test('every fixture validates (configs and bare process objects)', { skip: !existsSync(fixtures) && 'no fixtures' }, async (t) => {
  const files = readdirSync(fixtures).filter((f) => f.endsWith('.json')).sort();
  t.ok(files.length >= 20, `found ${files.length} fixtures`);
  let processes = 0;
  for (const file of files) {
    const doc = readJson(join(fixtures, file));
    if (file.startsWith('process-')) {
      processes++;
      t.same(show(file, checkProcess(doc)), [], file);
    } else {
      // Schema and semantic checks; root.path points at a host that is not this one,
      // so no bundleDir.
      t.same(show(file, checkConfig(doc)), [], file);
      t.same(configWarnings(doc), [], `${file}: no warnings`);
    }
  }
  t.ok(processes > 0, 'some bare process fixtures');
});

function runcSpec(args: string[]): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'hako-runc-spec-'));
  try {
    const r = spawnSync(RUNC, ['spec', ...args], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`runc spec ${args.join(' ')}: ${r.stderr}`);
    return readJson(join(dir, 'config.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('runc spec output validates', { skip: !existsSync(RUNC) && 'runc is not installed' }, async (t) => {
  const plain = runcSpec([]);
  t.same(show('runc spec', checkConfig(plain)), []);
  const rootless = runcSpec(['--rootless']);
  t.same(show('runc spec --rootless', checkConfig(rootless)), []);
  // And its process object alone, as exec --process would read it.
  t.same(checkProcess((plain as { process: unknown }).process), []);
});

t.test('hako default spec validates', async (t) => {
  t.same(show('default', checkConfig(defaultSpec({ rootless: false }))), []);
  t.same(show('rootless', checkConfig(defaultSpec({ rootless: true, uid: 1000, gid: 1000 }))), []);
  t.same(checkProcess(defaultSpec().process), []);
});

t.test('root.path is checked against the bundle when bundleDir is given', async (t) => {
  const bundle = mkdtempSync(join(tmpdir(), 'hako-bundle-'));
  t.teardown(() => rmSync(bundle, { recursive: true, force: true }));
  const spec = defaultSpec();
  t.same(checkConfig(spec, { bundleDir: bundle }), [
    { pointer: '/root/path', message: `${join(bundle, 'rootfs')} does not exist` },
  ]);
  spawnSync('mkdir', [join(bundle, 'rootfs')]);
  t.same(checkConfig(spec, { bundleDir: bundle }), []);
  spawnSync('touch', [join(bundle, 'file')]);
  t.same(checkConfig({ ...spec, root: { path: 'file' } }, { bundleDir: bundle }), [
    { pointer: '/root/path', message: `${join(bundle, 'file')} is not a directory` },
  ]);
  t.same(checkConfig({ ...spec, root: { path: join(bundle, 'rootfs') } }, { bundleDir: '/nonexistent' }), [], 'absolute root.path ignores the bundle');
});

t.test('state documents', async (t) => {
  const state = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/run/b', annotations: { a: 'b' } };
  t.same(checkState(state), []);
  t.same(checkState({ ...state, status: 'paused' }), [], 'paused, as runc reports it');
  t.same(checkState({ ociVersion: '1.3.0', id: 'c1', status: 'stopped', bundle: '/run/b' }), [], 'no pid once stopped');
  t.same(checkState({ ociVersion: '1.3.0', id: 'c1', status: 'created', bundle: '/run/b' }), [{ pointer: '/pid', message: 'is required' }]);
  t.same(checkState({ ...state, status: 'zombie' }), [
    { pointer: '/status', message: 'must be one of "creating", "created", "running", "paused", "stopped"' },
  ]);
  t.same(checkState({ ...state, bundle: 'b' }), [{ pointer: '/bundle', message: 'must be an absolute path' }]);
  t.same(checkState({ ...state, id: '' }), [{ pointer: '/id', message: 'must not be empty' }]);
  t.same(checkState({ ...state, pid: -1 }), [{ pointer: '/pid', message: 'must be >= 0' }]);
  t.same(
    checkState({}).map((p) => p.pointer),
    ['/bundle', '/id', '/ociVersion', '/status'],
  );
});

t.test('features documents', async (t) => {
  const features = {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.3.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: ['ro', 'rbind', 'idmap'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: true },
      seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'], archs: ['SCMP_ARCH_X86_64'], knownFlags: [], supportedFlags: [] },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false, schemata: true, monitoring: true },
      memoryPolicy: { modes: ['MPOL_BIND'], flags: ['MPOL_F_STATIC_NODES'] },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: true },
    },
    annotations: { 'org.opencontainers.runc.version': '1.3.0' },
    potentiallyUnsafeConfigAnnotations: ['bundle'],
  };
  t.same(checkFeatures(features), []);
  // runc's own features output, when runc is new enough to have the command.
  if (existsSync(RUNC)) {
    const r = spawnSync(RUNC, ['features'], { encoding: 'utf8' });
    if (r.status === 0) t.same(checkFeatures(JSON.parse(r.stdout)), [], 'runc features');
  }
  t.same(checkFeatures({ ociVersionMin: '1.0.0' }), [{ pointer: '/ociVersionMax', message: 'is required' }]);
  t.same(checkFeatures({ ...features, linux: { namespaces: ['pid', 'bogus'] } }).map((p) => p.pointer), ['/linux/namespaces/1']);
  t.same(checkFeatures({ ...features, linux: { capabilities: ['chown'] } }), [
    { pointer: '/linux/capabilities/0', message: 'must be a capability name like "CAP_CHOWN"' },
  ]);
});
