// linux.resources.devices for the v1 devices controller. The rules are followed as the
// kernel follows writes to devices.allow / devices.deny: a rule of type "a" sets the
// default (allow or deny everything) and drops every exception; any other rule either
// adds an exception to the default or takes access away from an exception that matches
// it exactly. What results is written to a cgroup in as few steps as keep it correct.
import type { LinuxDeviceCgroup } from '../oci/types.js';
import type { CgroupWrite } from './convert.js';

export interface DeviceRule {
  allow: boolean;
  type: 'a' | 'c' | 'b';
  /** -1: any */
  major: number;
  /** -1: any */
  minor: number;
  /** some of "rwm" */
  access: string;
}

export interface DeviceState {
  defaultAllow: boolean;
  /** the exceptions to the default, each (type, major, minor) once */
  exceptions: DeviceRule[];
}

/**
 * What runc allows every container besides its config's rules (appended after them):
 * mknod of any node, and the nodes of the default /dev.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
];

/**
 * Where every container's device policy starts, whatever its config says (as runc): no
 * access to any device. Without it a config with no rules (or only allow rules) would
 * leave the cgroup's inherited "a *:* rwm", and a container with CAP_MKNOD could read
 * the host's disks through a node it makes.
 */
export const DENY_ALL_DEVICES: DeviceRule = { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' };

/**
 * Deny-all, then the config's rules (type "a", any major/minor and "rwm" where left out),
 * then runc's defaults. A config's own `{"allow": true, "access": "rwm"}` still allows all.
 */
export function containerDeviceRules(rules: readonly LinuxDeviceCgroup[] | undefined): DeviceRule[] {
  const own = (rules ?? []).map(
    (r): DeviceRule => ({
      allow: r.allow,
      type: r.type ?? 'a',
      major: r.major ?? -1,
      minor: r.minor ?? -1,
      access: normalizeAccess(r.access ?? 'rwm'),
    }),
  );
  return [DENY_ALL_DEVICES, ...own, ...DEFAULT_DEVICE_RULES];
}

function normalizeAccess(access: string): string {
  const set = new Set(access.split(''));
  const out = ['r', 'w', 'm'].filter((c) => set.has(c)).join('');
  return out === '' ? 'rwm' : out;
}

function sameNode(a: DeviceRule, b: DeviceRule): boolean {
  return a.type === b.type && a.major === b.major && a.minor === b.minor;
}

/** The state after the rules, starting from `from` (a fresh cgroup under the root allows all). */
export function applyDeviceRules(rules: readonly DeviceRule[], from: DeviceState = { defaultAllow: true, exceptions: [] }): DeviceState {
  let defaultAllow = from.defaultAllow;
  let exceptions = from.exceptions.map((e) => ({ ...e }));
  for (const r of rules) {
    if (r.type === 'a') {
      defaultAllow = r.allow;
      exceptions = [];
      continue;
    }
    const i = exceptions.findIndex((e) => sameNode(e, r));
    if (r.allow !== defaultAllow) {
      // An exception to the default: added, or its access widened.
      if (i < 0) exceptions.push({ ...r, allow: !defaultAllow });
      else exceptions[i]!.access = normalizeAccess(exceptions[i]!.access + r.access);
    } else if (i >= 0) {
      // The same as the default: takes access away from a matching exception.
      const left = exceptions[i]!.access.split('').filter((c) => !r.access.includes(c)).join('');
      if (left === '') exceptions.splice(i, 1);
      else exceptions[i]!.access = left;
    }
  }
  return { defaultAllow, exceptions };
}

export function formatDeviceRule(r: Pick<DeviceRule, 'type' | 'major' | 'minor' | 'access'>): string {
  if (r.type === 'a') return 'a';
  const n = (x: number): string => (x < 0 ? '*' : String(x));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/** devices.list of a cgroup (v1) as a state; "a *:* rwm" alone means everything is allowed. */
export function parseDevicesList(text: string): DeviceState {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 1 && /^a \*:\* rwm$/.test(lines[0]!)) return { defaultAllow: true, exceptions: [] };
  const exceptions: DeviceRule[] = [];
  for (const line of lines) {
    const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line);
    if (!m || m[1] === 'a') continue;
    const n = (x: string): number => (x === '*' ? -1 : Number(x));
    exceptions.push({ allow: true, type: m[1] as 'c' | 'b', major: n(m[2]!), minor: n(m[3]!), access: m[4]! });
  }
  return { defaultAllow: false, exceptions };
}

/**
 * The writes that take a v1 devices cgroup from `current` to `target`. When both deny by
 * default (a container being updated), only the differences are written, so access the
 * container keeps is never taken away for a moment; otherwise the default is set first
 * (which drops every exception) and the exceptions are written after it.
 */
export function deviceWrites(target: DeviceState, current?: DeviceState): CgroupWrite[] {
  const write = (allow: boolean, value: string): CgroupWrite => ({
    controller: 'devices',
    file: allow ? 'devices.allow' : 'devices.deny',
    value,
  });
  const out: CgroupWrite[] = [];
  if (current && !current.defaultAllow && !target.defaultAllow) {
    for (const e of current.exceptions) {
      const keep = target.exceptions.find((t) => sameNode(t, e))?.access ?? '';
      const drop = e.access.split('').filter((c) => !keep.includes(c)).join('');
      if (drop !== '') out.push(write(false, formatDeviceRule({ ...e, access: drop })));
    }
    for (const t of target.exceptions) {
      const have = current.exceptions.find((e) => sameNode(t, e))?.access ?? '';
      const add = t.access.split('').filter((c) => !have.includes(c)).join('');
      if (add !== '') out.push(write(true, formatDeviceRule({ ...t, access: add })));
    }
    return out;
  }
  out.push(write(target.defaultAllow, 'a'));
  for (const e of target.exceptions) out.push(write(!target.defaultAllow, formatDeviceRule(e)));
  return out;
}
