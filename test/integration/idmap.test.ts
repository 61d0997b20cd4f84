// Id-mapped mounts (runtime-spec 1.2 mounts[].uidMappings/gidMappings, "idmap" and
// "ridmap"): what a container writes through one lands on disk with the mount's mapping
// applied; "ridmap" maps the mounts below too, "idmap" only the top; a filesystem the
// kernel cannot id-map is an error naming the mount; a tmpfs can be id-mapped too. The
// container has its own user namespace (0 -> 100000), as containerd's CRI makes it for a
// pod with hostUsers: false. Needs root and dist/hako (runc 1.1.5 has no id-mapped mounts).
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Spec } from '../../src/oci/types.js';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, chownTree, HAKO, hakoSkip, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

const CONTAINER_ROOT = 100000;
// The mount's mapping: ids 5000.. on disk are the container's 0.. (host 100000..).
const MOUNT_MAP = [{ containerID: 5000, hostID: CONTAINER_ROOT, size: 1000 }];

function userns(spec: Spec): void {
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: CONTAINER_ROOT, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: CONTAINER_ROOT, size: 65536 }];
}

async function run(t: Test, script: string, edit: (spec: Spec) => void, label: string) {
  const bundle = await makeBundle(t, { args: ['/bin/sh', '-c', script], edit: (spec) => { userns(spec); edit(spec); } });
  await chownTree(bundle.rootfs, CONTAINER_ROOT, CONTAINER_ROOT);
  const root = await makeStateRoot(t, HAKO);
  const dir = await scratchDir(t, label);
  const r = await spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, containerId(label)], {
    stdoutFile: path.join(dir, 'out'),
    stderrFile: path.join(dir, 'err'),
  });
  return { ...r, root, bundle };
}

// A host directory on the root filesystem (ext4 here), owned on disk by the mount's 5000.
async function source(t: Test, label: string): Promise<string> {
  const src = path.join(await scratchDir(t, label), 'src');
  mkdirSync(src);
  chownSync(src, 5000, 5000);
  writeFileSync(path.join(src, 'old'), 'x');
  chownSync(path.join(src, 'old'), 5001, 5002);
  return src;
}

function owner(file: string): string {
  const st = statSync(file);
  return `${st.uid}:${st.gid}`;
}

t.test('idmap bind: written through the mount, the file has the mapped owner on disk', { skip }, async (t) => {
  const src = await source(t, 'idmap');
  const r = await run(
    t,
    'touch /data/new && stat -c "%u:%g" /data/old /data/new && grep " /data " /proc/self/mountinfo',
    (spec) => spec.mounts!.push({ destination: '/data', type: 'bind', source: src, options: ['bind', 'idmap'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP }),
    'idmap',
  );
  t.equal(r.code, 0, 'run: exit 0', { stderr: r.stderr });
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], '1:2', 'inside: the file owned by 5001:5002 on disk is 1:2');
  t.equal(lines[1], '0:0', 'inside: the new file is root\'s');
  t.match(lines[2] ?? '', /\bidmapped\b/, 'mountinfo says idmapped');
  t.equal(owner(path.join(src, 'new')), '5000:5000', 'on the host: owned by 5000:5000, the container root\'s id through the mapping');
  await checkNothingLeft(t, { stateRoot: r.root, bundleDir: r.bundle.dir });
});

t.test('idmap without mappings on the mount: the container\'s own mapping', { skip }, async (t) => {
  const src = await source(t, 'idmapns');
  chownSync(src, 0, 0);
  const r = await run(
    t,
    'touch /data/new && stat -c "%u:%g" /data/new',
    (spec) => spec.mounts!.push({ destination: '/data', type: 'bind', source: src, options: ['rbind', 'idmap'] }),
    'idmapns',
  );
  t.equal(r.code, 0, 'run: exit 0', { stderr: r.stderr });
  t.equal(r.stdout.trim(), '0:0', 'inside: root\'s');
  t.equal(owner(path.join(src, 'new')), '0:0', 'on the host: 0:0 on disk (the mapping 0 -> 100000 undone)');
});

t.test('ridmap reaches submounts; idmap maps the top only', { skip }, async (t) => {
  const src = await source(t, 'ridmap');
  const sub = path.join(src, 'sub');
  mkdirSync(sub);
  // Owned by the mount's 5000 on disk: through "ridmap" the container's root owns it. (A
  // directory whose owner the id-mapped mount cannot show takes no new file here.)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=1777,uid=5000,gid=5000', 'hako-idmap-sub', sub]);
  t.teardown(() => execFileSync('umount', ['-l', sub]));
  for (const [option, want] of [['ridmap', '5000:5000'], ['idmap', `${CONTAINER_ROOT}:${CONTAINER_ROOT}`]] as const) {
    const name = `by-${option}`;
    const r = await run(
      t,
      `touch /data/sub/${name} && grep " /data/sub " /proc/self/mountinfo`,
      (spec) => spec.mounts!.push({ destination: '/data', type: 'bind', source: src, options: ['rbind', option], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP }),
      option,
    );
    t.equal(r.code, 0, `${option}: exit 0`, { stderr: r.stderr });
    t.equal(owner(path.join(sub, name)), want, `${option}: the file in the submount is ${want} on the host`);
    if (option === 'ridmap') t.match(r.stdout, /\bidmapped\b/, 'ridmap: the submount is idmapped');
    else t.notMatch(r.stdout, /\bidmapped\b/, 'idmap: the submount is not');
  }
});

