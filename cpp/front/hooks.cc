// poststart and poststop hooks, run by the front with the runner hako-init and the brain
// share (cpp/common/run_captured.cc): runc's rules for one hook, and the runtime spec's
// for these two points: a failure is logged as a warning and the remaining hooks run.
#include <sys/wait.h>

#include "common/run_captured.h"
#include "front/front.h"

namespace hako::front {

std::string hook_state(const Record& rec, const char* status, int64_t pid) {
  std::string s = "{\"ociVersion\":" + json_quote(rec.oci_version) + ",\"id\":" + json_quote(rec.id) + ",\"status\":" + json_quote(status);
  if (pid >= 0) s += ",\"pid\":" + std::to_string(pid);
  s += ",\"bundle\":" + json_quote(rec.bundle);
  if (!rec.annotations.empty()) {
    s += ",\"annotations\":{";
    bool first = true;
    for (auto& [k, v] : rec.annotations) {
      s += (first ? "" : ",") + json_quote(k) + ":" + json_quote(v);
      first = false;
    }
    s += "}";
  }
  return s + "}";
}

void run_hooks_logged(const char* name, const std::vector<Hook>& hooks, const std::string& state, const Logger& log) {
  IgnoreSigpipe ignore;
  for (size_t i = 0; i < hooks.size(); i++) {
    const Hook& h = hooks[i];
    if (log.debug_on) {
      std::string line = "running ";
      line += name;
      line += " hook #";
      line += std::to_string(i);
      line += ": ";
      line += h.path;
      log.debug(line);
    }
    double timeout = h.has_timeout ? h.timeout : 0;
    if (auto failure = run_hook(h.path, h.args, h.env, timeout, nullptr, state)) log.warn(hook_failure(i, *failure));
  }
}

}  // namespace hako::front
