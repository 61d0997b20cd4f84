// linux.netDevices under dist/hako. The host's own interfaces are never touched: each test
// makes a network namespace of its own ("the lab"), a veth pair with addresses in it, and
// runs hako inside it (nsenter --net), so that namespace is the host as hako sees it.
// runc 1.1.5 has no netDevices, so nothing to compare with; the expectations are runc 1.4's
// (libcontainer/network_linux.go, tests/integration/netdev.bats) and the runtime-spec's.
// The namespaces are held by a process each (unshare --net sleep), not named with
// `ip netns add`, which would mount on the host while other tests count its mounts.
// Needs root, dist/hako, ip(8), unshare(1) and nsenter(1).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, readlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeAvailable } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, errorMessage, eventually, HAKO, hakoSkip, readIfExists, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const missingTool = ['ip', 'unshare', 'nsenter'].find((p) => !runtimeAvailable(p));
const skip = asContainerTests(hakoSkip() || (missingTool ? `${missingTool} not installed` : false));

const HOST_ADDRESSES = ['10.200.0.1/24', 'fd00:200::1/64'];
/** hnd0 has one more, of host scope: it stays behind (runc, the spec), and comes back with the device */
const HOST_SCOPED = ['10.201.0.1/24 host'];

interface Link {
  up: boolean;
  /** "10.200.0.1/24" for each global address */
  addresses: string[];
  /** nodad, ... as ip -j shows them, per address */
  flags: string[];
  /** the addresses of other scopes (host, link), but the kernel's own fe80:: */
  scoped: string[];
}

/** The interfaces of the network namespace at nsPath, as ip -j sees them. */
function linksIn(nsPath: string): Map<string, Link> {
  const out = execFileSync('nsenter', [`--net=${nsPath}`, 'ip', '-j', 'address', 'show'], { encoding: 'utf8' });
  const list = JSON.parse(out) as { ifname: string; flags: string[]; addr_info: { local: string; prefixlen: number; scope: string; nodad?: boolean }[] }[];
  return new Map(
    list.map((l) => {
      const global = l.addr_info.filter((a) => a.scope === 'global');
      const scoped = l.addr_info.filter((a) => a.scope !== 'global' && !a.local.startsWith('fe80:'));
      return [
        l.ifname,
        {
          up: l.flags.includes('UP'),
          addresses: global.map((a) => `${a.local}/${a.prefixlen}`),
          flags: global.flatMap((a) => (a.nodad ? [`${a.local} nodad`] : [])),
          scoped: scoped.map((a) => `${a.local}/${a.prefixlen} ${a.scope}`),
        },
      ];
    }),
  );
}

interface Lab {
  /** the lab's namespace: hako's "host" */
  nsPath: string;
  /** a script that runs dist/hako in the lab */
  hako: string;
  root: string;
  dir: string;
  /** `ip ...` in the lab */
  ip(...args: string[]): void;
  /** another namespace, for a container that joins one by path */
  extraNamespace(): Promise<string>;
}

/** `ip args...` in the network namespace at nsPath. */
function ipIn(nsPath: string, ...args: string[]): void {
  execFileSync('nsenter', [`--net=${nsPath}`, 'ip', ...args]);
}

/**
 * A new network namespace (lo up), held by a sleeping process until the test's teardown
 * kills it: the namespace goes then, and the veths in it.
 */
async function netns(t: Test): Promise<string> {
  const ours = readlinkSync('/proc/self/ns/net');
  const holder = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  t.teardown(async () => {
    holder.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  });
  const nsPath = `/proc/${holder.pid}/ns/net`;
  const inOwn = (): boolean => {
    try {
      return readlinkSync(nsPath) !== ours;
    } catch {
      return false;
    }
  };
  if (!(await eventually(inOwn))) throw new Error('unshare --net did not make a network namespace');
  ipIn(nsPath, 'link', 'set', 'lo', 'up');
  return nsPath;
}

/**
 * The lab with a veth pair hnd0 (addresses HOST_ADDRESSES, up) and hnd0p. Teardowns run
 * last-registered first: the containers are deleted (in the lab) before the lab goes.
 */
