// Real managers drive dist/hako: podman (through conmon), containerd through ctr and
// through its CRI plugin, and Docker. Each runs privately under a scratch directory
// (daemons, storage, configs), set up and torn down by the shared manager toolkit
// (../shared/tools/managers: setup.sh, and its podman/ctr/cri/docker scripts for the
// common steps), then by this directory's scripts for the steps issue 7 adds (stdin,
// exact exit codes, both error paths, top, exec exit codes, TERM on stop, kill, CPU
// update, Docker's prestart hook, CRI namespace joining), and rootless podman run by a
// user the script makes and removes (podman-rootless.sh).
//
// Everything runs twice in one go: under runc first, as the control, then under hako.
// A step hako fails is a failure unless runc fails it too: then it is an environment
// problem and is reported as skipped with both reasons.
//
// Afterwards nothing may be left: no hako-init process, no state under hako's default
// root (podman passes no --root), no new cgroup directory. The managers' own leftovers
// (containers, daemons, shims, mounts under the scratch directory, the runtime's
// private --root) are the toolkit's "cleanup" steps.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { DEFAULT_ROOT } from '../../src/cli/table.js';
import { allPids, HAKO, hakoSkip } from '../helpers/lifecycle.js';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths.js';
import { resolveRuntime } from '../helpers/runtime.js';

const HERE = path.join(REPO_ROOT, 'test', 'managers');
const TOOLKIT = [process.env.HAKO_MANAGERS_TOOLKIT, path.join(SHARED_DIR, 'tools', 'managers')].find(
  (d): d is string => d !== undefined && existsSync(path.join(d, 'lib.sh')),
);
const MANAGERS = ['podman', 'podman-rootless', 'ctr', 'cri', 'docker'] as const;
const RUNC = resolveRuntime('runc');

function suiteSkip(): string | false {
  if (!TOOLKIT) return 'the shared manager toolkit (../shared/tools/managers) is not here';
  if (process.env.HAKO_SKIP_MANAGERS === '1') return 'HAKO_SKIP_MANAGERS=1';
  if (!RUNC) return 'runc (the control) is not installed';
  return hakoSkip();
}

interface StepResult {
  ok: boolean;
  reason: string;
}
type Steps = Map<string, StepResult>;

/** Runs a toolkit-style script and collects its "ok X" / "not ok X reason" lines. */
function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, steps: Steps): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      for (const line of out.split('\n')) {
        const m = /^(not )?ok (\S+)(?: (.*))?$/.exec(line);
        if (m) steps.set(m[2]!, { ok: m[1] === undefined, reason: m[3] ?? '' });
      }
      if (code !== 0 && ![...steps.values()].some((s) => !s.ok)) {
        steps.set(`${path.basename(script)}-exit`, { ok: false, reason: `exit status ${code}: ${err.trim().slice(-400)}` });
      }
      resolve();
    });
  });
}

/** The whole suite against one runtime: the toolkit's all.sh, then ours, per manager. */
async function runSuite(runtime: string, scratch: string): Promise<Steps> {
  const steps: Steps = new Map();
  const env = { ...process.env, RUNTIME: runtime, MGR_DIR: scratch, MGR_TOOLKIT: TOOLKIT, MGR_STEP_TIMEOUT: '60' };
  await runScript(path.join(TOOLKIT!, 'all.sh'), [scratch], env, steps);
  if (steps.get('setup')?.ok !== true) return steps;
  for (const m of MANAGERS) {
    await runScript(path.join(HERE, `${m}.sh`), [scratch], { ...env, MGR_SKIP_SETUP: '1' }, steps);
  }
  return steps;
}

/** Every directory of every cgroup hierarchy (v1 controllers and cgroup2). */
function cgroupDirs(): Set<string> {
  const roots = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => /^cgroup2?$/.test(f[f.indexOf('-') + 1] ?? ''))
    .map((f) => f[4]!);
  const dirs = new Set<string>();
  const walk = (d: string): void => {
    dirs.add(d);
    let entries: string[] = [];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e);
      try {
        if (statSync(p).isDirectory()) walk(p);
      } catch {
        // removed meanwhile
      }
    }
  };
  for (const r of new Set(roots)) walk(r);
  return dirs;
}

