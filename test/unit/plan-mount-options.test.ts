// The mount option table (src/plan/mount-flags.ts): every option the runtime-spec and
// runc know, what each does to flags, propagation, recursive attributes and data.
import t from 'tap';
import { MOUNT_ATTR, MS, MountExt } from '../../src/plan/launch-plan.js';
import {
  EXTENSION_TABLE,
  MOUNT_FLAG_TABLE,
  PROPAGATION_TABLE,
  RECURSIVE_ATTR_TABLE,
  parseMountOptions,
} from '../../src/plan/mount-flags.js';
import { KNOWN_MOUNT_OPTIONS } from '../../src/oci/mount-options.js';

t.test('every option src/oci knows has a meaning here', async (t) => {
  const tables = [MOUNT_FLAG_TABLE, PROPAGATION_TABLE, RECURSIVE_ATTR_TABLE, EXTENSION_TABLE];
  for (const o of KNOWN_MOUNT_OPTIONS) {
    if (o === 'idmap' || o === 'ridmap') continue;
    t.ok(tables.some((table) => Object.hasOwn(table, o)), o);
  }
  for (const table of tables) for (const o of Object.keys(table)) t.ok(KNOWN_MOUNT_OPTIONS.has(o), `${o} is known to src/oci`);
});

t.test('options that set a flag', async (t) => {
  const set: Array<[string, bigint]> = [
    ['ro', MS.RDONLY],
    ['nosuid', MS.NOSUID],
    ['nodev', MS.NODEV],
    ['noexec', MS.NOEXEC],
    ['sync', MS.SYNCHRONOUS],
    ['remount', MS.REMOUNT],
    ['mand', MS.MANDLOCK],
    ['dirsync', MS.DIRSYNC],
    ['nosymfollow', MS.NOSYMFOLLOW],
    ['noatime', MS.NOATIME],
    ['nodiratime', MS.NODIRATIME],
    ['bind', MS.BIND],
    ['rbind', MS.BIND | MS.REC],
    ['silent', MS.SILENT],
    ['relatime', MS.RELATIME],
    ['iversion', MS.I_VERSION],
    ['strictatime', MS.STRICTATIME],
    ['lazytime', MS.LAZYTIME],
  ];
  for (const [o, flag] of set) {
    const p = parseMountOptions([o]);
    t.equal(p.flags, flag, `${o} sets`);
    t.equal(p.clearedFlags, 0n, `${o} clears nothing`);
    t.equal(p.data, '', `${o} is not data`);
  }
  t.equal(MS.RDONLY, 1n);
  t.equal(MS.BIND | MS.REC, 0x5000n);
  t.equal(MS.STRICTATIME, 0x1000000n);
});

t.test('options that clear a flag, and order: the later option wins', async (t) => {
  const clear: Array<[string, string, bigint]> = [
    ['rw', 'ro', MS.RDONLY],
    ['suid', 'nosuid', MS.NOSUID],
    ['dev', 'nodev', MS.NODEV],
    ['exec', 'noexec', MS.NOEXEC],
    ['async', 'sync', MS.SYNCHRONOUS],
    ['nomand', 'mand', MS.MANDLOCK],
    ['atime', 'noatime', MS.NOATIME],
    ['diratime', 'nodiratime', MS.NODIRATIME],
    ['norelatime', 'relatime', MS.RELATIME],
    ['nostrictatime', 'strictatime', MS.STRICTATIME],
    ['loud', 'silent', MS.SILENT],
    ['noiversion', 'iversion', MS.I_VERSION],
    ['nolazytime', 'lazytime', MS.LAZYTIME],
    ['symfollow', 'nosymfollow', MS.NOSYMFOLLOW],
  ];
  for (const [off, on, flag] of clear) {
    const p = parseMountOptions([on, off]);
    t.equal(p.flags, 0n, `${on},${off}: cleared`);
    t.equal(p.clearedFlags, flag, `${off} is remembered as cleared`);
    const q = parseMountOptions([off, on]);
    t.equal(q.flags, flag, `${off},${on}: set`);
    t.equal(q.clearedFlags, 0n);
  }
});