t.test('a tmpfs can be id-mapped too (not only bind mounts)', { skip }, async (t) => {
  const r = await run(
    t,
    'grep " /scratch " /proc/self/mountinfo && touch /scratch/f && stat -c "%u:%g" /scratch/f',
    (spec) => spec.mounts!.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['idmap', 'mode=1777', 'uid=5000', 'gid=5000'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP }),
    'idmaptmpfs',
  );
  t.equal(r.code, 0, 'run: exit 0', { stderr: r.stderr });
  t.match(r.stdout, /\bidmapped\b/, 'mountinfo says idmapped');
  t.equal(r.stdout.trim().split('\n').at(-1), '0:0', 'a new file is root\'s');
  await checkNothingLeft(t, { stateRoot: r.root, bundleDir: r.bundle.dir });
});

t.test('a filesystem the kernel cannot id-map: an error naming the mount, nothing left', { skip }, async (t) => {
  const r = await run(
    t,
    'true',
    (spec) => spec.mounts!.push({ destination: '/hostproc', type: 'bind', source: '/proc/sys', options: ['rbind', 'idmap'], uidMappings: MOUNT_MAP, gidMappings: MOUNT_MAP }),
    'idmapproc',
  );
  const n = r.bundle.spec.mounts!.length - 1;
  t.not(r.code, 0, 'run fails');
  t.match(r.stderr, `mount \\"/proc/sys\\" (bind) on \\"/hostproc\\" (/mounts/${n}): id-map it: the kernel refuses`, 'names the mount and its pointer');
  await checkNothingLeft(t, { stateRoot: r.root, bundleDir: r.bundle.dir });
});

t.test('bad mappings are refused before anything is made, with the field named', { skip }, async (t) => {
  const cases: Array<[string, (spec: Spec) => void, RegExp]> = [
    [
      'overlapping ranges on a mount',
      (spec) => spec.mounts!.push({ destination: '/d', type: 'bind', source: '/tmp', options: ['bind', 'idmap'], uidMappings: [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 5, hostID: 200000, size: 10 }], gidMappings: MOUNT_MAP }),
      /\/mounts\/\d+\/uidMappings\/1: its containerID range \[5, 14\] overlaps that of \/mounts\/\d+\/uidMappings\/0/,
    ],
    [
      'overlapping host ranges in linux.gidMappings',
      (spec) => { spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }, { containerID: 70000, hostID: 100001, size: 1 }]; },
      /\/linux\/gidMappings\/1: its hostID range \[100001, 100001\] overlaps that of \/linux\/gidMappings\/0/,
    ],
    [
      'a mapping without the process\'s user in it',
      (spec) => { spec.linux!.uidMappings = [{ containerID: 1, hostID: 100001, size: 100 }]; },
      /\/process\/user\/uid: 0 is not mapped in \/linux\/uidMappings/,
    ],
    [
      'a mount with uidMappings and no gidMappings',
      (spec) => spec.mounts!.push({ destination: '/d', type: 'bind', source: '/tmp', options: ['bind', 'idmap'], uidMappings: MOUNT_MAP }),
      /\/mounts\/\d+\/gidMappings: is required with uidMappings/,
    ],
    [
      'a zero-size mapping',
      (spec) => spec.mounts!.push({ destination: '/d', type: 'bind', source: '/tmp', options: ['bind', 'ridmap'], uidMappings: [{ containerID: 0, hostID: 1, size: 0 }], gidMappings: MOUNT_MAP }),
      /\/mounts\/\d+\/uidMappings\/0\/size: must be at least 1/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    const r = await run(t, 'true', edit, 'idmapbad');
    t.not(r.code, 0, `${name}: refused`);
    t.match(r.stderr, message, `${name}: the field is named`);
    await checkNothingLeft(t, { stateRoot: r.root, bundleDir: r.bundle.dir });
  }
});

// containerd 1.6 (Debian 12) has no CRI user namespaces: its docs/user-namespaces/README.md
// says hostUsers: false is silently ignored by 1.6 and older (the CRI's userns_options came
// with 1.7, id-mapped volumes with 2.0 and runc 1.2). So the config a CRI makes for a pod
// with hostUsers: false is driven here directly. The pod's user namespace maps 0 -> 100000
// (65536 ids); every volume and the /etc files are binds with "idmap" and the pod's own
// mappings on the mount, so what the pod's root writes is root's on disk.
t.test('the config shape of a CRI pod with hostUsers: false', { skip }, async (t) => {
  const volume = path.join(await scratchDir(t, 'crivol'), 'vol');
  mkdirSync(volume);
  const etc = await scratchDir(t, 'crietc');
  writeFileSync(path.join(etc, 'hostname'), 'pod\n');
  const podMap = [{ containerID: 0, hostID: CONTAINER_ROOT, size: 65536 }];
  const r = await run(
    t,
    'cat /etc/hostname && stat -c "%u:%g" /etc/hostname /data && touch /data/by-pod && echo ok',
    (spec) => {
      spec.mounts!.push(
        { destination: '/data', type: 'bind', source: volume, options: ['rbind', 'rprivate', 'rw', 'idmap'], uidMappings: podMap, gidMappings: podMap },
        { destination: '/etc/hostname', type: 'bind', source: path.join(etc, 'hostname'), options: ['rbind', 'rprivate', 'ro', 'idmap'], uidMappings: podMap, gidMappings: podMap },
      );
    },
    'crius',
  );
  t.equal(r.code, 0, 'run: exit 0', { stderr: r.stderr });
  t.equal(r.stdout, 'pod\n0:0\n0:0\nok\n', 'the host\'s root-owned files are the pod root\'s; the volume is writable');
  t.equal(owner(path.join(volume, 'by-pod')), '0:0', 'on disk: root\'s');
  await checkNothingLeft(t, { stateRoot: r.root, bundleDir: r.bundle.dir });
});
