// /dev in the container, as runc sets it up when /dev is not bind-mounted from the
// host: the default device nodes (runc's AllowedDevices that have a path; a device of
// linux.devices with the same path replaces the default), then linux.devices, then the
// links (/dev/ptmx -> pts/ptmx, /dev/fd, /dev/std*, /dev/core when the host has
// /proc/kcore). /dev/ptmx itself is never a node: it is always the link.
import { posix } from 'node:path';
import { HakoError } from '../errors.js';
import { flatMap } from '../flat-map.js';
import type { LinuxDevice } from '../oci/types.js';
import { DeviceType, type PlanDevice, type PlanSymlink } from './launch-plan.js';

const S_IFMT = 0o170000;

/** runc's default devices, in runc's order. */
export const DEFAULT_DEVICES: readonly PlanDevice[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/tty', major: 5, minor: 0 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/urandom', major: 1, minor: 9 },
].map((d) => ({ type: DeviceType.CHAR, mode: 0o666, uid: 0, gid: 0, bind: 0, ...d }));

function deviceType(d: LinuxDevice, at: string): number {
  switch (d.type) {
    case 'c':
    case 'u':
      return DeviceType.CHAR;
    case 'b':
      return DeviceType.BLOCK;
    case 'p':
      return DeviceType.FIFO;
    default:
      throw new HakoError(`device type ${JSON.stringify(d.type)} is not one of "c", "u", "b", "p"`, { pointer: `${at}/type` });
  }
}

/** A linux.devices entry as a plan device: fileMode without its type bits (default 0666), uid/gid default 0. */
export function planDevice(d: LinuxDevice, at: string, bind: boolean): PlanDevice {
  return {
    type: deviceType(d, at),
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    mode: d.fileMode === undefined ? 0o666 : d.fileMode & ~S_IFMT,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
    bind: bind ? 1 : 0,
    path: d.path,
  };
}

const isPtmx = (path: string) => posix.normalize(path) === '/dev/ptmx';

/**
 * The device nodes to make in a container whose /dev hako sets up. `bind`: the
 * container cannot mknod (a user namespace), so every node is a bind of the host's.
 */
export function setupDevices(devices: readonly LinuxDevice[], bind: boolean): PlanDevice[] {
  const configured = new Set(devices.map((d) => d.path));
  const defaults = DEFAULT_DEVICES.filter((d) => !configured.has(d.path)).map((d) => ({ ...d, bind: bind ? 1 : 0 }));
  const extra = flatMap(devices, (d, i) => (isPtmx(d.path) ? [] : [planDevice(d, `/linux/devices/${i}`, bind)]));
  return [...defaults, ...extra];
}

/** The links of a set-up /dev, in runc's order. */
export function devSymlinks(hasProcKcore: boolean): PlanSymlink[] {
  const links: PlanSymlink[] = [
    { target: 'pts/ptmx', link: '/dev/ptmx' },
    { target: '/proc/self/fd', link: '/dev/fd' },
    { target: '/proc/self/fd/0', link: '/dev/stdin' },
    { target: '/proc/self/fd/1', link: '/dev/stdout' },
    { target: '/proc/self/fd/2', link: '/dev/stderr' },
  ];
  if (hasProcKcore) links.push({ target: '/proc/kcore', link: '/dev/core' });
  return links;
}
