// What a container gets when its config leaves a confinement out. The device policy,
// tested as an attack. A loop device on the host holds a random token;
// a container that may mknod (CAP_MKNOD, as Docker's default set has) makes a node for it
// and tries to read it: through run, through exec, and after an update, with no device
// rules in its config, with allow rules only, and with the default spec's rules. Only a
// config that allows every device explicitly may read it (as under runc). The same for a
// character device (/dev/kmsg, c 1:11, with CAP_SYSLOG). On the cgroup2 side the device
// program made from a config without rules is attached to a real cgroup2 directory and a
// shell placed in it tries the same read. And a config without process.capabilities: no
// capabilities at all (as runc), for the init and for an exec'd process. Needs root and
// losetup.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runContainer, runtimeAvailable } from '../helpers/runtime.js';
import { asContainerTests, HAKO, hakoSkip, hk, readIfExists, scratchDir, spawnRuntime, waitFor } from '../helpers/lifecycle.js';
import { V2Cgroup } from '../../src/cgroups/v2.js';
import type { LinuxDeviceCgroup, Spec } from '../../src/oci/types.js';

const skip = asContainerTests(hakoSkip()) || (existsSync('/sbin/losetup') || existsSync('/usr/sbin/losetup') ? false : 'needs losetup');
const UNIFIED = '/sys/fs/cgroup/unified';

interface LoopDevice {
  dev: string;
  major: number;
  minor: number;
  token: string;
}

/** A loop device over a scratch file whose first bytes are a fresh random token; detached at teardown. */
async function hostLoopDevice(t: Test): Promise<LoopDevice> {
  const dir = await scratchDir(t, 'loop');
  const file = path.join(dir, 'disk');
  const token = randomBytes(16).toString('hex');
  writeFileSync(file, Buffer.concat([Buffer.from(token), Buffer.alloc(1024 * 1024 - token.length)]));
  const dev = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
  t.teardown(() => {
    execFileSync('losetup', ['--detach', dev]);
  });
  const rdev = statSync(dev).rdev;
  const major = (rdev >> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  t.equal(readFileSync(dev).subarray(0, 32).toString(), token, `the host itself reads the token from ${dev}`);
  return { dev, major, minor, token };
}

/** Shell that makes a node and prints its first 32 bytes (or the error) and its status. */
function readNode(type: 'b' | 'c', major: number, minor: number): string {
  const node = `/dev/hako-attack-${type}`;
  return `{ rm -f ${node}; mknod ${node} ${type} ${major} ${minor} && head -c 32 ${node}; echo " rc=$?"; } 2>&1`;
}

const ATTACK_CAPS = ['CAP_MKNOD', 'CAP_SYSLOG', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_KILL', 'CAP_SETUID', 'CAP_SETGID'];

/** The attacker's config: the default spec with mknod and syslog, and the device rules given (none: field absent). */
function attackerSpec(rules: LinuxDeviceCgroup[] | undefined): (s: Spec) => void {
  return (s) => {
    const caps = s.process!.capabilities!;
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...ATTACK_CAPS])];
    if (rules === undefined) delete s.linux!.resources!.devices;
    else s.linux!.resources!.devices = rules;
  };
}

const CASES: Array<{ name: string; rules: LinuxDeviceCgroup[] | undefined; readable: boolean }> = [
  { name: 'no device rules in the config', rules: undefined, readable: false },
  { name: 'an empty device rule list', rules: [], readable: false },
  { name: 'allow rules only (no deny-all of its own)', rules: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }], readable: false },
  { name: 'an explicit allow-all', rules: [{ allow: true, access: 'rwm' }], readable: true },
];

function judge(t: Test, out: string, secret: string, readable: boolean, what: string): void {
  if (readable) t.match(out, secret, `${what}: the explicit allow-all reads it (as runc)`);
  else {
    t.notMatch(out, secret, `${what}: the secret is not read`);
    t.match(out, /Operation not permitted/, `${what}: refused by the device policy`, { out });
  }
}

t.test('a block device of the host cannot be read from a container that may mknod', { skip }, async (t) => {
  const loop = await hostLoopDevice(t);
  for (const c of CASES) {
    await t.test(c.name, async (t) => {
      const bundle = await makeBundle(t, { args: ['sh', '-c', readNode('b', loop.major, loop.minor)], edit: attackerSpec(c.rules) });
      const r = await runContainer(HAKO, bundle, containerId('devatk'));
      t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
      judge(t, r.stdout, loop.token, c.readable, 'run');
    });
  }
});

t.test('the same through exec, and after update', { skip }, async (t) => {
  const loop = await hostLoopDevice(t);
  for (const c of CASES.filter((x) => x.rules === undefined || x.readable)) {
    await t.test(c.name, async (t) => {
      const bundle = await makeBundle(t, { args: ['sleep', '1000'], edit: attackerSpec(c.rules) });
      const root = await makeStateRoot(t, HAKO);
      const scratch = await scratchDir(t, 'devatk');
      const id = containerId('devatk');
      const r = await spawnRuntime(HAKO, root, ['run', '-d', '--bundle', bundle.dir, id], { stdoutFile: path.join(scratch, 'out'), stderrFile: path.join(scratch, 'err') });
      t.equal(r.code, 0, 'run -d exits 0', { stderr: r.stderr });
      const exec = await hk(root, ['exec', id, 'sh', '-c', readNode('b', loop.major, loop.minor)]);
      t.equal(exec.code, 0, 'exec exits 0', { stderr: exec.stderr });
      judge(t, exec.stdout, loop.token, c.readable, 'exec');
      const up = await hk(root, ['update', '--pids-limit', '100', id]);
      t.equal(up.code, 0, 'update exits 0', { stderr: up.stderr });
      const after = await hk(root, ['exec', id, 'sh', '-c', readNode('b', loop.major, loop.minor)]);
      judge(t, after.stdout, loop.token, c.readable, 'exec after update');
      const del = await hk(root, ['delete', '-f', id]);
      t.equal(del.code, 0, 'delete -f exits 0', { stderr: del.stderr });
    });
  }
});

