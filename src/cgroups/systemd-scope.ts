// The systemd driver's side effects: a new container's scope unit (started over D-Bus with
// the container's first process in it), its cgroup directories, and the unit's properties
// on update. Loaded by create and update only with --systemd-cgroup or a record that has a
// unit, so a create without it neither loads this module nor libsystemd.
import { HakoError } from '../errors.js';
import { native, type UnitProperty } from '../native.js';
import type { LinuxResources, Spec } from '../oci/types.js';
import type { ContainerCgroup, HostCgroupTexts } from './manager.js';
import { runsInUserNamespace } from '../container/rootless.js';
import { annotationProperties } from './systemd-annotations.js';
import { V1Cgroup } from './v1.js';
import { V2Cgroup } from './v2.js';
import { cgroupLayout, layoutPaths, procCgroupFor, type CgroupDriver } from './paths.js';
import {
  parseSystemdCgroupsPath,
  readPid1Cgroup,
  resourceProperties,
  sliceOf,
  startProperties,
  systemdRunning,
  unitCgroupPath,
  unitName,
  type SystemdRecord,
} from './systemd.js';

export interface SystemdScope {
  record: SystemdRecord;
  /** the container's name in cgroupsPath (the unit's Description) */
  name: string;
  driver: CgroupDriver;
  /** the org.systemd.property.* annotations' properties (the new unit's, after runc's own) */
  extra: UnitProperty[];
}

/**
 * The cgroup of a container about to be created with the systemd driver: its unit and
 * the unit's directories in every hierarchy (made by systemd, and by hako for the
 * hierarchies systemd leaves alone). runc's errors for a malformed cgroupsPath, a host
 * without systemd and a slice name systemd would not take.
 */
export function systemdContainerCgroup(spec: Spec, id: string, host: HostCgroupTexts, rootless = false): ContainerCgroup & { systemd: SystemdScope } {
  // runc reads the annotations first, then cgroupsPath, then looks for systemd.
  const extra = annotationProperties(spec.annotations);
  const path = parseSystemdCgroupsPath(spec.linux?.cgroupsPath, id);
  if (!systemdRunning()) throw new HakoError('systemd not running on this host, cannot use systemd cgroups manager');
  const slice = sliceOf(path);
  const unit = unitName(path);
  const layout = cgroupLayout(host.mountinfo, host.procCgroup, unitCgroupPath(readPid1Cgroup(), slice, unit));
  // As runc: root in a user namespace with --rootless auto (which `rootless` cannot tell from
  // --rootless true there) is taken as root, with the manager it can reach (runc asks the
  // user bus whose it is, and takes root when it cannot tell).
  if (rootless && (process.geteuid?.() !== 0 || !runsInUserNamespace())) checkRootlessSystemd(layout.driver);
  const paths = layoutPaths(layout);
  return {
    cgroup: layout.driver === 'v2' ? new V2Cgroup(paths) : new V1Cgroup(paths),
    procCgroup: procCgroupFor(host.procCgroup, layout),
    skipped: {},
    hostDriver: layout.driver,
    systemd: { record: { unit, slice, cgroup: (paths['name=systemd'] ?? paths[''])! }, name: path.name, driver: layout.driver, extra },
  };
}

/**
 * A rootless container with the systemd driver would need the user's own manager
 * (systemdUser). runc 1.1.5 refuses it on a v1 or hybrid host, in these words; on a
 * unified host hako does not do it yet (features says systemdUser: false), and says so
 * rather than ask the system manager.
 */
export function checkRootlessSystemd(driver: CgroupDriver): void {
  if (driver !== 'v2') throw new HakoError('cannot use rootless systemd cgroups manager on cgroup v1');
  throw new HakoError('rootless containers with the systemd cgroup driver (a user manager, systemdUser) are not supported yet; use the cgroupfs driver (no --systemd-cgroup)');
}

/**
 * Starts the container's scope with `pid` (hako-init's first stage, which has forked
 * nothing yet) in it and waits for systemd's job; then makes the unit's directories in the
 * hierarchies systemd did not (returned, outermost first, for a failed create to remove).
 * A unit of that name already there is refused (runc 1.2's words: the container's cgroup
 * is not empty) and left alone.
 */
export function startScope(cg: ContainerCgroup & { systemd: SystemdScope }, pid: number, resources: LinuxResources): { made: string[]; started: boolean } {
  const sd = cg.systemd;
  const props = startProperties(sd.record.unit, sd.record.slice, sd.name, pid, resources, sd.driver, sd.extra);
  let result: 'started' | 'exists';
  try {
    result = native().systemdStartUnit(sd.record.unit, props);
  } catch (err) {
    throw new HakoError(`unable to start container process: unable to apply cgroup configuration: ${(err as Error).message}`);
  }
  if (result === 'exists') {
    throw new HakoError(`unable to start container process: container's cgroup is not empty: systemd unit ${sd.record.unit} already exists`);
  }
  try {
    return { made: cg.cgroup.create(), started: true };
  } catch (err) {
    stopScopeQuietly(sd.record.unit);
    throw err;
  }
}

/** After a failed create: the unit it started is stopped (its processes are dead by then). */
export function stopScopeQuietly(unit: string): void {
  try {
    native().systemdStopUnit(unit);
  } catch {
    // the create's own error is the one to report; delete -f finds nothing to stop later
  }
}

/**
 * update: the new resources as the unit's properties (runtime), before they are written
 * to the cgroup files. The device rules only when the update has some, as for the files.
 */
export function updateScopeProperties(rec: SystemdRecord, driver: CgroupDriver, resources: LinuxResources): void {
  const props = resourceProperties(resources, driver).filter(
    ([name]) => resources.devices !== undefined || (name !== 'DevicePolicy' && name !== 'DeviceAllow'),
  );
  if (props.length === 0) return;
  try {
    native().systemdSetUnitProperties(rec.unit, props);
  } catch (err) {
    throw new HakoError(`unable to set unit properties: ${(err as Error).message}`);
  }
}
