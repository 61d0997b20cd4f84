// A container without a mount namespace (none in linux.namespaces, so it shares hako's)
// has its mounts in the host's mount table: hako-init binds the rootfs onto itself,
// makes that bind private and mounts everything under it. The record names that bind
// (hostRootfsBind) and the front's delete detaches it, with every mount under it (runc
// 1.1.5 leaves them all); a failed create does the same through the front's code.
import { fromSystemError } from '../errors.js';
import { native } from '../native.js';
import type { Spec } from '../oci/types.js';

/** No mount namespace, created or joined: the rootfs (other than "/") was set up in hako's. */
export function setUpInHostMountNamespace(spec: Spec | undefined, rootfs: string): boolean {
  return rootfs !== '/' && !(spec?.linux?.namespaces ?? []).some((ns) => ns.type === 'mount');
}

/** Detach hako-init's bind of the rootfs (and all under it) if the container had no mount namespace. */
export function releaseHostRootfs(spec: Spec | undefined, rootfs: string): void {
  if (!setUpInHostMountNamespace(spec, rootfs)) return;
  try {
    native().releaseHostRootfs(rootfs);
  } catch (err) {
    throw fromSystemError(err);
  }
}
