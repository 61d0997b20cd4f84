// Rootless decisions without root: --rootless, the subordinate ids a user may map, the
// hierarchies a rootless create keeps and the limits it refuses.
import t from 'tap';
import { containerCgroup } from '../../src/cgroups/manager.js';
import { checkRootlessLimits } from '../../src/cgroups/rootless.js';
import { checkRootlessMappings, isOwnIdOnly, isRootless, subordinateRanges } from '../../src/container/rootless.js';
import { defaultSpec } from '../../src/oci/default-spec.js';
import { HakoError } from '../../src/errors.js';
import { THIS_HOST_CGROUP, THIS_HOST_MOUNTINFO } from '../helpers/host-samples.js';

const pointerOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof HakoError) return err.where.pointer ?? '';
    throw err;
  }
  return undefined;
};

t.test('--rootless: true, false, auto (not root, or root of a user namespace)', async (t) => {
  t.equal(isRootless('true', 0, () => false), true);
  t.equal(isRootless('false', 1000, () => true), false);
  t.equal(isRootless('auto', 1000, () => false), true, 'auto, not root');
  t.equal(isRootless(undefined, 0, () => false), false, 'auto, the host\'s root');
  t.equal(isRootless('auto', 0, () => true), true, 'auto, root of a user namespace (rootless podman)');
  t.throws(() => isRootless('maybe', 0, () => false), { message: /invalid --rootless value "maybe"/ });
});

t.test('subordinate ids: by name or uid, malformed lines skipped', async (t) => {
  const text = 'alice:100000:65536\n1001:300000:10\nbob:200000:65536\nalice:x:1\n\nalice:500000:0\n';
  t.same(subordinateRanges(text, 'alice', 1001), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]);
  t.same(subordinateRanges(text, undefined, 1002), []);
  t.same(subordinateRanges(undefined, 'alice', 1001), [], 'no /etc/subuid');
  t.ok(isOwnIdOnly([{ containerID: 0, hostID: 1001, size: 1 }], 1001));
  t.notOk(isOwnIdOnly([{ containerID: 0, hostID: 1001, size: 2 }], 1001));
});

t.test('what a rootless user may map, and what needs root', async (t) => {
  const caller = { euid: 1001, egid: 1001, name: 'alice', subuid: 'alice:100000:65536\n', subgid: 'alice:100000:65536\n' };
  const spec = defaultSpec({ rootless: true, uid: 1001, gid: 1001 });
  t.equal(pointerOf(() => checkRootlessMappings(spec, caller)), undefined, 'the user\'s own ids');
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }];
  t.equal(pointerOf(() => checkRootlessMappings(spec, caller)), undefined, 'own id and the subordinate range');
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100001, size: 65536 }];
  t.equal(pointerOf(() => checkRootlessMappings(spec, caller)), '/linux/uidMappings/0', 'one past the range');
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 1001, size: 1 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
  t.throws(() => checkRootlessMappings(spec, caller), { message: /^\/linux\/gidMappings\/0: host gids 0-0 are not yours to map: your gid is 1001 and your subordinate gids in \/etc\/subgid are 100000-165535$/ });
  const noUserns = defaultSpec();
  t.equal(pointerOf(() => checkRootlessMappings(noUserns, caller)), '/linux/namespaces', 'no user namespace: needs root');
  const idmapped = defaultSpec({ rootless: true, uid: 1001, gid: 1001 });
  idmapped.mounts!.push({ destination: '/d', type: 'bind', source: '/d', options: ['rbind', 'ridmap'] });
  t.equal(pointerOf(() => checkRootlessMappings(idmapped, caller)), `/mounts/${idmapped.mounts!.length - 1}`, 'an id-mapped bind needs root on the host');
});

t.test('the hierarchies a rootless create keeps; a limit in one it left out is refused', async (t) => {
  const spec = defaultSpec();
  const host = { mountinfo: THIS_HOST_MOUNTINFO, procCgroup: THIS_HOST_CGROUP };
  const cg = containerCgroup(spec, 'x', false, host, (dir) => dir.startsWith('/sys/fs/cgroup/unified/'));
  t.same(cg.cgroup.record.paths, { '': '/sys/fs/cgroup/unified/x' }, 'only the cgroup2 directory kept');
  t.equal(cg.skipped.memory, `/sys/fs/cgroup/memory/process_api/2ffb92027ef78fa4b00ef6f191497ff0/x`);
  t.match(cg.procCgroup, /^0::\/x$/m, 'the init is in its cgroup2 directory');
  t.match(cg.procCgroup, /^4:memory:\/process_api\//m, 'and keeps the caller\'s memory cgroup');
  t.doesNotThrow(() => checkRootlessLimits(cg.hostDriver, cg.skipped, { devices: [{ allow: false, access: 'rwm' }] }), 'device rules are not applied rootless');
  t.throws(() => checkRootlessLimits(cg.hostDriver, cg.skipped, { memory: { limit: 1 << 26 } }), {
    message: /^cannot set memory limit: container could not join or create cgroup \(\/sys\/fs\/cgroup\/memory\/.*\/x is not the user's\)$/,
  });
  t.equal(pointerOf(() => checkRootlessLimits(cg.hostDriver, cg.skipped, { pids: { limit: 10 } })), '/linux/resources/pids');
  const none = containerCgroup(spec, 'x', false, host, () => false);
  t.same(none.cgroup.dirs, [], 'nothing usable: no cgroup');
  t.equal(none.hostDriver, 'v1');
  const v2 = checkRootlessLimits.bind(null, 'v2', { '': '/sys/fs/cgroup/x' });
  t.equal(pointerOf(() => v2({ cpu: { quota: 1000, period: 10000 } })), '/linux/resources/cpu', 'v2: the cpu limit named');
  t.doesNotThrow(() => v2({}), 'v2, no limits: fine without a cgroup');
});
