// Cgroup primitives Node lacks. v1 OOM notification: an eventfd registered on a memory
// cgroup's memory.oom_control through its cgroup.event_control; the kernel signals it on
// every OOM in the cgroup and once more when the cgroup is removed.
#include "cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"
#include "front/front.h"
#include "errors.h"
#include "own_thread.h"

namespace hako {
namespace {

// oomEventfd(memoryDir) -> an eventfd (CLOEXEC, blocking) the kernel signals on OOM.
Napi::Value OomEventfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  std::string oom = dir + "/memory.oom_control";
  std::string control = dir + "/cgroup.event_control";
  unique_fd ofd(::open(oom.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ofd) {
    throw_errno(env, errno, "open", oom.c_str());
    return env.Undefined();
  }
  unique_fd efd(::eventfd(0, EFD_CLOEXEC));
  if (!efd) {
    throw_errno(env, errno, "eventfd");
    return env.Undefined();
  }
  unique_fd cfd(::open(control.c_str(), O_WRONLY | O_CLOEXEC));
  if (!cfd) {
    throw_errno(env, errno, "open", control.c_str());
    return env.Undefined();
  }
  std::string line = std::to_string(efd.get()) + " " + std::to_string(ofd.get());
  ssize_t n;
  do n = ::write(cfd.get(), line.data(), line.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    throw_errno(env, errno, "write", control.c_str());
    return env.Undefined();
  }
  // The kernel holds its own reference to the eventfd; memory.oom_control is only looked at.
  return Napi::Number::New(env, efd.release());
}

// eventfdWait(fd, timeoutMs) on a thread of its own: the counter read (0 on timeout).
class EventfdJob : public OwnThreadJob {
 public:
  EventfdJob(Napi::Env env, int fd, int timeout) : OwnThreadJob(env), fd_(fd), timeout_(timeout) {}

  void Execute() override {
    int r = wait_readable(fd_, timeout_);
    if (r < 0) {
      err_ = errno;
      syscall_ = "poll";
      return;
    }
    if (r == 0) return;
    ssize_t n;
    do n = ::read(fd_, &count_, sizeof(count_));
    while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof(count_))) {
      err_ = n < 0 ? errno : EIO;
      syscall_ = "read";
    }
  }
  void Settle(Napi::Env env) override {
    if (err_) {
      deferred_.Reject(errno_error(env, err_, syscall_, "eventfd").Value());
      return;
    }
    deferred_.Resolve(Napi::Number::New(env, static_cast<double>(count_)));
  }

 private:
  int fd_;
  int timeout_;
  uint64_t count_ = 0;
  int err_ = 0;
  const char* syscall_ = "";
};

Napi::Value EventfdWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return StartOwnThread(env, new EventfdJob(env, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value()), "eventfdWait");
}

// The cgroup writer lock's warm-up (cpp/front/warm.cc): the process the front started
// before it handed over, adopted, or else a thread of the addon's. Either ends when the
// write end of its stop pipe is closed. Called on the JavaScript thread only.
int g_warm_stop = -1;
pid_t g_warm_process = -1;

void* WarmThread(void* arg) {
  int stop = static_cast<int>(reinterpret_cast<intptr_t>(arg) >> 32);
  int ms = static_cast<int>(reinterpret_cast<intptr_t>(arg) & 0xffffffff);
  front::warm_cgroup_writer(stop, ms);
  ::close(stop);
  return nullptr;
}

// cgroupWriterWarm(ms): start the warm-up on a detached thread (all signals blocked), unless one runs.
Napi::Value CgroupWriterWarm(const Napi::CallbackInfo& info) {
  int ms = info[0].As<Napi::Number>().Int32Value();
  if (g_warm_stop >= 0) return info.Env().Undefined();
  int stop[2];
  if (::pipe2(stop, O_CLOEXEC) != 0) return info.Env().Undefined();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  intptr_t arg = (static_cast<intptr_t>(stop[0]) << 32) | static_cast<intptr_t>(ms & 0x7fffffff);
  if (pthread_create(&t, &attr, WarmThread, reinterpret_cast<void*>(arg)) == 0) {
    g_warm_stop = stop[1];
  } else {
    ::close(stop[0]);
    ::close(stop[1]);
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return info.Env().Undefined();
}

// Our child, not yet reaped.
bool is_own_child(pid_t pid) {
  std::vector<std::string> fields = front::proc_stat_fields(pid, 2);
  return !fields.empty() && fields[1] == std::to_string(getpid());
}

// cgroupWriterAdopt(pid, fd) -> whether the front's warm-up process (pid, the write end fd
// of its stop pipe) is now ours to end; false for anything that is not such a pair.
Napi::Value CgroupWriterAdopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  struct stat st;
  bool pipe_end = fd > 2 && ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && (::fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY;
  if (g_warm_stop >= 0 || g_warm_process > 0 || pid <= 0 || !pipe_end || !is_own_child(pid)) return Napi::Boolean::New(env, false);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  g_warm_stop = fd;
  g_warm_process = pid;
  return Napi::Boolean::New(env, true);
}

// cgroupWriterCool(): the placement is done, the warm-up stops (an adopted process is
// reaped now if it has already exited, else by cgroupWriterReap).
Napi::Value CgroupWriterCool(const Napi::CallbackInfo& info) {
  if (g_warm_stop >= 0) ::close(g_warm_stop);
  g_warm_stop = -1;
  if (g_warm_process > 0 && ::waitpid(g_warm_process, nullptr, WNOHANG) != 0) g_warm_process = -1;
  return info.Env().Undefined();
}

// cgroupWriterReap(): as cgroupWriterCool, then wait for an adopted process (before hako exits).
Napi::Value CgroupWriterReap(const Napi::CallbackInfo& info) {
  CgroupWriterCool(info);
  while (g_warm_process > 0 && ::waitpid(g_warm_process, nullptr, 0) < 0 && errno == EINTR) {
  }
  g_warm_process = -1;
  return info.Env().Undefined();
}

}  // namespace

void RegisterCgroups(Napi::Env env, Napi::Object exports) {
  exports.Set("oomEventfd", Napi::Function::New(env, OomEventfd, "oomEventfd"));
  exports.Set("eventfdWait", Napi::Function::New(env, EventfdWait, "eventfdWait"));
  exports.Set("cgroupWriterWarm", Napi::Function::New(env, CgroupWriterWarm, "cgroupWriterWarm"));
  exports.Set("cgroupWriterAdopt", Napi::Function::New(env, CgroupWriterAdopt, "cgroupWriterAdopt"));
  exports.Set("cgroupWriterCool", Napi::Function::New(env, CgroupWriterCool, "cgroupWriterCool"));
  exports.Set("cgroupWriterReap", Napi::Function::New(env, CgroupWriterReap, "cgroupWriterReap"));
}

}  // namespace hako
