// File primitives Node lacks: flock, mkfifo, sealed memfd copies (of bytes or of a file),
// a pid file written with a deadline.
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
#include <sys/sendfile.h>
#include <sched.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"
#include "front/front.h"
#include "errors.h"
#include "files.h"

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

// sealedCopy(name, bytes) -> fd of a memfd holding bytes, sealed against any change.
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
  if (const char* failed = front::seal_copy(fd.get())) {
    throw_errno(env, errno, failed, name.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, fd.release());
}

// sealedCopyOfFile(name, path) -> fd of a memfd holding the file at path, sealed as
// sealedCopy's; undefined when there is no file at path. The copy is the kernel's
// (sendfile from the page cache into the memfd): about a third of reading the bytes into
// the engine and writing them back out.
Napi::Value SealedCopyOfFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  unique_fd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    throw_errno(env, errno, "memfd_create", name.c_str());
    return env.Undefined();
  }
  if (const char* failed = front::copy_file(fd.get(), path)) {
    if (errno == ENOENT && strcmp(failed, "open") == 0) return env.Undefined();
    throw_errno(env, errno, failed, path.c_str());
    return env.Undefined();
  }
  if (const char* failed = front::seal_copy(fd.get())) {
    throw_errno(env, errno, failed, name.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, fd.release());
}

// frontInitCopy(fd) -> whether fd is the memfd of a hako-init copy the front started
// (HAKO_INIT_MEMFD), now close-on-exec; isSealedCopy(fd) -> whether that copy is done.
Napi::Value FrontInitCopy(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  char target[64] = {};
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = fd > 2 ? ::readlink(link.c_str(), target, sizeof target - 1) : -1;
  bool ok = n > 0 && std::string(target, static_cast<size_t>(n)).rfind("/memfd:hako-init", 0) == 0 && ::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
  return Napi::Boolean::New(info.Env(), ok);
}

Napi::Value IsSealedCopy(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), front::is_sealed_copy(info[0].As<Napi::Number>().Int32Value()));
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


// The pid file, written by a child process so that a file system that never answers
// (frozen, or a hung NFS server) cannot hold hako: a process blocked in such an open(2)
// sleeps uninterruptibly, and no signal, not even SIGKILL, frees it until the file system
// answers; a thread would keep hako itself from exiting. The child reports each step it
// begins and its result on a pipe; the parent waits until the deadline and then abandons
// it. An abandoned child (it sees the other pipe's write end closed once its call
// returns) removes what it wrote and exits, so nothing is left once the file system
// answers again.
//
// The child shares the parent's memory (clone with CLONE_VM, on a stack of its own): a
// fork would copy the engine's page tables, 30-80 ms from a brain of a few hundred MB. So
// it makes raw system calls only (glibc's would set errno, which is the parent thread's),
// and what it reads (its stack, the paths) is a mapping the parent leaves in place when it
// abandons the child.
enum PidStep : int { kOpen = 0, kWrite = 1, kClose = 2, kRename = 3, kDone = 4 };
struct PidReport {
  int step;
  int err;  // -1: the step begins; 0: the whole write succeeded; >0: the step failed
};

#if defined(__x86_64__) || defined(__aarch64__)
constexpr bool kSharedMemoryChild = true;
long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
#if defined(__x86_64__)
  long ret;
  register long r10 asm("r10") = d;
  asm volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;  // -errno on failure
#else
  register long x8 asm("x8") = n;
  register long x0 asm("x0") = a;
  register long x1 asm("x1") = b;
  register long x2 asm("x2") = c;
  register long x3 asm("x3") = d;
  asm volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
#endif
}
#else
// Elsewhere a fork (its own errno): the same code, slower.
constexpr bool kSharedMemoryChild = false;
long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  long r = ::syscall(n, a, b, c, d);
  return r < 0 ? -errno : r;
}
#endif

// What the child reads, in one mapping with its stack.
struct PidJob {
  char path[PATH_MAX];
  char tmp[PATH_MAX];
  char content[32];
  size_t len;
  int report_w;
  int abandon_r;
};
constexpr size_t kPidStack = 64 * 1024;
constexpr size_t kPidMapping = kPidStack + sizeof(PidJob);

