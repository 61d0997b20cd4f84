// A mount's "options" list -> what mount(2), the propagation call and mount_setattr(2)
// take. The table is the runtime-spec's (and runc's specconv): an option that sets or
// clears an MS_* flag, a propagation type, a recursive mount attribute ("r" + name), or
// "tmpcopyup"; anything else is filesystem data, joined with ",".
//
// Where this differs from runc:
// - "defaults" is dropped (runc lets it fall through into the filesystem data, where
//   proc or tmpfs reject it as an unknown parameter).
// - Several propagation options collapse into one (the plan carries one): the last wins.
import { MOUNT_ATTR, MS, MountExt } from './launch-plan.js';

interface FlagOption {
  clear: boolean;
  flag: bigint;
}

/** Options that set (clear: false) or clear (clear: true) an MS_* flag. */
export const MOUNT_FLAG_TABLE: Readonly<Record<string, FlagOption>> = {
  async: { clear: true, flag: MS.SYNCHRONOUS },
  atime: { clear: true, flag: MS.NOATIME },
  bind: { clear: false, flag: MS.BIND },
  defaults: { clear: false, flag: 0n },
  dev: { clear: true, flag: MS.NODEV },
  diratime: { clear: true, flag: MS.NODIRATIME },
  dirsync: { clear: false, flag: MS.DIRSYNC },
  exec: { clear: true, flag: MS.NOEXEC },
  iversion: { clear: false, flag: MS.I_VERSION },
  lazytime: { clear: false, flag: MS.LAZYTIME },
  loud: { clear: true, flag: MS.SILENT },
  mand: { clear: false, flag: MS.MANDLOCK },
  noatime: { clear: false, flag: MS.NOATIME },
  nodev: { clear: false, flag: MS.NODEV },
  nodiratime: { clear: false, flag: MS.NODIRATIME },
  noexec: { clear: false, flag: MS.NOEXEC },
  noiversion: { clear: true, flag: MS.I_VERSION },
  nolazytime: { clear: true, flag: MS.LAZYTIME },
  nomand: { clear: true, flag: MS.MANDLOCK },
  norelatime: { clear: true, flag: MS.RELATIME },
  nostrictatime: { clear: true, flag: MS.STRICTATIME },
  nosuid: { clear: false, flag: MS.NOSUID },
  nosymfollow: { clear: false, flag: MS.NOSYMFOLLOW },
  rbind: { clear: false, flag: MS.BIND | MS.REC },
  relatime: { clear: false, flag: MS.RELATIME },
  remount: { clear: false, flag: MS.REMOUNT },
  ro: { clear: false, flag: MS.RDONLY },
  rw: { clear: true, flag: MS.RDONLY },
  silent: { clear: false, flag: MS.SILENT },
  strictatime: { clear: false, flag: MS.STRICTATIME },
  suid: { clear: true, flag: MS.NOSUID },
  sync: { clear: false, flag: MS.SYNCHRONOUS },
  symfollow: { clear: true, flag: MS.NOSYMFOLLOW },
};

/** Propagation options -> MS_* for the call made after the mount. */
export const PROPAGATION_TABLE: Readonly<Record<string, bigint>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Recursive attribute options -> MOUNT_ATTR_* to set (clear: false) or clear. */
export const RECURSIVE_ATTR_TABLE: Readonly<Record<string, FlagOption>> = {
  rro: { clear: false, flag: MOUNT_ATTR.RDONLY },
  rrw: { clear: true, flag: MOUNT_ATTR.RDONLY },
  rnosuid: { clear: false, flag: MOUNT_ATTR.NOSUID },
  rsuid: { clear: true, flag: MOUNT_ATTR.NOSUID },
  rnodev: { clear: false, flag: MOUNT_ATTR.NODEV },
  rdev: { clear: true, flag: MOUNT_ATTR.NODEV },
  rnoexec: { clear: false, flag: MOUNT_ATTR.NOEXEC },
  rexec: { clear: true, flag: MOUNT_ATTR.NOEXEC },
  rnodiratime: { clear: false, flag: MOUNT_ATTR.NODIRATIME },
  rdiratime: { clear: true, flag: MOUNT_ATTR.NODIRATIME },
  rrelatime: { clear: false, flag: MOUNT_ATTR.RELATIME },
  rnorelatime: { clear: true, flag: MOUNT_ATTR.RELATIME },
  rnoatime: { clear: false, flag: MOUNT_ATTR.NOATIME },
  ratime: { clear: true, flag: MOUNT_ATTR.NOATIME },
  rstrictatime: { clear: false, flag: MOUNT_ATTR.STRICTATIME },
  rnostrictatime: { clear: true, flag: MOUNT_ATTR.STRICTATIME },
  rnosymfollow: { clear: false, flag: MOUNT_ATTR.NOSYMFOLLOW },
  rsymfollow: { clear: true, flag: MOUNT_ATTR.NOSYMFOLLOW },
};

