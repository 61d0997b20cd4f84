#include "common/run_captured.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

namespace hako {
namespace {

int64_t now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// fd onto target in the child; an fd already there loses its close-on-exec instead.
bool move_fd(int fd, int target) {
  if (fd == target) return ::fcntl(fd, F_SETFD, 0) == 0;
  return ::dup2(fd, target) == target;
}

// The vfork'd child: it shares our memory until it execs, so only system calls, and its
// exec errno goes back through *exec_errno. The parent blocked every signal first; the
// child puts every handler back to the default before it unblocks them.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, const char* cwd, const int* fds,
                             bool own_group, volatile int* exec_errno) {
  // With a deadline, a process group of its own: what it started dies with it.
  if (own_group) ::setpgid(0, 0);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  int err = 0;
  if (!move_fd(fds[0], 0) || !move_fd(fds[1], 1) || !move_fd(fds[2], 2)) {
    err = errno;
  } else {
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) < 0) {
      for (int fd = 3; fd < 1024; fd++) ::close(fd);
    }
    if (cwd != nullptr && ::chdir(cwd) < 0) {
      err = errno;
    } else {
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      if (envp != nullptr) ::execve(path, argv, envp);
      else ::execvp(path, argv);
      err = errno;
    }
  }
  *exec_errno = err != 0 ? err : EINVAL;
  ::_exit(127);
}

}  // namespace

