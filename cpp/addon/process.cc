// Process and terminal primitives Node lacks: waiting for a child libuv did not spawn
// (the container's init, ours through CLONE_PARENT), the subreaper bit, socketpairs and
// fd passing, window sizes, pidfds, CPU affinity.
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "errors.h"
#include "own_thread.h"

namespace hako {
namespace {

// Rejects the deferred with an Error shaped like throw_errno's.
void reject_errno(Napi::Env env, Napi::Promise::Deferred& deferred, int err, const char* syscall) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  const char* name = strerrorname_np(err);
  error.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  deferred.Reject(error.Value());
}

// waitpid(pid) on a thread of its own: {code} or {signal}. Only this pid is waited for,
// so the engine's own children are never reaped behind its back.
class WaitJob : public OwnThreadJob {
 public:
  WaitJob(Napi::Env env, pid_t pid) : OwnThreadJob(env), pid_(pid) {}

  void Execute() override {
    for (;;) {
      pid_t r = ::waitpid(pid_, &status_, __WALL);
      if (r == pid_) return;
      if (r < 0 && errno == EINTR) continue;
      err_ = errno;
      return;
    }
  }
  void Settle(Napi::Env env) override {
    if (err_) return reject_errno(env, deferred_, err_, "waitpid");
    Napi::Object result = Napi::Object::New(env);
    if (WIFSIGNALED(status_)) result.Set("signal", Napi::Number::New(env, WTERMSIG(status_)));
    else result.Set("code", Napi::Number::New(env, WEXITSTATUS(status_)));
    deferred_.Resolve(result);
  }

 private:
  pid_t pid_;
  int status_ = 0;
  int err_ = 0;
};

// recvmsg of one SCM_RIGHTS fd on a blocking socket, on a thread of its own.
class RecvFdJob : public OwnThreadJob {
 public:
  RecvFdJob(Napi::Env env, int sock) : OwnThreadJob(env), sock_(sock) {}

  void Execute() override {
    char data[4096];
    iovec iov{data, sizeof(data)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do n = ::recvmsg(sock_, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      err_ = errno;
      return;
    }
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (n == 0 || !c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
      err_ = EBADMSG;
      return;
    }
    memcpy(&fd_, CMSG_DATA(c), sizeof(int));
  }
  void Settle(Napi::Env env) override {
    if (err_) return reject_errno(env, deferred_, err_, "recvmsg");
    deferred_.Resolve(Napi::Number::New(env, fd_));
  }

 private:
  int sock_;
  int fd_ = -1;
  int err_ = 0;
};

Napi::Value WaitPid(const Napi::CallbackInfo& info) {
  return StartOwnThread(info.Env(), new WaitJob(info.Env(), info[0].As<Napi::Number>().Int32Value()), "waitpid");
}

Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  return StartOwnThread(info.Env(), new RecvFdJob(info.Env(), info[0].As<Napi::Number>().Int32Value()), "recvFd");
}

Napi::Value SetSubreaper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (::prctl(PR_SET_CHILD_SUBREAPER, info[0].ToBoolean().Value() ? 1 : 0, 0, 0, 0) != 0) throw_errno(env, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
  return env.Undefined();
}

// socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC) -> [fd, fd]
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw_errno(env, errno, "socketpair");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

// pipe2(O_CLOEXEC) -> [read end, write end]
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw_errno(env, errno, "pipe2");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

// makeRaw(fd) -> the previous termios (to hand back to restoreTermios): cfmakeraw, so
// output processing is off too (the container's own pty already turns \n into \r\n).
Napi::Value MakeRaw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  termios saved{};
  if (::tcgetattr(fd, &saved) != 0) {
    throw_errno(env, errno, "tcgetattr");
    return env.Undefined();
  }
  termios raw = saved;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) {
    throw_errno(env, errno, "tcsetattr");
    return env.Undefined();
  }
  return Napi::Buffer<char>::Copy(env, reinterpret_cast<const char*>(&saved), sizeof(saved));
}

// restoreTermios(fd, saved)
Napi::Value RestoreTermios(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> buf = info[1].As<Napi::Buffer<char>>();
  if (buf.Length() != sizeof(termios)) {
    Napi::TypeError::New(env, "restoreTermios: not a saved termios").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  termios saved{};
  memcpy(&saved, buf.Data(), sizeof(saved));
  if (::tcsetattr(fd, TCSANOW, &saved) != 0) throw_errno(env, errno, "tcsetattr");
  return env.Undefined();
}

// getWinsize(fd) -> {rows, cols}
Napi::Value GetWinsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  winsize ws{};
  if (::ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCGWINSZ, &ws) != 0) {
    throw_errno(env, errno, "ioctl(TIOCGWINSZ)");
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("rows", Napi::Number::New(env, ws.ws_row));
  o.Set("cols", Napi::Number::New(env, ws.ws_col));
  return o;
}

// setWinsize(fd, rows, cols)
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (::ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &ws) != 0) throw_errno(env, errno, "ioctl(TIOCSWINSZ)");
  return env.Undefined();
}

// pidfdOpen(pid) -> a pidfd (close-on-exec, as pidfd_open makes them) for --pidfd-socket
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  long fd = ::syscall(SYS_pidfd_open, static_cast<pid_t>(info[0].As<Napi::Number>().Int32Value()), 0u);
  if (fd < 0) {
    throw_errno(env, errno, "pidfd_open");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

// setAffinity(pid, cpus) -> sched_setaffinity(pid) to exactly those CPUs: exec's
// execCPUAffinity.initial, set on hako-init before it is placed in the container's cgroup.
Napi::Value SetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = static_cast<pid_t>(info[0].As<Napi::Number>().Int32Value());
  Napi::Array cpus = info[1].As<Napi::Array>();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < cpus.Length(); i++) {
    int64_t cpu = cpus.Get(i).As<Napi::Number>().Int64Value();
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
      throw_errno(env, EINVAL, "sched_setaffinity");
      return env.Undefined();
    }
    CPU_SET(static_cast<int>(cpu), &set);
  }
  if (::sched_setaffinity(pid, sizeof set, &set) < 0) {
    throw_errno(env, errno, "sched_setaffinity");
    return env.Undefined();
  }
  return env.Undefined();
}

}  // namespace

void RegisterProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("waitpid", Napi::Function::New(env, WaitPid, "waitpid"));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd, "recvFd"));
  exports.Set("setSubreaper", Napi::Function::New(env, SetSubreaper, "setSubreaper"));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair, "socketpair"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("makeRaw", Napi::Function::New(env, MakeRaw, "makeRaw"));
  exports.Set("restoreTermios", Napi::Function::New(env, RestoreTermios, "restoreTermios"));
  exports.Set("getWinsize", Napi::Function::New(env, GetWinsize, "getWinsize"));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("setAffinity", Napi::Function::New(env, SetAffinity, "setAffinity"));
}

}  // namespace hako
