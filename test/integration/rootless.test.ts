// Rootless hako, as a real unprivileged user made for the test (its own subordinate ids,
// removed at teardown): foreground run with pipes and with a terminal, the state under
// $XDG_RUNTIME_DIR/hako, a single-id mapping without helpers (differential against runc
// 1.1.5, which runs that too), subordinate ranges through newuidmap/newgidmap, the
// detached lifecycle through the front, a delegated cgroup2 directory, and the bad input
// a rootless caller can give: each refused with the field named and nothing left.
// Needs root (to make the user), dist/hako, runc, newuidmap (package uidmap).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Spec } from '../../src/oci/types.js';
import { parseMountinfo } from '../../src/plan/host.js';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId } from '../helpers/runtime.js';
import { asContainerTests, chownTree, eventually, HAKO, hakoSkip, isAlive, onTerminal } from '../helpers/lifecycle.js';
import { makeTestUser, unprivilegedSkip, type TestUser } from '../helpers/unprivileged.js';

const skip = asContainerTests(hakoSkip() || unprivilegedSkip() || (existsSync('/usr/bin/newuidmap') ? false : 'newuidmap is not installed (package uidmap)'));

/** A bundle for `user`: `hako spec --rootless` as the user (its own id as root), the rootfs the user's. */
async function userBundle(t: Test, user: TestUser, args: string[], edit?: (spec: Spec) => void) {
  const bundle = await makeBundle(t, {
    args,
    rootless: true,
    edit: (spec) => {
      spec.linux!.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }];
      edit?.(spec);
    },
  });
  const root = spec0Root(bundle.spec, user);
  await chownTree(bundle.rootfs, root.uid, root.gid);
  return bundle;
}

function spec0Root(spec: Spec, user: TestUser): { uid: number; gid: number } {
  const uid = spec.linux?.uidMappings?.find((m) => m.containerID === 0)?.hostID ?? user.uid;
  const gid = spec.linux?.gidMappings?.find((m) => m.containerID === 0)?.hostID ?? user.gid;
  return { uid, gid };
}