async function lab(t: Test): Promise<Lab> {
  const nsPath = await netns(t);
  const dir = await scratchDir(t, 'netdev');
  const hako = path.join(dir, 'hako-in-lab');
  writeFileSync(hako, `#!/bin/sh\nexec nsenter --net=${nsPath} ${HAKO} "$@"\n`);
  chmodSync(hako, 0o755);
  const root = await makeStateRoot(t, hako);
  const ip = (...args: string[]): void => ipIn(nsPath, ...args);
  ip('link', 'add', 'hnd0', 'type', 'veth', 'peer', 'name', 'hnd0p');
  ip('address', 'add', HOST_ADDRESSES[0]!, 'dev', 'hnd0');
  ip('address', 'add', HOST_ADDRESSES[1]!, 'dev', 'hnd0', 'nodad');
  ip('address', 'add', '10.201.0.1/24', 'dev', 'hnd0', 'scope', 'host');
  ip('link', 'set', 'hnd0', 'up');
  return { nsPath, hako, root, dir, ip, extraNamespace: () => netns(t) };
}

function bundleWith(t: Test, devices: Record<string, { name?: string }>, args: string[], edit?: (b: Bundle['spec']) => void): Promise<Bundle> {
  return makeBundle(t, {
    args,
    edit: (spec) => {
      spec.linux!.netDevices = devices;
      edit?.(spec);
    },
  });
}

async function run(l: Lab, bundle: Bundle, label: string) {
  return spawnRuntime(l.hako, l.root, ['run', '--bundle', bundle.dir, containerId(label)], {
    stdoutFile: path.join(l.dir, `${label}.out`),
    stderrFile: path.join(l.dir, `${label}.err`),
  });
}

/** hnd0 is on the lab's host as it was made: up, both addresses (the IPv6 one still nodad). */
function checkHnd0AtHome(t: Test, l: Lab, what: string): void {
  const links = linksIn(l.nsPath);
  t.same(links.get('hnd0'), { up: true, addresses: HOST_ADDRESSES, flags: ['fd00:200::1 nodad'], scoped: HOST_SCOPED }, `${what}: hnd0 is on the host, up, with its addresses`);
  t.ok(links.has('hnd0p'), `${what}: its peer too`);
  t.equal(links.get('lo')?.up, true, `${what}: lo is up`);
}

t.test('run: a veth moves into the container renamed, up, with its addresses', { skip }, async (t) => {
  const l = await lab(t);
  const bundle = await bundleWith(t, { hnd0: { name: 'c0' } }, ['sh', '-c', 'ip -o link && ip -o address show dev c0']);
  const r = await run(l, bundle, 'nd-run');
  t.equal(r.code, 0, 'the container ran its commands', { stderr: r.stderr });
  t.match(r.stdout, /^\d+: c0@\S+: <[^>]*\bUP\b[^>]*>/m, 'c0 is up inside');
  t.notMatch(r.stdout, /hnd0/, 'under its new name only');
  t.match(r.stdout, / c0 +inet 10\.200\.0\.1\/24 .*scope global c0/, 'with its IPv4 address');
  t.match(r.stdout, / c0 +inet6 fd00:200::1\/64 scope global/, 'and its IPv6 address');
  t.match(r.stdout, / c0 +inet6 fd00:200::1\/64 scope global flags 02 /, 'which is still nodad (IFA_F_NODAD, as busybox shows it)');
  // The container's namespace is gone with it: the kernel destroys a virtual device then
  // (the spec); hako does not move it back (the spec: the runtime MUST NOT).
  t.ok(await eventually(() => !linksIn(l.nsPath).has('hnd0p')), 'the veth went with the container\'s namespace');
  t.notOk(linksIn(l.nsPath).has('hnd0'), 'hnd0 is not moved back');
  await checkNothingLeft(t, { stateRoot: l.root, bundleDir: bundle.dir });
});

