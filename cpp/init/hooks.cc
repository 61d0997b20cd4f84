#include "init/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "init/process.h"
#include "init/sys.h"

namespace hako {
namespace {

const char* hook_name(HookKind kind) { return kind == HOOK_CREATE_CONTAINER ? "createContainer" : "startContainer"; }

int64_t now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Go's syscall.Signal.String() for the signals a hook usually dies of.
std::string signal_text(int sig) {
  switch (sig) {
    case SIGKILL: return "killed";
    case SIGTERM: return "terminated";
    case SIGINT: return "interrupt";
    case SIGHUP: return "hangup";
    case SIGQUIT: return "quit";
    case SIGABRT: return "aborted";
    case SIGSEGV: return "segmentation fault";
    case SIGBUS: return "bus error";
    case SIGPIPE: return "broken pipe";
    case SIGUSR1: return "user defined signal 1";
    case SIGUSR2: return "user defined signal 2";
    case SIGALRM: return "alarm clock";
    default: return "signal " + std::to_string(sig);
  }
}

// The child: stdio from the pipes, nothing else open but the exec-error pipe (close-on-
// exec, at fd 3), default signal handling, then execve. Only async-signal-safe calls.
[[noreturn]] void exec_child(const Hook& hook, char* const* argv, char* const* envp, const char* cwd, int in, int out,
                             int err, int report) {
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 || ::dup2(report, 3) < 0) ::_exit(127);
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  if (::syscall(SYS_close_range, 4u, ~0u, 0u) < 0) {
    for (int fd = 4; fd < 1024; fd++) ::close(fd);
  }
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &sa, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int e = 0;
  if (cwd != nullptr && ::chdir(cwd) < 0) {
    e = errno;
  } else {
    ::execve(hook.path.c_str(), argv, envp);
    e = errno;
  }
  ssize_t n = ::write(3, &e, sizeof e);
  (void)n;
  ::_exit(127);
}

// Runs one hook; the error after "error running <name> hook #<i>: ", or nullopt.
std::optional<std::string> run_hook(const Hook& hook, const std::string& state, const std::vector<std::string>& env,
                                    const char* cwd) {
  std::vector<char*> argv, envp;
  if (hook.args.empty()) {
    argv.push_back(const_cast<char*>(hook.path.c_str()));
  } else {
    for (const std::string& a : hook.args) argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int in[2], out[2], err[2], report[2];
  if (::pipe2(in, O_CLOEXEC) < 0) return "pipe: " + go_strerror(errno);
  unique_fd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) < 0) return "pipe: " + go_strerror(errno);
  unique_fd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) < 0) return "pipe: " + go_strerror(errno);
  unique_fd err_r(err[0]), err_w(err[1]);
  if (::pipe2(report, O_CLOEXEC) < 0) return "pipe: " + go_strerror(errno);
  unique_fd report_r(report[0]), report_w(report[1]);

  pid_t pid = ::fork();
  if (pid < 0) return "fork/exec " + hook.path + ": " + go_strerror(errno);
  if (pid == 0) {
    // With a timeout, a process group of its own: what it started dies with it (below).
    if (hook.timeout > 0) ::setpgid(0, 0);
    exec_child(hook, argv.data(), envp.data(), cwd, in_r.get(), out_w.get(), err_w.get(), report_w.get());
  }
  in_r.reset();
  out_w.reset();
  err_w.reset();
  report_w.reset();

  // Go's cmd.Start fails when the exec does: nothing ran, no output to add.
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(report_r.get(), &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return "fork/exec " + hook.path + ": " + go_strerror(exec_errno);
  }

  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  const int64_t deadline = hook.timeout > 0 ? now_ms() + static_cast<int64_t>(hook.timeout) * 1000 : -1;
  std::string captured[2];
  size_t written = 0;
  bool timed_out = false;
  bool exited = false;
  int status = 0;
  for (;;) {
    struct pollfd fds[3];
    nfds_t n = 0;
    int which[3];
    if (in_w.get() >= 0) {
      fds[n] = {in_w.get(), POLLOUT, 0};
      which[n++] = 0;
    }
    if (out_r.get() >= 0) {
      fds[n] = {out_r.get(), POLLIN, 0};
      which[n++] = 1;
    }
    if (err_r.get() >= 0) {
      fds[n] = {err_r.get(), POLLIN, 0};
      which[n++] = 2;
    }
    if (out_r.get() < 0 && err_r.get() < 0) {
      // Both outputs closed: wait for the exit (polling, to keep the deadline).
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        exited = true;
        break;
      }
      if (w < 0 && errno != EINTR) break;
    }
    int wait_ms = 10;
    if (n > 0) wait_ms = -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      if (wait_ms < 0 || left < wait_ms) wait_ms = static_cast<int>(left);
    }
    if (n == 0) {
      ::poll(nullptr, 0, wait_ms);
      continue;
    }
    int r = ::poll(fds, n, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    for (nfds_t i = 0; i < n; i++) {
      if (fds[i].revents == 0) continue;
      if (which[i] == 0) {
        ssize_t w = ::write(in_w.get(), state.data() + written, state.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE (the hook does not read its stdin) is no failure, as with Go's exec.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == state.size()) in_w.reset();
      } else {
        unique_fd& fd = which[i] == 1 ? out_r : err_r;
        char buf[4096];
        ssize_t got_n = ::read(fd.get(), buf, sizeof buf);
        if (got_n > 0) {
          captured[which[i] - 1].append(buf, static_cast<size_t>(got_n));
        } else if (got_n == 0 || (errno != EINTR && errno != EAGAIN)) {
          fd.reset();
        }
      }
    }
  }
  if (!exited) {
    if (timed_out) ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (timed_out) {
    char text[64];
    snprintf(text, sizeof text, "hook ran past specified timeout of %u.0s", hook.timeout);
    return std::string(text);
  }
  std::string why;
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 0) return std::nullopt;
    why = "exit status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    why = "signal: " + signal_text(WTERMSIG(status));
  } else {
    why = "wait status " + std::to_string(status);
  }
  return why + ", stdout: " + captured[0] + ", stderr: " + captured[1];
}

}  // namespace

Result run_hooks(const Plan& plan, HookKind kind, const char* cwd) {
  std::string state;
  bool any = false;
  for (const Hook& h : plan.hooks) any = any || h.kind == kind;
  if (!any) return std::nullopt;
  for (const HookState& s : plan.hook_states) {
    if (s.kind == kind) state = s.head + std::to_string(::getpid()) + s.tail;
  }
  // A hook that stops reading its stdin must not end us with SIGPIPE.
  struct sigaction ignore = {}, saved = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &saved);
  Result result;
  // runc: a startContainer hook without env runs with the init's, the process's (HOME included).
  const std::vector<std::string> inherited = kind == HOOK_START_CONTAINER ? process_env(plan) : std::vector<std::string>{};
  int i = 0;
  for (const Hook& h : plan.hooks) {
    if (h.kind != kind) continue;
    const std::vector<std::string>& env = kind == HOOK_START_CONTAINER && h.has_env == 0 ? inherited : h.env;
    if (auto failure = run_hook(h, state, env, cwd)) {
      result = step_error(0, "hook", std::string("error running ") + hook_name(kind) + " hook #" + std::to_string(i) +
                                         ": " + *failure);
      break;
    }
    i++;
  }
  ::sigaction(SIGPIPE, &saved, nullptr);
  return result;
}

}  // namespace hako
