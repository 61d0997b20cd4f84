// Differential: NOTIFY_SOCKET under runc (Debian's 1.1.5, the reference) and under hako,
// with the same bundle: what the host's socket receives (MAINPID made relative: the init,
// or the runtime itself), the exit codes, the container's view (its NOTIFY_SOCKET, the
// /run/notify mount), what the state dir holds, and the failure cases. Needs root, runc,
// dist/hako, the probe and python3. Containers are deleted (-f) at teardown.
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { parseProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { notifyListener } from '../helpers/notify-listener.js';
import {
  asContainerTests,
  differentialSkip,
  HAKO,
  readIfExists,
  reapIfOurs,
  scratchDir,
  spawnRuntime,
  waitFor,
} from '../helpers/lifecycle.js';

const RUNC = '/usr/bin/runc';
const skip = asContainerTests(differentialSkip());

const NOTIFYING = ['/probe', '--notify-delay', '0.5', '--notify', 'STATUS=starting', '--notify', 'READY=1\nSTATUS=up', '--sleep', 'inf'];

type Mode = 'create+start' | 'run -d' | 'run' | 'socket only at start' | 'unreachable host socket';

function envWith(notifySocket: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  if (notifySocket !== undefined) env.NOTIFY_SOCKET = notifySocket;
  return env;
}

/** One runtime, one mode: everything observable, with per-run values made relative. */
async function observe(t: Test, runtime: string, mode: Mode): Promise<Record<string, unknown>> {
  const id = containerId(runtime === RUNC ? 'dnr' : 'dnh');
  const args = mode === 'run' ? ['/probe', '--notify', 'READY=1', '--exit', '3'] : NOTIFYING;
  const bundle = await makeBundle(t, { args });
  const root = await makeStateRoot(t, runtime);
  const dir = await scratchDir(t, 'dn');
  const listener = await notifyListener(t, dir);
  const host = mode === 'unreachable host socket' ? path.join(dir, 'nobody.sock') : listener.socketPath;
  const pidFile = path.join(dir, 'pid');
  const initOut = path.join(dir, 'init.out');
  const stdio = { stdoutFile: initOut, stderrFile: path.join(dir, 'init.err') };
  const out: Record<string, unknown> = {};
  let pid = 0;
  t.teardown(async () => {
    await runtimeCommand(runtime, root, ['delete', '-f', id]);
    if (pid > 0) await reapIfOurs(pid, 2000);
  });

  let runtimePid = 0;
  if (mode === 'run' || mode === 'run -d') {
    const r = await spawnRuntime(runtime, root, ['run', ...(mode === 'run -d' ? ['-d'] : []), '--bundle', bundle.dir, '--pid-file', pidFile, id], {
      ...stdio,
      env: envWith(host),
      onSpawn: (p) => (runtimePid = p),
    });
    out.run = r.code;
  } else {
    const create = await spawnRuntime(runtime, root, ['create', '--bundle', bundle.dir, '--pid-file', pidFile, id], {
      ...stdio,
      env: envWith(mode === 'socket only at start' ? undefined : host),
    });
    out.create = create.code;
    out.notifyDirAfterCreate = listing(path.join(root, id, 'notify'));
    const start = await spawnRuntime(runtime, root, ['start', id], { env: envWith(host) });
    out.start = start.code;
    out.startError = start.code === 0 ? '' : start.stderr.includes('listen unixgram') ? 'listen unixgram' : start.stderr.includes('dial unixgram') ? 'dial unixgram' : start.stderr;
  }
  pid = Number(readIfExists(pidFile));
  if (mode !== 'run') {
    out.status = (JSON.parse((await runtimeCommand(runtime, root, ['state', id])).stdout) as { status: string }).status;
    out.notifyDir = listing(path.join(root, id, 'notify'));
  }
  if (mode !== 'unreachable host socket' && mode !== 'socket only at start') {
    const got = await listener.waitFor(2);
    out.received = got.map((d) => d.replace(`MAINPID=${pid}\n`, 'MAINPID=<init>\n').replace(`MAINPID=${runtimePid}\n`, 'MAINPID=<runtime>\n'));
  }
  if (mode !== 'socket only at start' && mode !== 'run') {
    const report = parseProbeReport(await waitFor('init report', () => (readIfExists(initOut).endsWith('\n') ? readIfExists(initOut) : false)));
    out.env = report.env.filter((e) => e.startsWith('NOTIFY_SOCKET='));
    out.mounts = report.mounts
      ?.filter((m) => m.mount_point.startsWith('/run/notify'))
      .map((m) => ({ at: m.mount_point, from: m.root.replace(path.join(root, id), '<state dir>'), options: [...m.options].sort(), propagation: m.propagation }));
  }
  await runtimeCommand(runtime, root, ['delete', '-f', id]);
  if (pid > 0) await reapIfOurs(pid, 2000);
  out.received ??= listener.received;
  return out;
}

/** name -> mode of the entries of dir, or null when it does not exist. */
function listing(dir: string): Record<string, string> | null {
  try {
    return Object.fromEntries(readdirSync(dir).map((e) => [e, (statSync(path.join(dir, e)).mode & 0o7777).toString(8)]));
  } catch {
    return null;
  }
}

const MODES: Mode[] = ['create+start', 'run -d', 'run', 'socket only at start', 'unreachable host socket'];

for (const mode of MODES) {
  t.test(`${mode}: hako does what runc 1.1.5 does`, { skip }, async (t) => {
    const runc = await observe(t, RUNC, mode);
    const hako = await observe(t, HAKO, mode);
    t.same(hako, runc, 'same observations');
    t.comment(JSON.stringify(runc));
  });
}