t.test('in a user namespace: the device moves into the network namespace the container\'s user namespace owns', { skip }, async (t) => {
  const l = await lab(t);
  const bundle = await bundleWith(t, { hnd0: { name: 'c0' } }, ['sh', '-c', 'ip -o address show dev c0 && ip link set c0 down && ip -o link show c0'], (spec) => {
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const caps = spec.process!.capabilities!;
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_NET_ADMIN'];
  });
  const r = await run(l, bundle, 'nd-userns');
  t.equal(r.code, 0, 'run', { stderr: r.stderr });
  t.match(r.stdout, / c0 +inet 10\.200\.0\.1\/24/, 'c0 has its address inside');
  t.match(r.stdout, /^\d+: c0@\S+: <(?![^>]*\bUP\b)[^>]*>/m, 'and the container\'s root may administer it (set it down)');
  await checkNothingLeft(t, { stateRoot: l.root, bundleDir: bundle.dir });
});

t.test('create, a hook, start, delete --force: the devices are in before the prestart hooks and stay with the namespace', { skip }, async (t) => {
  const l = await lab(t);
  const seen = path.join(l.dir, 'seen-by-hook');
  const hook = path.join(l.dir, 'prestart.sh');
  writeFileSync(hook, `#!/bin/sh\npid=$(sed -e 's/.*"pid": *\\([0-9]*\\).*/\\1/')\nexec nsenter --net=/proc/$pid/ns/net ip -o address show > ${seen}\n`);
  chmodSync(hook, 0o755);
  const bundle = await bundleWith(t, { hnd0: {} }, ['sleep', '1000'], (spec) => {
    spec.hooks = { prestart: [{ path: hook }] };
  });
  const id = containerId('nd-life');
  const pidFile = path.join(l.dir, 'pid');
  const create = await spawnRuntime(l.hako, l.root, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id]);
  t.equal(create.code, 0, 'create', { stderr: create.stderr });
  const pid = Number(readIfExists(pidFile));
  t.match(readIfExists(seen), /hnd0 +inet 10\.200\.0\.1\/24/, 'the prestart hook saw the device in the container\'s namespace');
  t.notOk(linksIn(l.nsPath).has('hnd0'), 'hnd0 is no longer on the host');
  t.same(linksIn(`/proc/${pid}/ns/net`).get('hnd0'), { up: true, addresses: HOST_ADDRESSES, flags: ['fd00:200::1 nodad'], scoped: [] }, 'it is in the container, up, same name and global addresses');
  const start = await spawnRuntime(l.hako, l.root, ['start', id]);
  t.equal(start.code, 0, 'start', { stderr: start.stderr });
  const del = await spawnRuntime(l.hako, l.root, ['delete', '--force', id]);
  t.equal(del.code, 0, 'delete --force of the running container', { stderr: del.stderr });
  t.ok(await eventually(() => !linksIn(l.nsPath).has('hnd0p')), 'the veth went with the container\'s namespace (the kernel\'s, as the spec says)');
  t.notOk(linksIn(l.nsPath).has('hnd0'), 'hnd0 was not moved back by delete');
  await checkNothingLeft(t, { stateRoot: l.root, bundleDir: bundle.dir, pids: [pid] });
});

t.test('a network namespace joined by path: the device moves into it and stays there after delete (runc 1.4)', { skip }, async (t) => {
  const l = await lab(t);
  const joined = await l.extraNamespace();
  const bundle = await bundleWith(t, { hnd0: { name: 'ctr%d' } }, ['ip', '-o', 'address', 'show', 'dev', 'ctr0'], (spec) => {
    spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) => (ns.type === 'network' ? { type: 'network', path: joined } : ns));
  });
  const r = await run(l, bundle, 'nd-join');
  t.equal(r.code, 0, 'run', { stderr: r.stderr });
  t.match(r.stdout, / ctr0 +inet 10\.200\.0\.1\/24/, 'the name template gave ctr0 inside');
  t.same(linksIn(joined).get('ctr0'), { up: true, addresses: HOST_ADDRESSES, flags: ['fd00:200::1 nodad'], scoped: [] }, 'after delete, ctr0 is still in the joined namespace');
  t.notOk(linksIn(l.nsPath).has('hnd0'), 'and not back on the host');
  await checkNothingLeft(t, { stateRoot: l.root, bundleDir: bundle.dir });
});

