// Records written before the front (version 1: the TypeScript verbs read config.json and
// decided at each call) are upgraded in place to version 2 the first time a verb meets
// one, so containers created by an older hako can still be started, killed, paused and
// deleted after an upgrade. The front hands such a record to the brain (cpp/front/record.cc
// Handover); the brain upgrades it under the container's lock and runs the verb again.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { openCgroup } from '../cgroups/manager.js';
import { recordCgroup, recordHooks } from './create.js';
import { notifySocketPath } from './notify-socket.js';
import {
  RECORD_VERSION,
  containerDir,
  lockContainerDir,
  readContainer,
  writeContainer,
  type ContainerRecord,
} from './state-store.js';

/** The version 2 record of a version 1 one: what the front needs, decided as create decides it now. */
export function upgradedRecord(old: ContainerRecord, stateDir: string): ContainerRecord {
  const spec = old.config ?? { ociVersion: old.ociVersion };
  const namespaces = spec.linux?.namespaces ?? [];
  return {
    ...old,
    version: RECORD_VERSION,
    ...(old.cgroup ? { cgroup: recordCgroup(openCgroup(old.cgroup)) } : {}),
    ownPidNamespace: namespaces.some((ns) => ns.type === 'pid' && !ns.path),
    ...recordHooks(spec),
    // A version 1 create made the notify directory only when NOTIFY_SOCKET was set.
    ...(existsSync(dirname(notifySocketPath(stateDir))) ? { notifySocket: notifySocketPath(stateDir) } : {}),
  };
}

/** Upgrades each named container's record if it is of version 1; true if any was. */
export function upgradeVersion1Records(root: string, ids: readonly string[]): boolean {
  let upgraded = false;
  for (const id of ids) {
    if (!isVersion1(root, id)) continue;
    const unlock = lockContainerDir(root, id);
    try {
      const rec = readContainer(root, id);
      if (rec.version !== 1) continue;
      writeContainer(root, upgradedRecord(rec, containerDir(root, id)));
      upgraded = true;
    } finally {
      unlock();
    }
  }
  return upgraded;
}

function isVersion1(root: string, id: string): boolean {
  try {
    return readContainer(root, id).version === 1;
  } catch {
    return false; // the verb's own reading reports what is wrong with it
  }
}
