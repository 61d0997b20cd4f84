// Running a helper program (a hook, the host's ps) with its stdin fed from a string and
// its stdout and stderr captured, drained together so neither side blocks the other.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "front/front.h"

namespace hako::front {
namespace {

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

Captured run_captured(const std::string& path, std::vector<std::string> args, const std::vector<std::string>* env, const std::string& input,
                      int64_t timeout_ms) {
  Captured c;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env ? *env : std::vector<std::string>{};
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2], out[2], err[2], status_pipe[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(status_pipe, O_CLOEXEC)) {
    throw system_failure("pipe", "", errno);
  }
  pid_t pid = fork();
  if (pid < 0) throw system_failure("fork", "", errno);
  if (pid == 0) {
    // With a deadline, a process group of its own: what it started dies with it (below).
    if (timeout_ms > 0) setpgid(0, 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (env) execve(path.c_str(), argv.data(), envp.data());
    else execvp(path.c_str(), argv.data());
    int e = errno;
    ssize_t ignored = write(status_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close_all({in[0], out[1], err[1], status_pipe[1]});
  ssize_t got;
  do got = read(status_pipe[0], &c.exec_errno, sizeof c.exec_errno);
  while (got < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (got != static_cast<ssize_t>(sizeof c.exec_errno)) c.exec_errno = 0;
  if (c.exec_errno != 0) {
    close_all({in[1], out[0], err[0]});
    while (waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {
    }
    return c;
  }

  fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out[0], err_fd = err[0];
  int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
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
        c.timed_out = true;
        break;
      }
      wait = static_cast<int>(left);
    }
    int r = poll(p, n, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    for (int i = 0; i < n; i++) {
      if (!p[i].revents) continue;
      int fd = p[i].fd;
      if (fd == in_fd) {
        ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          close(in_fd);  // EPIPE: a program that does not read its stdin is fine
          in_fd = -1;
        }
        continue;
      }
      char buf[8192];
      ssize_t m = read(fd, buf, sizeof buf);
      if (m > 0) {
        (fd == out_fd ? c.out : c.err).append(buf, static_cast<size_t>(m));
        continue;
      }
      if (m < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      close(fd);
      if (fd == out_fd) out_fd = -1;
      else err_fd = -1;
    }
  }
  // Past the deadline: the program and everything it started (a hook's `sleep &` would
  // otherwise live on, re-parented to the caller's subreaper).
  if (c.timed_out) kill(-pid, SIGKILL);
  close_all({in_fd, out_fd, err_fd});
  while (waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {
  }
  return c;
}

}  // namespace hako::front
