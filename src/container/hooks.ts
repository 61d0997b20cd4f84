// OCI hooks run by hako itself (the runtime's namespaces): prestart and createRuntime at
// the init's RUN_HOOKS point (here); poststart in `start` and poststop after destroy are
// run by the front's verbs (cpp/front/hooks.cc), with the same rules. The hooks the
// init runs (createContainer, startContainer) travel in the launch plan (hookPlan) and
// are carried out by hako-init (cpp/init/hooks.cc) with the same rules:
//   - path is execve'd with argv = args (args[0] is argv[0]; no args: argv = [path]);
//   - the environment is exactly env, nothing inherited;
//   - stdin is the state JSON (compact, one object), stdout and stderr are captured;
//   - timeout (seconds): SIGKILL, "hook ran past specified timeout of 1.0s";
//   - hooks of one kind run in order; at create and in the init the first failure stops
//     the rest, "error running hook #<i>: error running hook: exit status 3, stdout: ...,
//     stderr: ..." (runc 1.1.5's words); a poststart or poststop failure is a warning and
//     the rest run (the runtime spec).
// One runner does it all: cpp/common/run_captured.cc, linked into the front, the addon
// (runHook, here) and hako-init.
import { HakoError } from '../errors.js';
import { OCI_VERSION } from '../oci/default-spec.js';
import type { ContainerStatus, Hook, HookName, Spec, State } from '../oci/types.js';
import { PlanHookKind, type PlanHook, type PlanHookState } from '../plan/launch-plan.js';
import { native } from '../native.js';

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

/**
 * Runs one hook with the runner the front and hako-init use (cpp/common/run_captured.cc,
 * through the addon); its failure in runc's words (after "error running hook #i: "), or
 * undefined.
 */
export function runHook(hook: Hook, state: State, cwd: string): string | undefined {
  return native().runHook(hook.path, hook.args ?? [], hook.env ?? [], hook.timeout ?? 0, cwd, JSON.stringify(state));
}

/**
 * Runs the hooks of one kind (prestart, createRuntime) in order; the first failure stops
 * the rest and is thrown in runc's words, "error running hook #<i>: <why>".
 */
export function runHooks(hooks: Hook[] | undefined, state: State, cwd = process.cwd(), debug?: (msg: string) => void, name = 'a'): void {
  if (!hooks || hooks.length === 0) return;
  hooks.forEach((hook, i) => {
    debug?.(`running ${name} hook #${i}: ${hook.path}`);
    const failure = runHook(hook, state, cwd);
    if (failure !== undefined) throw new HakoError(`error running hook #${i}: ${failure}`);
  });
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
