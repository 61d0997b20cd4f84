// copyFd(from, to, options): a foreground container's stdio, copied on a thread of its
// own with blocking reads and writes. Neither engine's event loop is involved: a pipe
// the engine would read through a socket (Bun never reads one made from a pipe's fd)
// or write to synchronously (Bun: a full pipe stalls the whole loop, so `cat` fed and
// drained by hako deadlocks) is plain read(2) and write(2) here, and a full pipe only
// holds this thread.
#include "copy.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "own_thread.h"

namespace hako {
namespace {

// Waits for fd to be ready (a descriptor shared with someone who set O_NONBLOCK).
bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  int r;
  do r = ::poll(&p, 1, -1);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

class CopyJob : public OwnThreadJob {
 public:
  CopyJob(Napi::Env env, int from, int to, bool close_from, bool close_to)
      : OwnThreadJob(env), from_(from), to_(to), close_from_(close_from), close_to_(close_to) {}

  void Execute() override {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(from_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        if (wait_for(from_, POLLIN)) continue;
        fail(errno, "poll");
        break;
      }
      // A terminal's master reads EIO once every slave descriptor is closed: its end.
      if (n == 0 || (n < 0 && errno == EIO)) break;
      if (n < 0) {
        fail(errno, "read");
        break;
      }
      if (!write_all(buf, static_cast<size_t>(n))) break;
      bytes_ += static_cast<double>(n);
    }
    if (close_from_) ::close(from_);
    if (close_to_) ::close(to_);
  }

  void Settle(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    result.Set("bytes", Napi::Number::New(env, bytes_));
    // EPIPE: the reader went away (the container closed its stdin): an end, not a failure.
    if (err_ != 0 && !(err_ == EPIPE && !strcmp(syscall_, "write"))) result.Set("error", errno_error(env, err_, syscall_).Value());
    deferred_.Resolve(result);
  }

 private:
  bool write_all(const char* p, size_t len) {
    while (len > 0) {
      ssize_t w = ::write(to_, p, len);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        if (wait_for(to_, POLLOUT)) continue;
        fail(errno, "poll");
        return false;
      }
      if (w < 0) {
        fail(errno, "write");
        return false;
      }
      p += w;
      len -= static_cast<size_t>(w);
    }
    return true;
  }
  void fail(int err, const char* syscall) {
    err_ = err;
    syscall_ = syscall;
  }

  int from_;
  int to_;
  bool close_from_;
  bool close_to_;
  double bytes_ = 0;
  int err_ = 0;
  const char* syscall_ = "";
};

// copyFd(from, to, {closeFrom, closeTo, keepAlive}) -> Promise<{bytes, error?}>, settled
// at EOF on from (or EIO, a terminal's end) or when to refuses (EPIPE is not an error).
// The descriptors named in closeFrom/closeTo belong to the copy from then on: it closes
// them when it ends, so the caller never closes one a blocked write still uses.
Napi::Value CopyFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int from = info[0].As<Napi::Number>().Int32Value();
  int to = info[1].As<Napi::Number>().Int32Value();
  Napi::Object opts = info.Length() > 2 && info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
  auto flag = [&](const char* name, bool dflt) {
    Napi::Value v = opts.Get(name);
    return v.IsUndefined() ? dflt : v.ToBoolean().Value();
  };
  auto* job = new CopyJob(env, from, to, flag("closeFrom", false), flag("closeTo", false));
  return StartOwnThread(env, job, "copyFd", flag("keepAlive", true));
}

}  // namespace

void RegisterCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("copyFd", Napi::Function::New(env, CopyFd, "copyFd"));
}

}  // namespace hako