/** Pids whose real uid is `uid`. */
function processesOf(uid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((p) => {
      try {
        return new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${p}/status`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** rmdir a cgroup directory and those below it, deepest first. */
function removeCgroupDirs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupDirs(path.join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // a process still in it: the test said so
  }
}

/** A cgroup2 directory <user>/session owned by the user, as a login manager delegates one (removed at teardown). */
function delegatedSession(t: Test, user: TestUser): { cgroup2: { mountPoint: string; root: string }; session: string } | undefined {
  const cgroup2 = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.fsType === 'cgroup2');
  if (!cgroup2) return undefined;
  const mine = path.join(cgroup2.mountPoint, user.name);
  const session = path.join(mine, 'session');
  mkdirSync(session, { recursive: true });
  t.teardown(() => removeCgroupDirs(mine));
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, mine]);
  return { cgroup2, session };
}

const HAKO_STATE = (user: TestUser) => path.join(user.xdg, 'hako');

function stateLeft(user: TestUser): string[] {
  return existsSync(HAKO_STATE(user)) ? readdirSync(HAKO_STATE(user)).filter((e) => !e.startsWith('.')) : [];
}

t.test('single-id mapping, foreground with pipes: hako as runc does it, state under $XDG_RUNTIME_DIR/hako', { skip }, async (t) => {
  const user = await makeTestUser(t, 'one');
  const bundle = await userBundle(t, user, ['/bin/sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo x > /dev/null && echo dev-null-ok; cat /proc/self/setgroups']);
  const outs: Record<string, string> = {};
  for (const runtime of ['runc', HAKO]) {
    const r = await user.run(runtime, ['run', '--bundle', bundle.dir, containerId('rl')]);
    t.equal(r.code, 0, `${runtime}: exit 0`, { stderr: r.stderr });
    outs[runtime] = r.stdout.replace(/[ \t]+/g, ' ');
  }
  t.equal(outs[HAKO], outs['runc'], 'the same inside as under runc');
  t.match(outs[HAKO]!, new RegExp(`^0\\n0\\n 0 ${user.uid} 1\\n 0 ${user.gid} 1\\ndev-null-ok\\ndeny\\n$`), 'root inside, the user outside; setgroups denied; /dev/null usable');
  t.ok(existsSync(HAKO_STATE(user)), 'hako made its state root in $XDG_RUNTIME_DIR/hako');
  t.same(stateLeft(user), [], 'and left nothing in it');
});

t.test('a terminal, as an unprivileged user', { skip }, async (t) => {
  const user = await makeTestUser(t, 'tty');
  const bundle = await userBundle(t, user, ['/bin/sh', '-c', 'tty && id -u'], (spec) => (spec.process!.terminal = true));
  const r = await onTerminal(t, user.argv(HAKO, ['run', '--bundle', bundle.dir, containerId('rltty')]));
  t.equal(r.code, 0, 'exit 0', { out: r.out });
  t.match(r.out, /\/dev\/pts\/\d+\r?\n0\r?\n/, 'a pty inside, root');
  t.same(stateLeft(user), [], 'nothing left in the state root');
});

t.test('subordinate ranges through newuidmap/newgidmap; the lifecycle through the front', { skip }, async (t) => {
  const user = await makeTestUser(t, 'sub');
  const map = [{ containerID: 0, hostID: user.subStart, size: 65536 }];
  const bundle = await userBundle(t, user, ['/bin/sleep', '600'], (spec) => {
    spec.linux!.uidMappings = map;
    spec.linux!.gidMappings = map;
  });
  const id = containerId('rlsub');
  const hk = (args: string[]) => user.run(HAKO, args);
  // The init keeps create's stdout and stderr: files, not the pipes runCommand waits on.
  const errFile = path.join(user.home, 'create.err');
  const create = await user.run('/bin/sh', ['-c', `"$0" create --bundle "$1" "$2" >/dev/null 2>"$3"`, HAKO, bundle.dir, id, errFile]);
  t.teardown(() => hk(['delete', '-f', id]));
  t.equal(create.code, 0, 'create', { stderr: existsSync(errFile) ? readFileSync(errFile, 'utf8') : '' });
  const state = JSON.parse((await hk(['state', id])).stdout) as { pid: number; status: string };
  t.equal(state.status, 'created', 'state: created');
  t.equal(readFileSync(`/proc/${state.pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), `0 ${user.subStart} 65536`, 'uid_map from newuidmap');
  t.equal(readFileSync(`/proc/${state.pid}/gid_map`, 'utf8').trim().split(/\s+/).join(' '), `0 ${user.subStart} 65536`, 'gid_map from newgidmap');
  const early = await hk(['exec', id, '/bin/sh', '-c', 'id -u']);
  t.equal(early.stdout, '0\n', 'exec before start (as runc allows it rootless)', { stderr: early.stderr });
  t.equal((await hk(['start', id])).code, 0, 'start');
  const exec = await hk(['exec', id, '/bin/sh', '-c', 'id -u; stat -c %u /proc/1']);
  t.equal(exec.stdout, '0\n0\n', 'exec: root inside, as the init');
  t.equal((await hk(['kill', id, 'KILL'])).code, 0, 'kill');
  t.ok(await eventually(() => !isAlive(state.pid)), 'the init is gone');
  t.equal((await hk(['delete', id])).code, 0, 'delete');
  t.same(stateLeft(user), [], 'nothing left in the state root');
});

t.test('a delegated cgroup2 directory is used; hierarchies the user may not write are left out', { skip }, async (t) => {
  const user = await makeTestUser(t, 'cg');
  const delegated = delegatedSession(t, user);
  if (!delegated) {
    t.pass('no cgroup2 mount here: nothing to delegate');
    return;
  }
  const { cgroup2, session } = delegated;
  const bundle = await userBundle(t, user, ['/bin/sh', '-c', 'grep "^0::" /proc/self/cgroup']);
  const id = containerId('rlcg');
  // As a login manager delegates: root puts the session in the user's subtree, then drops.
  const [cmd, ...args] = ['sh', '-c', `echo $$ > ${session}/cgroup.procs && exec "$@"`, 'sh', ...user.argv(HAKO, ['run', '--bundle', bundle.dir, id])];
  const r = execFileSync(cmd!, args, { encoding: 'utf8' });
  const inner = path.posix.join('/', path.relative(cgroup2.mountPoint, session), id);
  t.equal(r, `0::${path.posix.join(cgroup2.root, inner)}\n`, 'the container ran in a cgroup2 directory of the user\'s session');
  t.notOk(existsSync(path.join(session, id)), 'and the directory is gone with it');
  t.same(stateLeft(user), [], 'nothing left in the state root');
});

t.test('update of a rootless container writes no device rules (as runc\'s rootless mode)', { skip }, async (t) => {
  const user = await makeTestUser(t, 'up');
  const delegated = delegatedSession(t, user);
  if (!delegated) {
    t.pass('no cgroup2 mount here: nothing to delegate');
    return;
  }
  const { session } = delegated;
  const bundle = await userBundle(t, user, ['/bin/sleep', '600']);
  const id = containerId('rlup');
  const inSession = (args: string[]) => {
    const [cmd, ...rest] = ['sh', '-c', `echo $$ > ${session}/cgroup.procs && exec "$@" >/dev/null 2>&1`, 'sh', ...user.argv(HAKO, args)];
    return execFileSync(cmd!, rest, { encoding: 'utf8' });
  };
  inSession(['run', '-d', '--bundle', bundle.dir, id]);
  t.teardown(() => user.run(HAKO, ['delete', '-f', id]));
  t.ok(existsSync(path.join(session, id)), 'the container has a cgroup2 directory in the user\'s session');
  const resources = path.join(user.home, 'resources.json');
  writeFileSync(resources, JSON.stringify({ devices: [{ allow: false, access: 'rwm' }] }));
  execFileSync('chown', [`${user.uid}:${user.gid}`, resources]);
  // Device rules on cgroup2 are a BPF program, which the user may not attach.
  const up = await user.run(HAKO, ['update', '--resources', resources, id]);
  t.equal(up.code, 0, 'update with device rules succeeds, leaving them alone', { stderr: up.stderr });
  t.equal((await user.run(HAKO, ['delete', '-f', id])).code, 0, 'delete -f');
  t.same(stateLeft(user), [], 'nothing left in the state root');
});

t.test('bad rootless input: refused with the field named, nothing left behind', { skip }, async (t) => {
  const user = await makeTestUser(t, 'bad');
  const cases: Array<[string, (spec: Spec) => void, RegExp, Record<string, string>?]> = [
    [
      'a memory limit in a hierarchy the user may not write',
      (spec) => (spec.linux!.resources = { memory: { limit: 64 * 1024 * 1024 } }),
      /cannot set memory limit: container could not join or create cgroup/,
    ],
    [
      'host uids beyond the user\'s own and subordinate ids',
      (spec) => (spec.linux!.uidMappings = [{ containerID: 0, hostID: user.subStart + 65000, size: 1000 }]),
      new RegExp(`/linux/uidMappings/0: host uids ${user.subStart + 65000}-${user.subStart + 65999} are not yours to map: your uid is ${user.uid} and your subordinate uids in /etc/subuid are ${user.subStart}-${user.subStart + 65535}`),
    ],
    [
      'overlapping ranges',
      (spec) => (spec.linux!.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }, { containerID: 0, hostID: user.subStart, size: 10 }]),
      /\/linux\/gidMappings\/1: its containerID range \[0, 9\] overlaps that of \/linux\/gidMappings\/0/,
    ],
    [
      'a mapping without the process\'s user (root) in it',
      (spec) => (spec.linux!.uidMappings = [{ containerID: 1, hostID: user.uid, size: 1 }]),
      /\/process\/user\/uid: 0 is not mapped in \/linux\/uidMappings/,
    ],
    [
      'a config that needs root (no user namespace)',
      (spec) => {
        spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'user');
        delete spec.linux!.uidMappings;
        delete spec.linux!.gidMappings;
      },
      /rootless container requires user namespaces/,
    ],
    [
      'an id-mapped bind mount (the kernel wants root on the host for it)',
      (spec) => spec.mounts!.push({ destination: '/data', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] }),
      /\/mounts\/\d+: an id-mapped bind mount needs root on the host/,
    ],
    [
      'subordinate ranges without newuidmap in $PATH',
      (spec) => (spec.linux!.uidMappings = [{ containerID: 0, hostID: user.subStart, size: 65536 }]),
      /\/linux\/uidMappings maps more than your own uid: newuidmap not found in \$PATH/,
      { PATH: '/nonexistent' },
    ],
  ];
  for (const [name, edit, message, env] of cases) {
    const bundle = await userBundle(t, user, ['/bin/true'], edit);
    const r = await user.run(HAKO, ['run', '--bundle', bundle.dir, containerId('rlbad')], env ? { extraEnv: env } : {});
    t.not(r.code, 0, `${name}: refused`);
    t.match(r.stderr, message, `${name}: says why, naming the field`);
    t.same(stateLeft(user), [], `${name}: nothing left in the state root`);
    t.same(processesOf(user.uid), [], `${name}: no process of the user's left`);
  }
});
