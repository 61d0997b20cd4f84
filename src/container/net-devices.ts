// linux.netDevices at create: each named host interface moves into the container's network
// namespace (src/plan/net-devices.ts says how), when the init is in it and before the
// prestart and createRuntime hooks run, as runc does (before the hooks, so that they see
// the devices). A create that fails moves every device it moved back, under its host name,
// with its addresses, up if it was up: nothing is left in a namespace about to die (where
// the kernel would destroy a virtual device and hand a physical one to the initial
// namespace, whichever namespace hako runs in).
//
// delete does not move them back: the runtime-spec says the runtime MUST NOT, and runc
// does not. A device stays with the network namespace; when that namespace goes away the
// kernel moves a physical device to the initial namespace and destroys a virtual one.
import { closeSync, statSync } from 'node:fs';
import { HakoError } from '../errors.js';
import { native } from '../native.js';
import type { Spec } from '../oci/types.js';
import { addressesToKeep, addressesToRestore, isNameTemplate, matchesTemplate, planNetDevices, type AddressToAdd, type NetDeviceMove } from '../plan/net-devices.js';
import { errnoText } from './sync.js';

const HOST_NS = '/proc/self/ns/net';
// Linux's errno values (the same on every architecture hako builds for); node:os's table
// costs a create 0.2 ms to load in the brain's engine.
const ENODEV = 19;
const EEXIST = 17;

interface Moved {
  move: NetDeviceMove;
  /** its index in the container's namespace (the host's, unless that one was taken there) */
  index: number;
  /** what it had on the host, should it go back */
  hostAddresses: AddressToAdd[];
  wasUp: boolean;
}

interface LinkError extends Error {
  code?: string;
  errno?: number;
  extack?: string;
}

/** The network devices of one create; undefined when the config moves none. */
export function netDevicesFor(spec: Spec, debug?: (msg: string) => void): NetDevices | undefined {
  const moves = planNetDevices(spec);
  return moves.length > 0 ? new NetDevices(moves, debug) : undefined;
}

export class NetDevices {
  private host = -1;
  /** a socket in the container's namespace: it also keeps that namespace alive until close() */
  private inside = -1;
  private moved: Moved[] = [];

  constructor(
    private readonly moves: NetDeviceMove[],
    private readonly debug?: (msg: string) => void,
  ) {}

  /**
   * Moves every device into the network namespace of process initPid. Checks first what it
   * can (each interface exists on the host, no name is taken inside), then moves them in
   * order; a failure moves back those already moved before it throws.
   */
  moveInto(initPid: number): void {
    if ((process.geteuid?.() ?? 0) !== 0) {
      throw failure('/linux/netDevices', 'network devices are not supported for rootless containers');
    }
    const nsPath = `/proc/${initPid}/ns/net`;
    if (sameFile(nsPath, HOST_NS)) {
      throw failure('/linux/netDevices', `the container's network namespace (${nsPath}) is hako's own: there is nowhere to move the devices to`);
    }
    const nl = native();
    try {
      this.host = nl.rtnlOpen();
      this.inside = nl.rtnlOpen(nsPath);
    } catch (err) {
      this.close();
      throw failure('/linux/netDevices', `open a netlink socket in the container's network namespace (${nsPath}): ${describe(err as LinkError)}`, (err as LinkError).code);
    }
    try {
      const links = this.moves.map((m) => {
        const link = nl.rtnlLink(this.host, m.hostName);
        if (!link) throw failure(m.pointer, `no network interface ${JSON.stringify(m.hostName)} on the host: ${errnoText(ENODEV)}`, 'ENODEV');
        return link;
      });
      for (const m of this.moves) {
        if (isNameTemplate(m.name) || !nl.rtnlLink(this.inside, m.name)) continue;
        throw failure(m.namePointer, `the container's network namespace has an interface named ${JSON.stringify(m.name)} already: ${errnoText(EEXIST)}`, 'EEXIST');
      }
      this.moves.forEach((m, i) => this.moveOne(m, links[i]!, nsPath));
    } catch (err) {
      throw this.afterFailure(err);
    }
  }

