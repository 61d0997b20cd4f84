// Which mount delete detaches for a container without a mount namespace: only a bind of
// the rootfs onto itself (hako-init's), never a manager's own mount at the rootfs. The
// check is the front's (cpp/front/host_rootfs.cc), reached through the addon.
import t from 'tap';
import { setUpInHostMountNamespace } from '../../src/container/host-rootfs.js';
import { native } from '../../src/native.js';

const parseMountInfo = (text: string): string => text;
const topIsSelfBind = (mountinfo: string, path: string): boolean => native().topIsSelfBind(mountinfo, path);

const line = (id: number, parent: number, dev: string, root: string, mountPoint: string, fs = 'ext4'): string =>
  `${id} ${parent} ${dev} ${root} ${mountPoint} rw,relatime shared:1 - ${fs} /dev/x rw`;

const HOST = [line(20, 1, '8:1', '/', '/'), line(21, 20, '0:22', '/', '/run', 'tmpfs')];

t.test('a self-bind on a plain directory of the parent filesystem', async (t) => {
  const mounts = parseMountInfo([...HOST, line(30, 20, '8:1', '/b/rootfs', '/b/rootfs'), line(31, 30, '0:50', '/', '/b/rootfs/proc', 'proc')].join('\n'));
  t.ok(topIsSelfBind(mounts, '/b/rootfs'));
  t.notOk(topIsSelfBind(mounts, '/b/other'), 'nothing mounted there');
});

t.test('a self-bind over a manager\'s overlay, and the overlay alone', async (t) => {
  const overlay = line(30, 21, '0:60', '/', '/run/c/rootfs', 'overlay');
  t.notOk(topIsSelfBind(parseMountInfo([...HOST, overlay].join('\n')), '/run/c/rootfs'), 'the manager\'s overlay is not ours');
  t.ok(topIsSelfBind(parseMountInfo([...HOST, overlay, line(31, 30, '0:60', '/', '/run/c/rootfs', 'overlay')].join('\n')), '/run/c/rootfs'));
});

t.test('a bind from elsewhere, a mount with a root of its own, escaped names', async (t) => {
  t.notOk(topIsSelfBind(parseMountInfo([...HOST, line(30, 20, '8:1', '/srv/img', '/b/rootfs')].join('\n')), '/b/rootfs'), 'a bind of another directory');
  const sub = [line(20, 1, '8:1', '/', '/'), line(25, 20, '8:2', '/vol', '/data')];
  t.ok(topIsSelfBind(parseMountInfo([...sub, line(30, 25, '8:2', '/vol/my\\040bundle/rootfs', '/data/my\\040bundle/rootfs')].join('\n')), '/data/my bundle/rootfs'));
});

t.test('only without a mount namespace, and never for "/"', async (t) => {
  t.ok(setUpInHostMountNamespace({ ociVersion: '1.0.2', linux: { namespaces: [{ type: 'pid' }] } }, '/b/rootfs'));
  t.notOk(setUpInHostMountNamespace({ ociVersion: '1.0.2', linux: { namespaces: [{ type: 'mount' }] } }, '/b/rootfs'));
  t.notOk(setUpInHostMountNamespace({ ociVersion: '1.0.2', linux: { namespaces: [{ type: 'mount', path: '/proc/1/ns/mnt' }] } }, '/b/rootfs'));
  t.notOk(setUpInHostMountNamespace({ ociVersion: '1.0.2', linux: { namespaces: [] } }, '/'));
});
