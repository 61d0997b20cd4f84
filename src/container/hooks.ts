// OCI hooks run by hako itself (the runtime's namespaces): prestart and createRuntime at
// the init's RUN_HOOKS point (here); poststart in `start` and poststop after destroy are
// run by the front's verbs (cpp/front/hooks.cc), with the same rules. The hooks the
// init runs (createContainer, startContainer) travel in the launch plan (hookPlan) and
// are carried out by hako-init (cpp/init/hooks.cc) with the same rules:
//   - path is execve'd with argv = args (args[0] is argv[0]; no args: argv = [path]);
//   - the environment is exactly env, nothing inherited;
//   - stdin is the state JSON (compact, one object), stdout and stderr are captured;
//   - timeout (seconds): SIGKILL, "hook ran past specified timeout of 1.0s";
//   - hooks of one kind run in order and the first failure stops the rest:
//     "error running <name> hook #<i>: exit status 3, stdout: ..., stderr: ...".
import { spawnSync } from 'node:child_process';
import { HakoError } from '../errors.js';
import { OCI_VERSION } from '../oci/default-spec.js';
import type { ContainerStatus, Hook, HookName, Spec, State } from '../oci/types.js';
import { PlanHookKind, type PlanHook, type PlanHookState } from '../plan/launch-plan.js';
import { errnoText } from './sync.js';

/** Every hook point hako carries out, in the spec's order (features lists these). */
export const HOOK_NAMES: readonly HookName[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** The state a hook reads on stdin; no pid key when pid is undefined (poststop). */
export function hookState(id: string, bundle: string, spec: Spec | undefined, status: ContainerStatus, pid?: number): State {
  return {
    ociVersion: OCI_VERSION,
    id,
    status,
    ...(pid !== undefined ? { pid } : {}),
    bundle,
    ...(spec?.annotations && Object.keys(spec.annotations).length > 0 ? { annotations: spec.annotations } : {}),
  };
}

/** Go's ExitError text: "exit status 3" or "signal: killed". */
function exitText(status: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal: ${SIGNAL_TEXT[signal] ?? signal}`;
  return `exit status ${status ?? -1}`;
}

// Go's signal strings for the usual suspects (syscall.Signal.String()).
const SIGNAL_TEXT: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGPIPE: 'broken pipe',
  SIGBUS: 'bus error',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
  SIGALRM: 'alarm clock',
};

/** env entries as the object spawn takes: exactly those (an entry without "=" cannot be passed). */
function envObject(env: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

/** Runs one hook; the error text without the "error running <name> hook #i: " prefix, or undefined. */
export function runHook(hook: Hook, state: State, cwd: string): string | undefined {
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const timeoutMs = hook.timeout !== undefined && hook.timeout > 0 ? hook.timeout * 1000 : undefined;
  const r = spawnSync(hook.path, args.slice(1), {
    argv0: args[0],
    env: envObject(hook.env),
    cwd,
    input: JSON.stringify(state),
    maxBuffer: 64 << 20,
    killSignal: 'SIGKILL',
    // With a timeout, a process group of its own (setsid): what the hook started is
    // killed with it when it runs past its time, rather than left to the subreaper.
    ...(timeoutMs !== undefined ? { timeout: timeoutMs, detached: true } : {}),
    windowsHide: true,
  });
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ETIMEDOUT' && timeoutMs !== undefined) {
    try {
      if (r.pid > 0) process.kill(-r.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
    return `hook ran past specified timeout of ${hook.timeout!.toFixed(1)}s`;
  }
  // The process never ran: Go's cmd.Start error, "fork/exec /x: no such file or directory".
  if (err && r.pid === 0) return `fork/exec ${hook.path}: ${errnoName(err)}`;
  if (err && err.code !== 'EPIPE') return `${err.message}`;
  if (r.status === 0 && !r.signal) return undefined;
  return `${exitText(r.status, r.signal)}, stdout: ${r.stdout?.toString() ?? ''}, stderr: ${r.stderr?.toString() ?? ''}`;
}

function errnoName(err: NodeJS.ErrnoException): string {
  if (typeof err.errno === 'number') return errnoText(Math.abs(err.errno));
  return err.code ?? err.message;
}

/**
 * Runs the hooks of one kind in order; the first failure stops the rest and is thrown as
 * "error running <name> hook #<i>: <why>".
 */
export function runHooks(name: HookName, hooks: Hook[] | undefined, state: State, cwd = process.cwd()): void {
  if (!hooks || hooks.length === 0) return;
  ignoreSigpipe();
  hooks.forEach((hook, i) => {
    const failure = runHook(hook, state, cwd);
    if (failure !== undefined) throw new HakoError(`error running ${name} hook #${i}: ${failure}`);
  });
}

// A hook that does not read its stdin must not end hako with SIGPIPE. Node ignores it at
// start-up, but removing the last listener (foreground run's signal forwarding) restores
// the default action; a listener that stays (and is never removed) keeps it harmless.
let sigpipeIgnored = false;
function ignoreSigpipe(): void {
  if (sigpipeIgnored) return;
  sigpipeIgnored = true;
  process.on('SIGPIPE', () => undefined);
}

/**
 * The hooks hako-init runs, for the launch plan: createContainer then startContainer
 * records in order, and for each kind present its state JSON cut around the pid, which
 * the init fills in (getpid(): 1 in a pid namespace of its own).
 */
export function hookPlan(spec: Spec, id: string, bundle: string): { hooks: PlanHook[]; hookStates: PlanHookState[] } {
  const hooks: PlanHook[] = [];
  const hookStates: PlanHookState[] = [];
  const kinds: Array<[HookName, number, ContainerStatus]> = [
    ['createContainer', PlanHookKind.CREATE_CONTAINER, 'creating'],
    ['startContainer', PlanHookKind.START_CONTAINER, 'created'],
  ];
  for (const [name, kind, status] of kinds) {
    const list = spec.hooks?.[name] ?? [];
    if (list.length === 0) continue;
    for (const h of list) {
      hooks.push({
        kind,
        timeout: h.timeout !== undefined && h.timeout > 0 ? h.timeout : 0,
        hasEnv: h.env !== undefined ? 1 : 0,
        path: h.path,
        args: [...(h.args ?? [])],
        env: [...(h.env ?? [])],
      });
    }
    // The pid goes between head and tail: JSON.stringify keeps key order, so the marker
    // value splits the object exactly where the number belongs.
    const text = JSON.stringify(hookState(id, bundle, spec, status, 0x7fffffff));
    const at = text.indexOf('"pid":2147483647');
    hookStates.push({ kind, head: text.slice(0, at + 6), tail: text.slice(at + 16) });
  }
  return { hooks, hookStates };
}
