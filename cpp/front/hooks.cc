// poststart and poststop hooks, run by the front with the rules of src/container/hooks.ts
// (and hako-init's): path execve'd with argv = args (none: [path]); the environment is
// exactly env; stdin the state JSON; stdout and stderr captured; timeout: SIGKILL and
// "hook ran past specified timeout of 1.0s"; the first failure stops the rest.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "front/front.h"

namespace hako::front {
namespace {

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2], out[2], err[2], status_pipe[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(status_pipe, O_CLOEXEC)) {
    return "pipe: " + errno_text(errno);
  }
  pid_t pid = fork();
  if (pid < 0) return "fork: " + errno_text(errno);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(hook.path.c_str(), argv.data(), envp.data());
    int e = errno;
    ssize_t ignored = write(status_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(status_pipe[1]);
  int exec_errno = 0;
  ssize_t got;
  do got = read(status_pipe[0], &exec_errno, sizeof exec_errno);
  while (got < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    waitpid(pid, nullptr, 0);
    return "fork/exec " + hook.path + ": " + errno_text(exec_errno);
  }

  // Feed stdin and drain stdout/stderr together, so neither side blocks the other.
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  int in_fd = in[1];
  if (state.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  std::string out_text, err_text;
  int out_fd = out[0], err_fd = err[0];
  bool timed_out = false;
  int64_t deadline = hook.has_timeout && hook.timeout > 0 ? now_ms() + static_cast<int64_t>(hook.timeout * 1000) : -1;
  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
    pollfd p[3];
    int n = 0;
    if (in_fd >= 0) p[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) p[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) p[n++] = {err_fd, POLLIN, 0};
    int wait = -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      wait = static_cast<int>(left);
    }
    int r = poll(p, n, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    for (int i = 0; i < n; i++) {
      if (!p[i].revents) continue;
      int fd = p[i].fd;
      if (fd == in_fd) {
        ssize_t w = write(in_fd, state.data() + written, state.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == state.size()) {
          close(in_fd);  // EPIPE: a hook that does not read its stdin is fine
          in_fd = -1;
        }
        continue;
      }
      char buf[8192];
      ssize_t m = read(fd, buf, sizeof buf);
      if (m > 0) {
        (fd == out_fd ? out_text : err_text).append(buf, static_cast<size_t>(m));
        continue;
      }
      if (m < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      close(fd);
      if (fd == out_fd) out_fd = -1;
      else err_fd = -1;
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.1f", hook.timeout);
    return std::string("hook ran past specified timeout of ") + buf + "s";
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::string how = WIFSIGNALED(status) ? "signal: " + signal_text(WTERMSIG(status)) : "exit status " + std::to_string(WEXITSTATUS(status));
  return how + ", stdout: " + out_text + ", stderr: " + err_text;
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
