// File primitives Node lacks: flock, mkfifo, sealed memfd copies, a pid file written with a deadline.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"
#include "errors.h"
#include "files.h"

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace hako {
namespace {

bool write_all(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// flock(fd, exclusive, nonblocking) -> boolean (false: would block).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].ToBoolean();
  bool nonblock = info[2].ToBoolean();
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblock ? LOCK_NB : 0);
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && nonblock) return Napi::Boolean::New(env, false);
    throw_errno(env, errno, "flock");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// mkfifo(path, mode)
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  if (::mkfifo(path.c_str(), mode) != 0) throw_errno(env, errno, "mkfifo", path.c_str());
  return env.Undefined();
}

// sealedCopy(name, bytes) -> fd of a memfd holding bytes, sealed against any change
// (write, grow, shrink, further seals; exec-bit changes where the kernel has F_SEAL_EXEC).
Napi::Value SealedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  unique_fd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    throw_errno(env, errno, "memfd_create", name.c_str());
    return env.Undefined();
  }
  if (!write_all(fd.get(), bytes.Data(), bytes.ByteLength())) {
    throw_errno(env, errno, "write", name.c_str());
    return env.Undefined();
  }
  if (::fchmod(fd.get(), 0555) != 0) {
    throw_errno(env, errno, "fchmod", name.c_str());
    return env.Undefined();
  }
  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(fd.get(), F_ADD_SEALS, seals | F_SEAL_EXEC) != 0 &&
      (errno != EINVAL || ::fcntl(fd.get(), F_ADD_SEALS, seals) != 0)) {
    throw_errno(env, errno, "fcntl(F_ADD_SEALS)", name.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, fd.release());
}

// seals(fd) -> the F_GET_SEALS bit mask.
Napi::Value Seals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    throw_errno(env, errno, "fcntl(F_GET_SEALS)");
    return env.Undefined();
  }
  return Napi::Number::New(env, seals);
}


// The pid file, written by a forked child so that a file system that never answers (frozen,
// or a hung NFS server) cannot hold hako: a process blocked in such an open(2) sleeps
// uninterruptibly, and no signal, not even SIGKILL, frees it until the file system
// answers; a thread would keep hako itself from exiting. The child reports each step
// it begins and its result on a pipe; the parent waits until the deadline and then
// abandons it. An abandoned child (it sees the other pipe's write end closed once its
// call returns) removes what it wrote and exits, so nothing is left once the file
// system answers again.
enum PidStep : int { kOpen = 0, kWrite = 1, kClose = 2, kRename = 3, kDone = 4 };
struct PidReport {
  int step;
  int err;  // -1: the step begins; 0: the whole write succeeded; >0: the step failed
};

[[noreturn]] void pid_child(const char* tmp, const char* path, const char* content, size_t len, int report_w, int abandon_r) {
  // Only the two pipes: a copy of the caller's stdio, a lock or the exec fifo held by a
  // child blocked for hours would hold them too.
  int lo = report_w < abandon_r ? report_w : abandon_r;
  int hi = report_w < abandon_r ? abandon_r : report_w;
  if (lo > 0) ::syscall(SYS_close_range, 0u, static_cast<unsigned>(lo - 1), 0u);
  if (hi - lo > 1) ::syscall(SYS_close_range, static_cast<unsigned>(lo + 1), static_cast<unsigned>(hi - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(hi + 1), ~0u, 0u);
  auto report = [&](int step, int err) {
    PidReport r{step, err};
    (void)!::write(report_w, &r, sizeof r);
  };
  auto abandoned = [&]() {
    pollfd p{abandon_r, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;  // POLLHUP: the parent closed its end (gave up, or died)
  };
  report(kOpen, -1);
  int fd = ::open(tmp, O_RDWR | O_CREAT | O_EXCL | O_SYNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    report(kOpen, errno);
    _exit(1);
  }
  if (abandoned()) {
    ::unlink(tmp);
    _exit(1);
  }
  report(kWrite, -1);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::write(fd, content + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::unlink(tmp);
      report(kWrite, err);
      _exit(1);
    }
    done += static_cast<size_t>(n);
  }
  report(kClose, -1);
  if (::close(fd) != 0 && errno != EINTR) {
    int err = errno;
    ::unlink(tmp);
    report(kClose, err);
    _exit(1);
  }
  if (abandoned()) {
    ::unlink(tmp);
    _exit(1);
  }
  report(kRename, -1);
  if (::rename(tmp, path) != 0) {
    int err = errno;
    ::unlink(tmp);
    report(kRename, err);
    _exit(1);
  }
  if (abandoned()) {
    ::unlink(path);
    _exit(1);
  }
  report(kDone, 0);
  _exit(0);
}

// writePidFile(path, tmp, content, timeoutMs) -> undefined (written) or
// { step: 'open'|'write'|'close'|'rename', errno?: number, timedOut?: true }.
Napi::Value WritePidFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string tmp = info[1].As<Napi::String>().Utf8Value();
  std::string content = info[2].As<Napi::String>().Utf8Value();
  int timeout_ms = info[3].As<Napi::Number>().Int32Value();
  int report[2], abandon[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    throw_errno(env, errno, "pipe2");
    return env.Undefined();
  }
  if (::pipe2(abandon, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw_errno(env, err, "pipe2");
    return env.Undefined();
  }
  // The child runs no signal handler of the runtime's: every signal stays blocked in it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(report[0]);
    ::close(abandon[1]);
    pid_child(tmp.c_str(), path.c_str(), content.data(), content.size(), report[1], abandon[0]);
  }
  int fork_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(report[1]);
  ::close(abandon[0]);
  if (pid < 0) {
    ::close(report[0]);
    ::close(abandon[1]);
    throw_errno(env, fork_err, "fork");
    return env.Undefined();
  }
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int step = kOpen;
  int result = -1;  // -1: no answer yet
  for (;;) {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed >= timeout_ms) break;
    int r = wait_readable(report[0], static_cast<int>(timeout_ms - elapsed));
    if (r <= 0) break;
    PidReport rep;
    ssize_t n = ::read(report[0], &rep, sizeof rep);
    if (n != sizeof rep) {
      result = EIO;  // the child died without a result
      break;
    }
    step = rep.step;
    if (rep.err >= 0) {
      result = rep.err;
      break;
    }
  }
  ::close(report[0]);
  ::close(abandon[1]);  // the child, if it still waits on the file system, gives up once it can
  static const char* const kSteps[] = {"open", "write", "close", "rename", "rename"};
  if (result == -1) {
    // Abandoned: not waited for (it may sleep until the file system answers); the caller's
    // subreaper reaps it once hako has exited.
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", kSteps[step]);
    o.Set("timedOut", true);
    return o;
  }
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (result == 0) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  o.Set("step", kSteps[step]);
  o.Set("errno", result);
  return o;
}

}  // namespace

void RegisterFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("writePidFile", Napi::Function::New(env, WritePidFile, "writePidFile"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("sealedCopy", Napi::Function::New(env, SealedCopy, "sealedCopy"));
  exports.Set("seals", Napi::Function::New(env, Seals, "seals"));
}

}  // namespace hako