t.test('a character device (/dev/kmsg, c 1:11) of the host cannot be opened without a rule', { skip }, async (t) => {
  for (const c of [CASES[0]!, CASES[3]!]) {
    await t.test(c.name, async (t) => {
      const bundle = await makeBundle(t, { args: ['sh', '-c', readNode('c', 1, 11)], edit: attackerSpec(c.rules) });
      const r = await runContainer(HAKO, bundle, containerId('devatk'));
      t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
      if (c.readable) t.match(r.stdout, /rc=0/, 'allow-all: kmsg opens and reads', { out: r.stdout });
      else t.match(r.stdout, /Operation not permitted.*rc=1/s, 'no rules: refused by the device policy', { out: r.stdout });
    });
  }
});

t.test('runc, the reference, refuses the same read', { skip: skip || (runtimeAvailable('runc') ? false : 'runc not found') }, async (t) => {
  const loop = await hostLoopDevice(t);
  const bundle = await makeBundle(t, { args: ['sh', '-c', readNode('b', loop.major, loop.minor)], edit: attackerSpec(undefined) });
  const r = await runContainer('runc', bundle, containerId('devatk-runc'));
  t.equal(r.code, 0, 'runc run exits 0', { stderr: r.stderr });
  judge(t, r.stdout, loop.token, false, 'runc');
});

const v2Skip = skip || (readIfExists(path.join(UNIFIED, 'cgroup.procs')) !== '' || existsSync(path.join(UNIFIED, 'cgroup.procs')) ? false : 'no cgroup2 hierarchy');

t.test('cgroup v2: the device program of a config without rules refuses the host disk', { skip: v2Skip }, async (t) => {
  const loop = await hostLoopDevice(t);
  const dir = path.join(UNIFIED, `hako-devatk-${process.pid}`);
  const cg = new V2Cgroup({ '': dir });
  cg.create();
  t.teardown(async () => {
    for (const pid of cg.pids()) process.kill(pid, 'SIGKILL');
    await waitFor('the cgroup to empty', () => cg.pids().length === 0).catch(() => undefined);
    if (existsSync(dir)) rmdirSync(dir);
  });
  const scratch = await scratchDir(t, 'devatk');
  const node = path.join(scratch, 'node');
  execFileSync('mknod', [node, 'b', String(loop.major), String(loop.minor)]);
  const readInCgroup = async (): Promise<string> => {
    // The shell waits on a line before it reads, so it is in the cgroup first.
    const sh = spawn('sh', ['-c', `read go; head -c 32 ${node} 2>&1; echo " rc=$?"`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    sh.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cg.place(sh.pid!);
    sh.stdin.end('go\n');
    await new Promise((r) => sh.once('exit', r));
    return out;
  };
  t.match(await readInCgroup(), loop.token, 'no program yet: the shell reads the disk');
  cg.setResources({});
  judge(t, await readInCgroup(), loop.token, false, 'a config without device rules');
  cg.setResources({ devices: [{ allow: true, access: 'rwm' }] }, { update: true });
  t.match(await readInCgroup(), loop.token, 'an update that allows everything');
});

const CAPS_LINE = /^Cap(Inh|Prm|Eff|Bnd|Amb):\s+([0-9a-f]+)$/gm;
const ALL_ZERO = ['Inh', 'Prm', 'Eff', 'Bnd', 'Amb'].map((n) => `${n}=0000000000000000`).join(' ');

function capLines(out: string): string {
  return [...out.matchAll(CAPS_LINE)].map((m) => `${m[1]}=${m[2]}`).join(' ');
}

const withoutCapabilities = (s: Spec): void => {
  delete s.process!.capabilities;
};

t.test('no process.capabilities: the process has none, as under runc', { skip: asContainerTests(hakoSkip()) }, async (t) => {
  const bundle = await makeBundle(t, { args: ['grep', '^Cap', '/proc/self/status'], edit: withoutCapabilities });
  const r = await runContainer(HAKO, bundle, containerId('nocaps'));
  t.equal(r.code, 0, 'run exits 0', { stderr: r.stderr });
  t.equal(capLines(r.stdout), ALL_ZERO, 'run: every capability set is empty');
  if (runtimeAvailable('runc')) {
    const ref = await runContainer('runc', bundle, containerId('nocaps-runc'));
    t.equal(capLines(ref.stdout), capLines(r.stdout), 'the same sets as under runc');
  }
  const root = await makeStateRoot(t, HAKO);
  const scratch = await scratchDir(t, 'nocaps');
  const id = containerId('nocaps');
  bundle.spec.process!.args = ['sleep', '1000'];
  await bundle.writeConfig();
  const d = await spawnRuntime(HAKO, root, ['run', '-d', '--bundle', bundle.dir, id], { stdoutFile: path.join(scratch, 'out'), stderrFile: path.join(scratch, 'err') });
  t.equal(d.code, 0, 'run -d exits 0', { stderr: d.stderr });
  const exec = await hk(root, ['exec', id, 'grep', '^Cap', '/proc/self/status']);
  t.equal(exec.code, 0, 'exec exits 0', { stderr: exec.stderr });
  t.equal(capLines(exec.stdout), ALL_ZERO, 'exec: every capability set is empty');
  t.equal((await hk(root, ['delete', '-f', id])).code, 0, 'delete -f');
});