int pid_child(void* arg) {
  const PidJob* j = static_cast<const PidJob*>(arg);
  // Only the two pipes: a copy of the caller's stdio, a lock or the exec fifo held by a
  // child blocked for hours would hold them too.
  int lo = j->report_w < j->abandon_r ? j->report_w : j->abandon_r;
  int hi = j->report_w < j->abandon_r ? j->abandon_r : j->report_w;
  if (lo > 0) raw_syscall(SYS_close_range, 0, lo - 1, 0);
  if (hi - lo > 1) raw_syscall(SYS_close_range, lo + 1, hi - 1, 0);
  raw_syscall(SYS_close_range, hi + 1, ~0u, 0);
  auto report = [j](int step, int err) {
    PidReport r{step, err};
    raw_syscall(SYS_write, j->report_w, reinterpret_cast<long>(&r), sizeof r);
  };
  auto abandoned = [j]() {
    pollfd p{j->abandon_r, POLLIN, 0};
    timespec zero{0, 0};
    // POLLHUP: the parent closed its end (gave up, or died)
    return raw_syscall(SYS_ppoll, reinterpret_cast<long>(&p), 1, reinterpret_cast<long>(&zero), 0) > 0;
  };
  auto quit = [](int code) {
    raw_syscall(SYS_exit_group, code);
    return code;
  };
  auto unlink = [](const char* path) { raw_syscall(SYS_unlinkat, AT_FDCWD, reinterpret_cast<long>(path), 0); };
  // What was written goes: after a failed step (reported), or when the parent gave up.
  auto fail = [&](int step, int err) {
    unlink(j->tmp);
    report(step, err);
    return quit(1);
  };
  auto give_up = [&](const char* written) {
    unlink(written);
    return quit(1);
  };
  report(kOpen, -1);
  long fd = raw_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(j->tmp), O_RDWR | O_CREAT | O_EXCL | O_SYNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    report(kOpen, static_cast<int>(-fd));
    return quit(1);
  }
  if (abandoned()) return give_up(j->tmp);
  report(kWrite, -1);
  size_t done = 0;
  while (done < j->len) {
    long n = raw_syscall(SYS_write, fd, reinterpret_cast<long>(j->content + done), static_cast<long>(j->len - done));
    if (n == -EINTR) continue;
    if (n <= 0) return fail(kWrite, n < 0 ? static_cast<int>(-n) : EIO);
    done += static_cast<size_t>(n);
  }
  report(kClose, -1);
  long closed = raw_syscall(SYS_close, fd);
  if (closed < 0 && closed != -EINTR) return fail(kClose, static_cast<int>(-closed));
  if (abandoned()) return give_up(j->tmp);
  report(kRename, -1);
  long renamed = raw_syscall(SYS_renameat, AT_FDCWD, reinterpret_cast<long>(j->tmp), AT_FDCWD, reinterpret_cast<long>(j->path));
  if (renamed < 0) return fail(kRename, static_cast<int>(-renamed));
  if (abandoned()) return give_up(j->path);
  report(kDone, 0);
  return quit(0);
}

// writePidFile(path, tmp, content, timeoutMs) -> undefined (written) or
// { step: 'open'|'write'|'close'|'rename', errno?: number, timedOut?: true }.
Napi::Value WritePidFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string tmp = info[1].As<Napi::String>().Utf8Value();
  std::string content = info[2].As<Napi::String>().Utf8Value();
  int timeout_ms = info[3].As<Napi::Number>().Int32Value();
  if (path.size() >= PATH_MAX || tmp.size() >= PATH_MAX || content.size() >= sizeof(PidJob::content)) {
    throw_errno(env, ENAMETOOLONG, "open", tmp.c_str());
    return env.Undefined();
  }
  void* mapping = ::mmap(nullptr, kPidMapping, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) {
    throw_errno(env, errno, "mmap");
    return env.Undefined();
  }
  char* stack = static_cast<char*>(mapping);
  PidJob* job = reinterpret_cast<PidJob*>(stack + kPidStack);
  memcpy(job->path, path.c_str(), path.size() + 1);
  memcpy(job->tmp, tmp.c_str(), tmp.size() + 1);
  memcpy(job->content, content.data(), content.size());
  job->len = content.size();
  int report[2], abandon[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    ::munmap(mapping, kPidMapping);
    throw_errno(env, err, "pipe2");
    return env.Undefined();
  }
  if (::pipe2(abandon, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    ::munmap(mapping, kPidMapping);
    throw_errno(env, err, "pipe2");
    return env.Undefined();
  }
  job->report_w = report[1];
  job->abandon_r = abandon[0];
  // The child runs no signal handler of the engine's: every signal stays blocked in it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid;
  if (kSharedMemoryChild) {
    pid = ::clone(pid_child, stack + kPidStack, CLONE_VM | SIGCHLD, job);
  } else {
    pid = ::fork();
    if (pid == 0) pid_child(job);
  }
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(report[1]);
  ::close(abandon[0]);
  if (pid < 0) {
    ::close(report[0]);
    ::close(abandon[1]);
    ::munmap(mapping, kPidMapping);
    throw_errno(env, clone_err, "clone");
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
    pollfd p{report[0], POLLIN, 0};
    // A failed poll (a signal) is only tried again: errno is not read here.
    if (::poll(&p, 1, static_cast<int>(timeout_ms - elapsed)) <= 0) continue;
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
    // Abandoned: not waited for (it may sleep until the file system answers), and its
    // mapping left in place; the caller's subreaper reaps it once hako has exited.
    Napi::Object o = Napi::Object::New(env);
    o.Set("step", kSteps[step]);
    o.Set("timedOut", true);
    return o;
  }
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::munmap(mapping, kPidMapping);
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
  exports.Set("sealedCopyOfFile", Napi::Function::New(env, SealedCopyOfFile, "sealedCopyOfFile"));
  exports.Set("frontInitCopy", Napi::Function::New(env, FrontInitCopy, "frontInitCopy"));
  exports.Set("isSealedCopy", Napi::Function::New(env, IsSealedCopy, "isSealedCopy"));
  exports.Set("seals", Napi::Function::New(env, Seals, "seals"));
}

}  // namespace hako