  /**
   * After a failed create: every device moved goes back to hako's network namespace. Returns
   * what could not be done (empty when all went back). Works after the init is gone: the
   * socket inside holds its namespace.
   */
  moveBack(): string[] {
    const left: string[] = [];
    const nl = native();
    for (const d of this.moved.reverse()) {
      try {
        try {
          nl.rtnlSetUp(this.inside, d.index, false);
        } catch {
          // moving it is what matters
        }
        nl.rtnlMove(this.inside, d.index, HOST_NS, d.move.hostName);
        const back = nl.rtnlLink(this.host, d.move.hostName);
        if (!back) throw new Error(`not found on the host after the move`);
        for (const a of d.hostAddresses) nl.rtnlAddAddress(this.host, back.index, a);
        if (d.wasUp) nl.rtnlSetUp(this.host, back.index, true);
        this.debug?.(`network device ${d.move.hostName} moved back to the host`);
      } catch (err) {
        left.push(`${d.move.pointer}: moving ${JSON.stringify(d.move.hostName)} back to the host: ${describe(err as LinkError)}`);
      }
    }
    this.moved = [];
    return left;
  }

  /** Closes the sockets (after a create that succeeded: the devices stay where they are). */
  close(): void {
    for (const fd of [this.host, this.inside]) if (fd >= 0) closeSync(fd);
    this.host = this.inside = -1;
  }

  /** A failed create: move the devices back; the error to report, with a note of any device that stayed. */
  afterFailure(err: unknown): unknown {
    const left = this.moveBack();
    this.close();
    return left.length > 0 ? withNote(err, left) : err;
  }

  private moveOne(m: NetDeviceMove, link: { index: number; up: boolean }, nsPath: string): void {
    const nl = native();
    const onHost = nl.rtnlAddresses(this.host, link.index);
    const addresses = addressesToKeep(onHost);
    const hostAddresses = addressesToRestore(onHost);
    this.debug?.(`moving network device ${m.hostName} to network namespace ${nsPath} as ${m.name}, with ${addresses.length} address(es)`);
    // Down first, as runc: nothing on the host uses it in between.
    if (link.up) this.step(m, 'set it down', () => nl.rtnlSetUp(this.host, link.index, false));
    try {
      nl.rtnlMove(this.host, link.index, nsPath, m.name);
    } catch (err) {
      // The kernel moves, then renames: a rename refused inside leaves it moved, under its host name.
      const inside = nl.rtnlLink(this.host, link.index) ? null : this.findInside(link.index, [m.hostName]);
      if (inside) this.moved.push({ move: m, index: inside.index, hostAddresses, wasUp: link.up });
      else if (link.up) nl.rtnlSetUp(this.host, link.index, true);
      throw failure(
        (err as LinkError).code === 'EEXIST' ? m.namePointer : m.pointer,
        `move ${JSON.stringify(m.hostName)} into the container's network namespace (${nsPath}) as ${JSON.stringify(m.name)}: ${describe(err as LinkError)}`,
        (err as LinkError).code,
      );
    }
    const inside = this.findInside(link.index, [m.name]);
    if (!inside) throw failure(m.pointer, `${JSON.stringify(m.hostName)} was moved into ${nsPath} but is not found there as ${JSON.stringify(m.name)}`);
    this.moved.push({ move: m, index: inside.index, hostAddresses, wasUp: link.up });
    for (const a of addresses) this.step(m, `add address ${a.address}/${a.prefixlen}`, () => nl.rtnlAddAddress(this.inside, inside.index, a));
    this.step(m, `set ${JSON.stringify(inside.name)} up`, () => nl.rtnlSetUp(this.inside, inside.index, true));
  }

  /** The device in the container's namespace: by its index if it kept it, else by name. */
  private findInside(index: number, names: string[]): { index: number; name: string } | null {
    const nl = native();
    const byIndex = nl.rtnlLink(this.inside, index);
    if (byIndex && names.some((n) => (isNameTemplate(n) ? matchesTemplate(n, byIndex.name) : n === byIndex.name))) return byIndex;
    for (const n of names) {
      const byName = isNameTemplate(n) ? null : nl.rtnlLink(this.inside, n);
      if (byName) return byName;
    }
    return null;
  }

  private step(m: NetDeviceMove, what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      throw failure(m.pointer, `${JSON.stringify(m.hostName)}: ${what}: ${describe(err as LinkError)}`, (err as LinkError).code);
    }
  }
}

function failure(at: string, message: string, errno?: string): HakoError {
  return new HakoError(`unable to start container process: error creating network interfaces: ${at}: ${message}`, {
    pointer: at,
    ...(errno ? { errno } : {}),
  });
}

/** "file exists", with the kernel's own words when it gave any: "file exists (Invalid name)". */
function describe(err: LinkError): string {
  if (typeof err.errno !== 'number') return err.message;
  const text = errnoText(err.errno);
  return err.extack ? `${text} (${err.extack})` : text;
}

function withNote(err: unknown, left: string[]): unknown {
  if (!(err instanceof HakoError)) return err;
  return new HakoError(`${err.message}; and a device could not be moved back: ${left.join('; ')}`, err.where, err.exitCode);
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}
