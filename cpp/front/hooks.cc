// poststart and poststop hooks, run by the front with the rules of src/container/hooks.ts
// (and hako-init's): path execve'd with argv = args (none: [path]); the environment is
// exactly env; stdin the state JSON; stdout and stderr captured; timeout: SIGKILL and
// "hook ran past specified timeout of 1.0s"; the first failure stops the rest.
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "front/front.h"

namespace hako::front {
namespace {

// Go's signal strings (syscall.Signal.String()) for "signal: killed".
std::string signal_text(int sig) {
  switch (sig) {
    case SIGKILL: return "killed";
    case SIGTERM: return "terminated";
    case SIGINT: return "interrupt";
    case SIGHUP: return "hangup";
    case SIGQUIT: return "quit";
    case SIGABRT: return "aborted";
    case SIGSEGV: return "segmentation fault";
    case SIGPIPE: return "broken pipe";
    case SIGBUS: return "bus error";
    case SIGUSR1: return "user defined signal 1";
    case SIGUSR2: return "user defined signal 2";
    case SIGALRM: return "alarm clock";
    default: {
      const char* name = sigabbrev_np(sig);
      return name ? std::string("SIG") + name : std::to_string(sig);
    }
  }
}

// One hook; the error text without the "error running <name> hook #i: " prefix, or "".
std::string run_hook(const Hook& hook, const std::string& state) {
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<std::string> env;
  for (auto& e : hook.env) {
    if (e.find('=') != std::string::npos && e[0] != '=') env.push_back(e);
  }
  int64_t timeout_ms = hook.has_timeout && hook.timeout > 0 ? static_cast<int64_t>(hook.timeout * 1000) : 0;
  Captured c;
  try {
    c = run_captured(hook.path, std::move(args), &env, state, timeout_ms);
  } catch (const Failure& f) {
    return f.message;
  }
  if (c.exec_errno != 0) return "fork/exec " + hook.path + ": " + errno_text(c.exec_errno);
  if (c.timed_out) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.1f", hook.timeout);
    return std::string("hook ran past specified timeout of ") + buf + "s";
  }
  if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) return "";
  std::string how = WIFSIGNALED(c.status) ? "signal: " + signal_text(WTERMSIG(c.status)) : "exit status " + std::to_string(WEXITSTATUS(c.status));
  return how + ", stdout: " + c.out + ", stderr: " + c.err;
}

}  // namespace

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

void run_hooks(const char* name, const std::vector<Hook>& hooks, const std::string& state) {
  // A hook that does not read its stdin must not end us with SIGPIPE (the brain may run
  // with the default action: see src/container/hooks.ts); EPIPE is no failure.
  struct sigaction ignore {}, saved {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &saved);
  struct Restore {
    struct sigaction* saved;
    ~Restore() { sigaction(SIGPIPE, saved, nullptr); }
  } restore{&saved};
  for (size_t i = 0; i < hooks.size(); i++) {
    std::string failure = run_hook(hooks[i], state);
    if (!failure.empty()) throw Failure{std::string("error running ") + name + " hook #" + std::to_string(i) + ": " + failure};
  }
}

}  // namespace hako::front