function newEntries(before: Set<string>, after: Set<string>): string[] {
  return [...after].filter((d) => !before.has(d)).sort((a, b) => b.length - a.length);
}

/** Empty cgroup directories the run made (parents of container cgroups, as runc leaves them). */
function removeEmptyCgroups(dirs: string[]): string[] {
  const stuck: string[] = [];
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') stuck.push(`${d} (${(e as NodeJS.ErrnoException).code})`);
    }
  }
  return stuck;
}

function hakoInitPids(): number[] {
  return allPids().filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'hako-init';
    } catch {
      return false;
    }
  });
}

function stateEntries(root: string): Set<string> {
  try {
    return new Set(readdirSync(root).filter((e) => !e.startsWith('.')));
  } catch {
    return new Set();
  }
}

// The whole file, not only its test: tap's per-file limit (package.json, 120 s) is too
// short for five managers run twice each.
t.setTimeout(25 * 60_000);

/**
 * Holds an exclusive flock on `file` (through flock(1), which keeps it until its stdin
 * closes) once it is granted; returns its release. Another run of this suite on the
 * machine (a second checkout's npm test) would share the daemons' scratch paths.
 */
async function holdLock(file: string): Promise<() => void> {
  const holder = spawn('flock', [file, 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.once('exit', (code) => reject(new Error(`flock ${file} exited with ${code}`)));
    holder.stdout!.once('data', () => resolve());
  });
  return () => holder.stdin!.end();
}

t.test('managers drive hako as they drive runc', { skip: suiteSkip() }, async (t) => {
  t.setTimeout(20 * 60_000);
  // Not /tmp/hako-managers.lock: people take that one around npm run test:managers.
  t.teardown(await holdLock('/tmp/hako-managers.suite.lock'));
  // at most 60 characters: the daemons' unix socket paths are built from it
  const scratchOf = (name: string): string => path.join('/tmp', `hako-mgr-${name}`);
  const cgroupsBefore = cgroupDirs();
  const initsBefore = new Set(hakoInitPids());

  const control = await runSuite(RUNC!, scratchOf('runc'));
  const cgroupsAfterControl = cgroupDirs();
  const stateBefore = stateEntries(DEFAULT_ROOT);
  const hako = await runSuite(HAKO, scratchOf('hako'));
  const cgroupsAfter = cgroupDirs();

  t.ok(hako.get('setup')?.ok, `the toolkit set up the managers: ${hako.get('setup')?.reason ?? 'no setup line'}`);
  const names = [...new Set([...control.keys(), ...hako.keys()])];
  for (const name of names) {
    const h = hako.get(name);
    const c = control.get(name);
    if (h?.ok) {
      t.pass(name);
    } else if (c && !c.ok) {
      t.pass(name, { skip: `environment problem, runc fails it too (runc: ${c.reason}; hako: ${h?.reason ?? 'not run'})` });
    } else {
      t.fail(`${name}: ${h ? h.reason : 'not run under hako'}`, { runc: c ? 'ok' : 'not run' });
    }
  }
  t.ok(hako.size >= 100, `a full run under hako (${hako.size} steps)`);

  t.same(hakoInitPids().filter((p) => !initsBefore.has(p)), [], 'no hako-init process left');
  const leftState = [...stateEntries(DEFAULT_ROOT)].filter((e) => !stateBefore.has(e) && /^[0-9a-f]{64}$/.test(e));
  t.same(leftState, [], `no podman container state left in ${DEFAULT_ROOT}`);
  t.same(newEntries(cgroupsAfterControl, cgroupsAfter), [], 'hako left no cgroup directory beyond what runc left');
  t.same(removeEmptyCgroups(newEntries(cgroupsBefore, cgroupsAfter)), [], 'the parents both runtimes left behind are empty and removed');
});
