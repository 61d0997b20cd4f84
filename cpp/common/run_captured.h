// One runner for helper programs and OCI hooks, linked by the front (poststart, poststop,
// the host's ps), the addon (the same verbs, and prestart/createRuntime for the brain) and
// hako-init (createContainer, startContainer). No exceptions (hako-init has none).
//
// A hook, as runc 1.1.5 runs it: path execve'd with argv = args (none: [path]); the
// environment exactly env; stdin the state JSON; stdout and stderr captured; timeout:
// SIGKILL. Its failure, after "error running hook #<i>: ", in runc's words:
//   error running hook: exit status 3, stdout: out, stderr: err
//   error running hook: signal: bad system call, stdout: , stderr:
//   fork/exec /x: no such file or directory
//   hook ran past specified timeout of 1.0s
#pragma once

#include <signal.h>
#include <stdint.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hako {

struct Captured {
  /** a pipe or the spawn itself failed before anything ran: the call and its errno */
  const char* setup_call = nullptr;
  int setup_errno = 0;
  /** the exec's errno when the program could not be run (then nothing else is set) */
  int exec_errno = 0;
  /** waitpid's status */
  int status = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct CaptureOptions {
  /** exactly this environment; null: the caller's, and path looked up in $PATH */
  const std::vector<std::string>* env = nullptr;
  /** the child's working directory; null: the caller's */
  const char* cwd = nullptr;
  /** fed to stdin (closed at once when empty); EPIPE is no failure */
  std::string_view input;
  /** > 0: SIGKILL once it has passed (then timed_out) */
  int64_t timeout_ms = 0;
};

/**
 * Runs path with args (argv[0] included) through posix_spawn: stdio the three pipes,
 * every other fd closed, every signal at its default action and unblocked. Waits for
 * the exit (and the outputs' end), or for the timeout.
 */
Captured run_captured(const std::string& path, const std::vector<std::string>& args, const CaptureOptions& opts);

/** Go's syscall.Signal.String() on Linux: "killed", "bad system call", "signal 40". */
std::string go_signal_text(int sig);
/** Go's os.ProcessState.String(): "exit status 3", "signal: killed", "signal: aborted (core dumped)". */
std::string go_wait_text(int status);
/** Go's syscall.Errno.Error(): strerror's text with its first letter lowered. */
std::string go_errno_text(int err);

/**
 * One hook: nullopt when it succeeded, else its failure in runc's words (the text after
 * "error running hook #<i>: "). timeout_s <= 0: none. SIGPIPE must be ignored by the caller
 * (see IgnoreSigpipe).
 */
std::optional<std::string> run_hook(const std::string& path, const std::vector<std::string>& args, const std::vector<std::string>& env,
                                    double timeout_s, const char* cwd, std::string_view state);

/** runc's prefix: "error running hook #<index>: <why>". */
std::string hook_failure(size_t index, const std::string& why);

/** SIGPIPE ignored while it lives (a hook that does not read its stdin must not end us). */
class IgnoreSigpipe {
 public:
  IgnoreSigpipe();
  ~IgnoreSigpipe();
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction saved_;
};

}  // namespace hako