/** Options that are MountExt bits. */
export const EXTENSION_TABLE: Readonly<Record<string, number>> = {
  tmpcopyup: MountExt.TMPCOPYUP,
};

/** Id-mapped mount options: the mount's uidMappings/gidMappings (or the container's) applied with mount_setattr. */
export const IDMAP_OPTIONS: readonly string[] = ['idmap', 'ridmap'];

export interface ParsedMountOptions {
  /** MS_* set */
  flags: bigint;
  /** MS_* the options asked to clear ("rw", "suid", ...) */
  clearedFlags: bigint;
  /** the last propagation option, 0n when none */
  propagation: bigint;
  attrSet: bigint;
  attrClr: bigint;
  /** MountExt bits (TMPCOPYUP, RRO, RRW) */
  ext: number;
  /** filesystem data, comma-joined */
  data: string;
  /** "idmap" or "ridmap" was given */
  idmap: boolean;
}

const has = (table: object, key: string) => Object.prototype.hasOwnProperty.call(table, key);

/** Parses a mount's options, in order: a later option overrides an earlier one. */
export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  let flags = 0n;
  let clearedFlags = 0n;
  let propagation = 0n;
  let attrSet = 0n;
  let attrClr = 0n;
  let ext = 0;
  let idmap = false;
  const data: string[] = [];

  for (const o of options) {
    if (has(MOUNT_FLAG_TABLE, o)) {
      const f = MOUNT_FLAG_TABLE[o]!;
      if (f.clear) {
        flags &= ~f.flag;
        clearedFlags |= f.flag;
      } else {
        flags |= f.flag;
        clearedFlags &= ~f.flag;
      }
    } else if (has(PROPAGATION_TABLE, o)) {
      propagation = PROPAGATION_TABLE[o]!;
    } else if (has(RECURSIVE_ATTR_TABLE, o)) {
      const f = RECURSIVE_ATTR_TABLE[o]!;
      if (f.clear) {
        attrClr |= f.flag;
        attrSet &= ~f.flag;
      } else {
        attrSet |= f.flag;
        attrClr &= ~f.flag;
      }
      // mount_setattr(2): an access-time setting in attr_set needs MOUNT_ATTR__ATIME in
      // attr_clr. RELATIME is 0, so rrelatime and rnorelatime both land here.
      if ((f.flag & MOUNT_ATTR._ATIME) === f.flag) attrClr |= MOUNT_ATTR._ATIME;
    } else if (has(EXTENSION_TABLE, o)) {
      ext |= EXTENSION_TABLE[o]!;
    } else if (IDMAP_OPTIONS.includes(o)) {
      idmap = true;
    } else {
      data.push(o);
    }
  }

  if ((attrSet & MOUNT_ATTR.RDONLY) !== 0n) ext |= MountExt.RRO;
  if ((attrClr & MOUNT_ATTR.RDONLY) !== 0n) ext |= MountExt.RRW;
  return { flags, clearedFlags, propagation, attrSet, attrClr, ext, data: data.join(','), idmap };
}
