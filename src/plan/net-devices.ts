// linux.netDevices: which host interfaces go into the container's network namespace, under
// which names, and which of their addresses go with them. The moving itself is
// src/container/net-devices.ts, over rtnetlink (cpp/addon/netlink.cc).
//
// As runc (1.4, libcontainer/network_linux.go) and the runtime-spec: a device is set down,
// moved and renamed in one request, its permanent addresses of global scope are added again
// inside (moving flushes them), and it is set up. Where runc loses what the spec asks to
// preserve, hako keeps it: the addresses are read before the device is set down (setting an
// interface down drops its IPv6 addresses unless keep_addr_on_down is set), and each keeps
// its broadcast address (runc computes one) and the flags a user sets (nodad,
// noprefixroute, ...; runc drops them). The devices move in the config's order (runc's is
// a Go map's, random).
import type { Spec } from '../oci/types.js';
import { pointer } from '../oci/problem.js';

export interface NetDeviceMove {
  /** the interface's name in the runtime's network namespace (the entry's key) */
  hostName: string;
  /** its name in the container's: the entry's name, or hostName; may be a "%d" template */
  name: string;
  /** where the entry is in config.json, for errors: /linux/netDevices/<hostName> */
  pointer: string;
  /** where the name came from: .../name when the entry renames the device */
  namePointer: string;
}

/** One address of a link as rtnetlink reports it (cpp/addon/netlink.cc). */
export interface LinkAddress {
  family: 4 | 6;
  prefixlen: number;
  /** IFA_F_* (the IFA_FLAGS attribute where the kernel sends it) */
  flags: number;
  /** RT_SCOPE_* */
  scope: number;
  /** IFA_ADDRESS: the peer of a point-to-point address, else the address itself */
  address: string;
  /** IFA_LOCAL (IPv4 always, IPv6 only with a peer) */
  local?: string;
  /** IFA_BROADCAST (IPv4) */
  broadcast?: string;
}

/** An address to add, global scope, as runc adds it back (the address and its prefix, no peer). */
export interface AddressToAdd {
  family: 4 | 6;
  prefixlen: number;
  address: string;
  /** the IFA_F_* flags a user may set (KEPT_FLAGS), when any */
  flags?: number;
  /** IPv4: the broadcast address it had, if any */
  broadcast?: string;
  /** RT_SCOPE_*, when not global (an address going back to the host, addressesToRestore) */
  scope?: number;
}

export const IFA_F_PERMANENT = 0x80;
export const RT_SCOPE_UNIVERSE = 0;
/** IFA_F_NODAD, OPTIMISTIC, HOMEADDRESS, MANAGETEMPADDR, NOPREFIXROUTE, MCAUTOJOIN: what `ip address add` may set */
export const KEPT_FLAGS = 0x02 | 0x04 | 0x10 | 0x100 | 0x200 | 0x400;

/** The moves linux.netDevices asks for, in the config's order. */
export function planNetDevices(spec: Spec): NetDeviceMove[] {
  return Object.entries(spec.linux?.netDevices ?? {}).map(([hostName, dev]) => {
    const renamed = dev.name !== undefined && dev.name !== '';
    const at = pointer('linux', 'netDevices', hostName);
    return { hostName, name: renamed ? dev.name! : hostName, pointer: at, namePointer: renamed ? `${at}/name` : at };
  });
}

/** A name the kernel fills in ("eth%d": the first free eth0, eth1, ...). */
export function isNameTemplate(name: string): boolean {
  return name.includes('%');
}

/** Whether a name the kernel gave matches a template: "eth%d" matches "eth0", "eth12". */
export function matchesTemplate(template: string, name: string): boolean {
  const [before, after] = template.split('%d') as [string, string | undefined];
  if (after === undefined || !name.startsWith(before) || !name.endsWith(after)) return false;
  return /^(0|[1-9][0-9]*)$/.test(name.slice(before.length, name.length - after.length));
}

/**
 * The addresses that go with a device (the spec, and runc): permanent ones (not made by
 * the kernel, DHCP or SLAAC) of global scope, of both families.
 */
export function addressesToKeep(addresses: readonly LinkAddress[]): AddressToAdd[] {
  return addresses
    .filter((a) => (a.flags & IFA_F_PERMANENT) !== 0 && a.scope === RT_SCOPE_UNIVERSE)
    .map(toAdd);
}

function toAdd(a: LinkAddress): AddressToAdd {
  const flags = a.flags & KEPT_FLAGS;
  return {
    family: a.family,
    prefixlen: a.prefixlen,
    address: a.local ?? a.address,
    ...(flags !== 0 ? { flags } : {}),
    ...(a.family === 4 && a.broadcast ? { broadcast: a.broadcast } : {}),
  };
}

/**
 * The addresses a device had on the host, to give back if it has to return there (a
 * create that failed after moving it): every permanent one, of any scope.
 */
export function addressesToRestore(addresses: readonly LinkAddress[]): AddressToAdd[] {
  return addresses
    .filter((a) => (a.flags & IFA_F_PERMANENT) !== 0)
    .map((a) => ({ ...toAdd(a), ...(a.scope !== RT_SCOPE_UNIVERSE ? { scope: a.scope } : {}) }));
}