Captured run_captured(const std::string& path, const std::vector<std::string>& args, const CaptureOptions& opts) {
  Captured c;
  std::vector<char*> argv, envp;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (opts.env != nullptr) {
    for (const std::string& e : *opts.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) {
    c.setup_call = "pipe";
    c.setup_errno = errno;
    for (int* p : {in, out, err}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
    return c;
  }
  const int child_fds[3] = {in[0], out[1], err[1]};
  volatile int exec_errno = 0;
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ::vfork();
  if (pid == 0) {
    exec_child(path.c_str(), argv.data(), opts.env != nullptr ? envp.data() : nullptr, opts.cwd, child_fds, opts.timeout_ms > 0,
               &exec_errno);
  }
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  if (pid < 0) {
    c.setup_call = "fork";
    c.setup_errno = fork_errno;
    close_fd(in[1]);
    close_fd(out[0]);
    close_fd(err[0]);
    return c;
  }
  if (exec_errno != 0) {
    // Go's cmd.Start fails when the exec does: nothing ran, no output to add.
    c.exec_errno = exec_errno;
    close_fd(in[1]);
    close_fd(out[0]);
    close_fd(err[0]);
    while (::waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {
    }
    return c;
  }

  int in_fd = in[1], out_fd = out[0], err_fd = err[0];
  ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  if (opts.input.empty()) close_fd(in_fd);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  size_t written = 0;
  bool exited = false;
  const int64_t deadline = opts.timeout_ms > 0 ? now_ms() + opts.timeout_ms : -1;
  while (!exited || out_fd >= 0 || err_fd >= 0) {
    if (!exited && pidfd < 0 && out_fd < 0 && err_fd < 0) {
      // No pidfd and nothing left to read: look for the exit now and then.
      pid_t w = ::waitpid(pid, &c.status, WNOHANG);
      if (w == pid || (w < 0 && errno == ECHILD)) {
        exited = true;
        continue;
      }
    }
    struct pollfd p[4];
    nfds_t n = 0;
    if (in_fd >= 0) p[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) p[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) p[n++] = {err_fd, POLLIN, 0};
    if (!exited && pidfd >= 0) p[n++] = {pidfd, POLLIN, 0};
    int wait = n == 0 || (!exited && pidfd < 0 && out_fd < 0 && err_fd < 0) ? 10 : -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        c.timed_out = true;
        break;
      }
      if (wait < 0 || left < wait) wait = static_cast<int>(left);
    }
    int r = ::poll(p, n, wait);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    for (nfds_t i = 0; i < n; i++) {
      if (p[i].revents == 0) continue;
      int fd = p[i].fd;
      if (fd == pidfd) {
        // ECHILD: reaped by someone else (never by hako's own code): gone all the same.
        pid_t w = ::waitpid(pid, &c.status, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD)) exited = true;
      } else if (fd == in_fd) {
        ssize_t w = ::write(in_fd, opts.input.data() + written, opts.input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE (a program that does not read its stdin) is no failure, as with Go's exec.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == opts.input.size()) close_fd(in_fd);
      } else {
        char buf[8192];
        ssize_t m = ::read(fd, buf, sizeof buf);
        if (m > 0) {
          (fd == out_fd ? c.out : c.err).append(buf, static_cast<size_t>(m));
        } else if (m == 0 || (errno != EINTR && errno != EAGAIN)) {
          close_fd(fd == out_fd ? out_fd : err_fd);
        }
      }
    }
  }
  if (!exited) {
    // Past the deadline: the program and everything it started (a hook's `sleep &` would
    // otherwise live on, re-parented to the caller's subreaper).
    if (c.timed_out) ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {
    }
  }
  close_fd(in_fd);
  close_fd(out_fd);
  close_fd(err_fd);
  close_fd(pidfd);
  return c;
}

std::string go_signal_text(int sig) {
  // Go's syscall signal table (zerrors_linux_amd64.go, the same on arm64).
  static const char* const kNames[] = {
      nullptr,
      "hangup",
      "interrupt",
      "quit",
      "illegal instruction",
      "trace/breakpoint trap",
      "aborted",
      "bus error",
      "floating point exception",
      "killed",
      "user defined signal 1",
      "segmentation fault",
      "user defined signal 2",
      "broken pipe",
      "alarm clock",
      "terminated",
      "stack fault",
      "child exited",
      "continued",
      "stopped (signal)",
      "stopped",
      "stopped (tty input)",
      "stopped (tty output)",
      "urgent I/O condition",
      "CPU time limit exceeded",
      "file size limit exceeded",
      "virtual timer expired",
      "profiling timer expired",
      "window changed",
      "I/O possible",
      "power failure",
      "bad system call",
  };
  if (sig > 0 && sig < static_cast<int>(sizeof kNames / sizeof kNames[0])) return kNames[sig];
  return "signal " + std::to_string(sig);
}

std::string go_wait_text(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal: " + go_signal_text(WTERMSIG(status)) + (WCOREDUMP(status) ? " (core dumped)" : "");
  return "wait status " + std::to_string(status);
}

std::string go_errno_text(int err) {
  std::string s = ::strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

std::optional<std::string> run_hook(const std::string& path, const std::vector<std::string>& args, const std::vector<std::string>& env,
                                    double timeout_s, const char* cwd, std::string_view state) {
  std::vector<std::string> argv = args.empty() ? std::vector<std::string>{path} : args;
  // Only KEY=value entries can be passed (as Go's exec).
  std::vector<std::string> envv;
  for (const std::string& e : env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos && eq > 0) envv.push_back(e);
  }
  CaptureOptions opts;
  opts.env = &envv;
  opts.cwd = cwd;
  opts.input = state;
  opts.timeout_ms = timeout_s > 0 ? static_cast<int64_t>(timeout_s * 1000) : 0;
  Captured c = run_captured(path, argv, opts);
  if (c.setup_call != nullptr) return std::string(c.setup_call) + ": " + go_errno_text(c.setup_errno);
  if (c.exec_errno != 0) return "fork/exec " + path + ": " + go_errno_text(c.exec_errno);
  if (c.timed_out) {
    char text[64];
    snprintf(text, sizeof text, "hook ran past specified timeout of %.1fs", timeout_s);
    return std::string(text);
  }
  if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) return std::nullopt;
  return "error running hook: " + go_wait_text(c.status) + ", stdout: " + c.out + ", stderr: " + c.err;
}

std::string hook_failure(size_t index, const std::string& why) { return "error running hook #" + std::to_string(index) + ": " + why; }

IgnoreSigpipe::IgnoreSigpipe() {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &saved_);
}

IgnoreSigpipe::~IgnoreSigpipe() { ::sigaction(SIGPIPE, &saved_, nullptr); }

}  // namespace hako
