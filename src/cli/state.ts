// hako state <id>: the OCI state, 2-space indented, no trailing newline (as runc).
import { writeStdout } from '../output.js';
import { containerDir, readContainer, type ContainerRecord } from '../container/state-store.js';
import { liveStatus, type Status } from '../container/status.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): void {
  const id = ctx.args[0]!;
  const rec = readContainer(ctx.root, id);
  const status = liveStatus(rec, containerDir(ctx.root, id));
  writeStdout(JSON.stringify(stateJson(rec, status), null, 2));
}

export function stateJson(rec: ContainerRecord, status: Status, owner = ''): Record<string, unknown> {
  return {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    ...(rec.annotations && Object.keys(rec.annotations).length > 0 ? { annotations: rec.annotations } : {}),
    owner,
  };
}
