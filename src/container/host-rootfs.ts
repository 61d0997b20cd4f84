// A container without a mount namespace (none in linux.namespaces, so it shares hako's)
// has its mounts in the host's mount table: hako-init binds the rootfs onto itself,
// makes that bind private and mounts everything under it. Releasing the container
// detaches the bind and, with it, every mount under it (runc 1.1.5 leaves them all).
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fromSystemError } from '../errors.js';
import { native } from '../native.js';
import type { Spec } from '../oci/types.js';

/** No mount namespace, created or joined: the rootfs (other than "/") was set up in hako's. */
export function setUpInHostMountNamespace(spec: Spec | undefined, rootfs: string): boolean {
  return rootfs !== '/' && !(spec?.linux?.namespaces ?? []).some((ns) => ns.type === 'mount');
}

interface MountInfoEntry {
  id: number;
  parent: number;
  dev: string;
  root: string;
  mountPoint: string;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    out.push({ id: Number(f[0]), parent: Number(f[1]), dev: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!) });
  }
  return out;
}

/**
 * Whether the topmost mount at `path` is a bind of `path` onto itself: same device as
 * the mount it covers, and the root that the covered mount shows at `path`. A manager's
 * own rootfs mount there (an overlay, a bind from elsewhere) is not.
 */
export function topIsSelfBind(mounts: readonly MountInfoEntry[], path: string): boolean {
  const at = mounts.filter((m) => m.mountPoint === path);
  const top = at.find((m) => !at.some((other) => other.parent === m.id));
  const below = top && mounts.find((m) => m.id === top.parent);
  if (!top || !below) return false;
  let root = below.root;
  if (below.mountPoint !== path) {
    const rel = below.mountPoint === '/' ? path : path.slice(below.mountPoint.length);
    if (!rel.startsWith('/')) return false;
    root = posix.join(below.root, rel);
  }
  return top.dev === below.dev && top.root === root;
}

/** Detach hako-init's bind of the rootfs (and all under it) if the container had no mount namespace. */
export function releaseHostRootfs(spec: Spec | undefined, rootfs: string): void {
  if (!setUpInHostMountNamespace(spec, rootfs)) return;
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch (err) {
    throw fromSystemError(err);
  }
  if (!topIsSelfBind(parseMountInfo(text), rootfs)) return;
  try {
    native().umountDetach(rootfs);
  } catch (err) {
    throw fromSystemError(err);
  }
}
