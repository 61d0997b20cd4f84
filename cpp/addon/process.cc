// Process and terminal primitives Node lacks: spawning hako-init, reading its sync
// frames, waiting for a child the engine did not spawn (hako-init, and the container's
// init, ours through CLONE_PARENT), the subreaper bit, socketpairs and fd passing, window
// sizes, pidfds, CPU affinity.
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <vector>

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

// One frame of the sync protocol (cpp/common/sync.h: u32 length of type + payload, u32
// type, payload, little-endian) read whole with blocking reads on a thread of its own:
// the type and payload bytes, or null once the other side closed (mid-frame too).
class SyncRecvJob : public OwnThreadJob {
 public:
  SyncRecvJob(Napi::Env env, int fd) : OwnThreadJob(env), fd_(fd) {}

  static constexpr uint32_t kMaxFrame = 64u << 20;

  void Execute() override {
    uint32_t len = 0;
    if (!ReadFull(&len, sizeof(len))) return;
    if (len < 4 || len > kMaxFrame) {
      bad_length_ = len;
      return;
    }
    frame_.resize(len);
    if (!ReadFull(frame_.data(), len)) frame_.clear();
  }
  void Settle(Napi::Env env) override {
    if (err_) return reject_errno(env, deferred_, err_, "read");
    if (bad_length_) {
      deferred_.Reject(Napi::Error::New(env, "sync: bad frame length " + std::to_string(bad_length_) + " from hako-init").Value());
      return;
    }
    if (frame_.empty()) return deferred_.Resolve(env.Null());
    deferred_.Resolve(Napi::Buffer<char>::Copy(env, frame_.data(), frame_.size()));
  }

 private:
  // false at EOF or on an error (err_ set)
  bool ReadFull(void* buf, size_t n) {
    char* p = static_cast<char*>(buf);
    while (n > 0) {
      ssize_t r = ::read(fd_, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) err_ = errno == ECONNRESET ? 0 : errno;
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  int fd_;
  std::vector<char> frame_;
  uint32_t bad_length_ = 0;
  int err_ = 0;
};

// unixConnect(path) -> a connected AF_UNIX stream socket (blocking once connected, close-on-exec): the
// console socket hako-init sends the pty master to.
Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    throw_errno(env, ENAMETOOLONG, "connect");
    return env.Undefined();
  }
  memcpy(addr.sun_path, path.data(), path.size());
  // Non-blocking for the connect, as Go dials: a listener whose backlog is full (nobody
  // accepts) is EAGAIN at once, not a create that waits forever. Blocking afterwards.
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket");
    return env.Undefined();
  }
  int r;
  do r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  while (r < 0 && errno == EINTR);
  if (r == 0) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) r = -1;
  }
  if (r < 0) {
    int e = errno;
    ::close(fd);
    throw_errno(env, e, "connect");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// socketShutdown(fd): shutdown(SHUT_RDWR), so a read blocked on it (syncRecv) ends.
Napi::Value SocketShutdown(const Napi::CallbackInfo& info) {
  ::shutdown(info[0].As<Napi::Number>().Int32Value(), SHUT_RDWR);
  return info.Env().Undefined();
}

Napi::Value SyncRecv(const Napi::CallbackInfo& info) {
  return StartOwnThread(info.Env(), new SyncRecvJob(info.Env(), info[0].As<Napi::Number>().Int32Value()), "syncRecv");
}

// What the child of spawnInit runs on its own stack, in the parent's memory (CLONE_VM) while
// the parent waits for its exec (CLONE_VFORK): raw system calls only, nothing that locks
// or allocates. Every signal back to its default (the raw call reaches the two glibc keeps
// for itself too, which posix_spawn would leave ignored across the exec) and unblocked, the
// fds into place, every other fd closed, then the exec; a failure's errno is left in err.
struct SpawnChild {
  const char* path;
  char* const* argv;
  char* const* envp;
  const int* temps;
  int n;
  int err;
};

struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  uint64_t mask;
};

int RunSpawnChild(void* arg) {
  auto* c = static_cast<SpawnChild*>(arg);
  KernelSigaction dfl{};  // SIG_DFL is 0
  for (long sig = 1; sig <= 64; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
  }
  for (int i = 0; i < c->n; i++) {
    if (::syscall(SYS_dup3, c->temps[i], i, 0) < 0) {
      c->err = errno;
      ::syscall(SYS_exit, 127);
    }
  }
  ::syscall(SYS_close_range, static_cast<unsigned>(c->n), ~0u, 0u);
  uint64_t none = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(none));
  ::syscall(SYS_execve, c->path, c->argv, c->envp);
  c->err = errno;
  ::syscall(SYS_exit, 127);
  return 0;
}

// spawnInit(exeFd, argv, fds) -> pid: a vfork (clone with CLONE_VM|CLONE_VFORK: cheap from
// a large engine process, whose own spawn forks or does much more) that execs
// /proc/<pid>/fd/<exeFd>, hako-init's sealed copy, with argv and an empty environment. The
// child's fd i is fds[i] and it has no other fd (as the engine's spawn); every signal at
// its default, none blocked.
Napi::Value SpawnInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int exe = info[0].As<Napi::Number>().Int32Value();
  Napi::Array args = info[1].As<Napi::Array>();
  Napi::Array fdList = info[2].As<Napi::Array>();
  std::vector<std::string> argv_s;
  for (uint32_t i = 0; i < args.Length(); i++) argv_s.push_back(args.Get(i).As<Napi::String>().Utf8Value());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  int n = static_cast<int>(fdList.Length());

  // Each source first at a number above every target (close-on-exec), then dup3'ed into
  // place: no source is overwritten before it is used, and the copy is not close-on-exec.
  std::vector<int> temps;
  auto close_temps = [&temps] {
    for (int t : temps) ::close(t);
  };
  for (int i = 0; i < n; i++) {
    int t = ::fcntl(fdList.Get(static_cast<uint32_t>(i)).As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, n + 1);
    if (t < 0) {
      int e = errno;
      close_temps();
      throw_errno(env, e, "fcntl(F_DUPFD_CLOEXEC)");
      return env.Undefined();
    }
    temps.push_back(t);
  }
  // The parent's fd, which the child reaches while the parent waits for its exec: the
  // child itself keeps no fd to it.
  std::string path = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(exe);
  SpawnChild child{path.c_str(), argv.data(), envp, temps.data(), n, 0};
  std::vector<char> stack(64 * 1024);

  // No handler of the engine's may run in the child before it reset them all.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::clone(RunSpawnChild, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close_temps();
  if (pid < 0) {
    throw_errno(env, clone_err, "clone", "hako-init");
    return env.Undefined();
  }
  if (child.err != 0) {
    // The child exited (127) without its exec: reap it here.
    int status;
    while (::waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
    }
    throw_errno(env, child.err, "execve", "hako-init");
    return env.Undefined();
  }
  return Napi::Number::New(env, pid);
}

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
  exports.Set("spawnInit", Napi::Function::New(env, SpawnInit, "spawnInit"));
  exports.Set("syncRecv", Napi::Function::New(env, SyncRecv, "syncRecv"));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect, "unixConnect"));
  exports.Set("socketShutdown", Napi::Function::New(env, SocketShutdown, "socketShutdown"));
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