t.test('errors name the entry and the errno, and leave the devices where they were', { skip }, async (t) => {
  const cases: { name: string; devices: Record<string, { name?: string }>; joinedWith?: string; joinHakos?: boolean; message: RegExp; edit?: (s: Bundle['spec']) => void }[] = [
    {
      name: 'no such interface on the host',
      devices: { hnd0: {}, nope0: {} },
      message: /error creating network interfaces: \/linux\/netDevices\/nope0: no network interface "nope0" on the host: no such device$/,
    },
    {
      name: 'the new name is taken inside (a new namespace has lo)',
      devices: { hnd0: { name: 'lo' } },
      message: /\/linux\/netDevices\/hnd0\/name: the container's network namespace has an interface named "lo" already: file (already )?exists$/,
    },
    {
      name: 'the name is taken in a namespace joined by path',
      devices: { hnd0: {} },
      joinedWith: 'hnd0',
      message: /\/linux\/netDevices\/hnd0: the container's network namespace has an interface named "hnd0" already: file (already )?exists$/,
    },
    {
      name: 'the namespace joined by path is hako\'s own',
      devices: { hnd0: {} },
      joinHakos: true,
      message: /\/linux\/netDevices: the container's network namespace \(\/proc\/\d+\/ns\/net\) is hako's own: there is nowhere to move the devices to$/,
    },
    {
      name: 'a device that cannot move, after one that did: the first goes back',
      devices: { hnd0: { name: 'c0' }, lo: { name: 'hostlo' } },
      message: /\/linux\/netDevices\/lo: move "lo" into the container's network namespace \(\/proc\/\d+\/ns\/net\) as "hostlo": invalid argument/,
    },
    {
      name: 'a failing prestart hook after the move: the device goes back',
      devices: { hnd0: { name: 'c0' } },
      edit: (s) => (s.hooks = { prestart: [{ path: '/bin/false' }] }),
      message: /error running hook #0: /,
    },
    {
      name: 'no network namespace',
      devices: { hnd0: {} },
      edit: (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.filter((ns) => ns.type !== 'network');
      },
      message: /\/linux\/netDevices: needs a network namespace in linux\.namespaces/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const l = await lab(t);
      let joined = c.joinHakos ? l.nsPath : undefined;
      if (c.joinedWith) {
        joined = await l.extraNamespace();
        ipIn(joined, 'link', 'add', c.joinedWith, 'type', 'veth', 'peer', 'name', `${c.joinedWith}x`);
      }
      const bundle = await bundleWith(t, c.devices, ['true'], (spec) => {
        if (joined) spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) => (ns.type === 'network' ? { type: 'network', path: joined } : ns));
        c.edit?.(spec);
      });
      const r = await run(l, bundle, 'nd-err');
      t.equal(r.code, 1, 'refused');
      t.match(errorMessage(r), c.message, 'the message');
      checkHnd0AtHome(t, l, 'afterwards');
      if (c.joinedWith && joined) t.same([...linksIn(joined).keys()].sort(), ['hnd0', 'hnd0x', 'lo'], 'the joined namespace is as it was');
      await checkNothingLeft(t, { stateRoot: l.root, bundleDir: bundle.dir });
    });
  }
});

t.test('validate: bad names and a name used twice, with their JSON pointers', { skip: hakoSkip() }, async (t) => {
  const bundle = await bundleWith(t, { 'a b': {}, hnd0: { name: 'c0' }, hnd1: { name: 'c0' } }, ['true']);
  const r = spawnSync(HAKO, ['validate', '--bundle', bundle.dir], { encoding: 'utf8' });
  t.not(r.status, 0, 'refused');
  const text = r.stdout + r.stderr;
  t.match(text, /\/linux\/netDevices\/a b: is not a valid network interface name/);
  t.match(text, /\/linux\/netDevices\/hnd1\/name: is also the name \/linux\/netDevices\/hnd0 has in the container/);
});
