// The mount option names a Linux runtime understands (runtime-spec config.md, and the
// same set runc knows). Anything else in a mount's options is filesystem data
// ("size=64k", "mode=755"), which the kernel ignores on bind mounts.

/** Options that set or clear a mount(2) flag. */
export const MOUNT_FLAG_OPTIONS: readonly string[] = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'iversion',
  'lazytime', 'loud', 'mand', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion',
  'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'rbind',
  'relatime', 'remount', 'ro', 'rw', 'silent', 'strictatime', 'suid', 'sync', 'symfollow',
];

/** Propagation options. */
export const MOUNT_PROPAGATION_OPTIONS: readonly string[] = [
  'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable',
];

/** Recursive mount_setattr(2) attributes. */
export const MOUNT_RECURSIVE_OPTIONS: readonly string[] = [
  'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec', 'rnodiratime',
  'rdiratime', 'rrelatime', 'rnorelatime', 'rnoatime', 'ratime', 'rstrictatime',
  'rnostrictatime', 'rnosymfollow', 'rsymfollow',
];

/** Options the runtime handles itself and never passes to the kernel. */
export const MOUNT_EXTENSION_OPTIONS: readonly string[] = ['tmpcopyup', 'idmap', 'ridmap'];

export const KNOWN_MOUNT_OPTIONS: ReadonlySet<string> = new Set([
  ...MOUNT_FLAG_OPTIONS,
  ...MOUNT_PROPAGATION_OPTIONS,
  ...MOUNT_RECURSIVE_OPTIONS,
  ...MOUNT_EXTENSION_OPTIONS,
]);

/** True if the mount is a bind mount: a "bind" or "rbind" option, or type "bind". */
export function isBindMount(m: { type?: string; options?: string[] }): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** True if the mount asks for an id-mapped mount (option or per-mount mappings). */
export function isIdMappedMount(m: { options?: string[]; uidMappings?: unknown[]; gidMappings?: unknown[] }): boolean {
  return (
    (m.options ?? []).some((o) => o === 'idmap' || o === 'ridmap') ||
    m.uidMappings !== undefined ||
    m.gidMappings !== undefined
  );
}
