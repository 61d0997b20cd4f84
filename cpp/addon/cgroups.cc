// Cgroup primitives Node lacks. v1 OOM notification: an eventfd registered on a memory
// cgroup's memory.oom_control through its cgroup.event_control; the kernel signals it on
// every OOM in the cgroup and once more when the cgroup is removed.
#include "cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"
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

}  // namespace

void RegisterCgroups(Napi::Env env, Napi::Object exports) {
  exports.Set("oomEventfd", Napi::Function::New(env, OomEventfd, "oomEventfd"));
  exports.Set("eventfdWait", Napi::Function::New(env, EventfdWait, "eventfdWait"));
}

}  // namespace hako