t.test('propagation options', async (t) => {
  const want: Record<string, bigint> = {
    private: 1n << 18n,
    rprivate: (1n << 18n) | 16384n,
    slave: 1n << 19n,
    rslave: (1n << 19n) | 16384n,
    shared: 1n << 20n,
    rshared: (1n << 20n) | 16384n,
    unbindable: 1n << 17n,
    runbindable: (1n << 17n) | 16384n,
  };
  for (const [o, v] of Object.entries(want)) {
    const p = parseMountOptions(['nosuid', o]);
    t.equal(p.propagation, v, o);
    t.equal(p.flags, MS.NOSUID, `${o} leaves the mount flags alone`);
  }
  t.equal(parseMountOptions(['rshared', 'rprivate']).propagation, want.rprivate, 'the last one wins');
  t.equal(parseMountOptions([]).propagation, 0n);
});

t.test('recursive attributes', async (t) => {
  const ATIME = MOUNT_ATTR._ATIME;
  const cases: Array<[string, bigint, bigint]> = [
    ['rro', MOUNT_ATTR.RDONLY, 0n],
    ['rrw', 0n, MOUNT_ATTR.RDONLY],
    ['rnosuid', MOUNT_ATTR.NOSUID, 0n],
    ['rsuid', 0n, MOUNT_ATTR.NOSUID],
    ['rnodev', MOUNT_ATTR.NODEV, 0n],
    ['rdev', 0n, MOUNT_ATTR.NODEV],
    ['rnoexec', MOUNT_ATTR.NOEXEC, 0n],
    ['rexec', 0n, MOUNT_ATTR.NOEXEC],
    ['rnodiratime', MOUNT_ATTR.NODIRATIME, 0n],
    ['rdiratime', 0n, MOUNT_ATTR.NODIRATIME],
    ['rnosymfollow', MOUNT_ATTR.NOSYMFOLLOW, 0n],
    ['rsymfollow', 0n, MOUNT_ATTR.NOSYMFOLLOW],
    // access times are a field: setting one needs _ATIME in attr_clr (mount_setattr(2))
    ['rrelatime', 0n, ATIME],
    ['rnorelatime', 0n, ATIME],
    ['rnoatime', MOUNT_ATTR.NOATIME, ATIME],
    ['ratime', 0n, ATIME | MOUNT_ATTR.NOATIME],
    ['rstrictatime', MOUNT_ATTR.STRICTATIME, ATIME],
    ['rnostrictatime', 0n, ATIME | MOUNT_ATTR.STRICTATIME],
  ];
  for (const [o, set, clr] of cases) {
    const p = parseMountOptions([o]);
    t.equal(p.attrSet, set, `${o} attrSet`);
    t.equal(p.attrClr, clr, `${o} attrClr`);
    t.equal(p.flags, 0n, `${o} is no mount(2) flag`);
    t.equal(p.data, '', `${o} is not data`);
  }
  t.equal(MOUNT_ATTR.NOATIME, 0x10n);
  t.equal(MOUNT_ATTR._ATIME, 0x70n);

  t.equal(parseMountOptions(['rro']).ext, MountExt.RRO, 'rro is MOUNT_EXT_RRO');
  t.equal(parseMountOptions(['rrw']).ext, MountExt.RRW, 'rrw is MOUNT_EXT_RRW');
  const flip = parseMountOptions(['rro', 'rrw']);
  t.equal(flip.ext, MountExt.RRW, 'the later of rro/rrw wins');
  t.equal(flip.attrSet, 0n);
  t.equal(flip.attrClr, MOUNT_ATTR.RDONLY);
  const both = parseMountOptions(['rnosuid', 'rnodev', 'rro']);
  t.equal(both.attrSet, MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.RDONLY);
});

t.test('tmpcopyup, data, defaults, idmap', async (t) => {
  t.equal(parseMountOptions(['tmpcopyup']).ext, MountExt.TMPCOPYUP);
  const p = parseMountOptions(['nosuid', 'mode=755', 'strictatime', 'size=65536k', 'newinstance']);
  t.equal(p.data, 'mode=755,size=65536k,newinstance', 'unknown options are data, in order');
  t.equal(p.flags, MS.NOSUID | MS.STRICTATIME);
  t.same(parseMountOptions(['defaults']), parseMountOptions([]), '"defaults" means nothing');
  t.equal(parseMountOptions(['idmap']).idmap, true);
  t.equal(parseMountOptions(['ridmap']).idmap, true);
  t.equal(parseMountOptions(['ridmap']).data, '');
  t.equal(parseMountOptions(undefined).data, '');
});
