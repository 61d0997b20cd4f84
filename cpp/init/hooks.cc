#include "init/hooks.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "common/run_captured.h"
#include "init/process.h"

namespace hako {

Result run_hooks(const Plan& plan, HookKind kind, const char* cwd) {
  std::string state;
  bool any = false;
  for (const Hook& h : plan.hooks) any = any || h.kind == kind;
  if (!any) return std::nullopt;
  for (const HookState& s : plan.hook_states) {
    if (s.kind == kind) state = s.head + std::to_string(::getpid()) + s.tail;
  }
  IgnoreSigpipe ignore;
  Result result;
  // runc: a startContainer hook without env runs with the init's, the process's (HOME included).
  const std::vector<std::string> inherited = kind == HOOK_START_CONTAINER ? process_env(plan) : std::vector<std::string>{};
  int i = 0;
  for (const Hook& h : plan.hooks) {
    if (h.kind != kind) continue;
    const std::vector<std::string>& env = kind == HOOK_START_CONTAINER && h.has_env == 0 ? inherited : h.env;
    if (auto failure = run_hook(h.path, h.args, env, h.timeout, cwd, state)) {
      // runc 1.1.5 words a failure before the init is ready "error during container init: ...".
      const char* during = kind == HOOK_CREATE_CONTAINER ? "error during container init: " : "";
      result = step_error(0, "hook", during + hook_failure(i, *failure));
      break;
    }
    i++;
  }
  return result;
}

}  // namespace hako
