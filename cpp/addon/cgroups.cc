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
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
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

// The writer side of the kernel's cgroup_threadgroup_rwsem, which every write to a
// cgroup.procs takes, first waits for an RCU grace period (5-15 ms) when no writer held it
// within the last grace period, and then costs microseconds. hako warms it up at the start
// of create, run and exec, so that the placement of stage 0 later finds it warm: a
// thread writes "0" (this process) into the cgroup.procs of the cgroup this process is
// already in, a move that changes nothing, and again every few milliseconds, until
// cgroupWriterCool() or the time is up. Only where a cgroup v1 hierarchy is mounted (the
// cgroup2 placement clones the process into its cgroup, which takes only the reader side).

std::atomic<bool> g_cool{false};
std::atomic<bool> g_warming{false};

// <mount point><own path>/cgroup.procs in the first cgroup v1 hierarchy mounted at its
// root, from /proc/self/mountinfo and /proc/self/cgroup; "" when there is none.
std::string own_v1_procs_file() {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  std::string mountpoint;
  std::set<std::string> options;
  while (std::getline(mountinfo, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream pre(line.substr(0, dash));
    std::istringstream post(line.substr(dash + 3));
    std::string id, parent, dev, root, point, fstype, source, super;
    if (!(pre >> id >> parent >> dev >> root >> point) || !(post >> fstype >> source >> super)) continue;
    if (fstype != "cgroup" || root != "/" || point.find('\\') != std::string::npos) continue;
    mountpoint = point;
    std::istringstream opts(super);
    for (std::string o; std::getline(opts, o, ',');) options.insert(o);
    break;
  }
  if (mountpoint.empty()) return "";
  std::ifstream cgroup("/proc/self/cgroup");
  while (std::getline(cgroup, line)) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos || b == a + 1) continue;
    std::istringstream ctrls(line.substr(a + 1, b - a - 1));
    bool all = true;
    for (std::string c; std::getline(ctrls, c, ',');) all = all && options.count(c) > 0;
    if (!all) continue;
    std::string path = line.substr(b + 1);
    return mountpoint + (path == "/" ? "" : path) + "/cgroup.procs";
  }
  return "";
}

double now_ms() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

void* WarmLoop(void* arg) {
  double until = now_ms() + static_cast<double>(reinterpret_cast<intptr_t>(arg));
  std::string file = own_v1_procs_file();
  unique_fd fd(file.empty() ? -1 : ::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  while (fd && !g_cool.load() && now_ms() < until) {
    if (::write(fd.get(), "0", 1) < 0 && errno != EINTR) break;
    struct timespec pause = {0, 3 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
  g_warming = false;
  return nullptr;
}

// cgroupWriterWarm(ms): start the warm-up on a detached thread (all signals blocked).
Napi::Value CgroupWriterWarm(const Napi::CallbackInfo& info) {
  int ms = info[0].As<Napi::Number>().Int32Value();
  if (g_warming.exchange(true)) return info.Env().Undefined();
  g_cool = false;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  if (pthread_create(&t, &attr, WarmLoop, reinterpret_cast<void*>(static_cast<intptr_t>(ms))) != 0) g_warming = false;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return info.Env().Undefined();
}

// cgroupWriterCool(): the placement is done, the warm-up stops.
Napi::Value CgroupWriterCool(const Napi::CallbackInfo& info) {
  g_cool = true;
  return info.Env().Undefined();
}

}  // namespace

void RegisterCgroups(Napi::Env env, Napi::Object exports) {
  exports.Set("oomEventfd", Napi::Function::New(env, OomEventfd, "oomEventfd"));
  exports.Set("eventfdWait", Napi::Function::New(env, EventfdWait, "eventfdWait"));
  exports.Set("cgroupWriterWarm", Napi::Function::New(env, CgroupWriterWarm, "cgroupWriterWarm"));
  exports.Set("cgroupWriterCool", Napi::Function::New(env, CgroupWriterCool, "cgroupWriterCool"));
}

}  // namespace hako
