// sd_notify forwarding: AF_UNIX datagram sockets, which Node does not offer. The socket
// a container sends READY=1 to (bound in its state dir), and the one hako forwards it on
// to the host's $NOTIFY_SOCKET. Every fd is close-on-exec; a path starting with '@' names
// an abstract socket, as systemd and Go spell it.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstddef>
#include <string>

#include "common/unique_fd.h"
#include "errors.h"
#include "own_thread.h"
#include "notify.h"
#include "front/front.h"

namespace hako {
namespace {

using front::unix_address;

// The largest datagram kept whole; a longer one is cut to this, as runc reads it.
constexpr size_t kDatagramMax = 4096;

// notifyListen(path) -> fd: the front's notify_listen, a datagram socket bound at path,
// the file made 0777 so any user in the container may send to it. A failure's message is
// the front's: "listen unixgram <path>: <syscall> <path>: <reason>".
Napi::Value NotifyListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return Napi::Number::New(env, front::notify_listen(info[0].As<Napi::String>().Utf8Value()));
  } catch (const front::Failure& f) {
    Napi::Error::New(env, f.message).ThrowAsJavaScriptException();
    return env.Undefined();
  }
}

// notifyForward(listening, host, mainPid, initPid, initStartTime) -> Promise<boolean>: the
// front's forward_ready (start's) on a thread of its own: READY forwarded with
// MAINPID=mainPid, or false once the init is gone; a host socket that cannot be reached
// rejects with the front's message.
class ForwardJob : public OwnThreadJob {
 public:
  ForwardJob(Napi::Env env, int listening, std::string host, int64_t main_pid, front::Record rec)
      : OwnThreadJob(env), listening_(listening), host_(std::move(host)), main_pid_(main_pid), rec_(std::move(rec)) {}

  void Execute() override {
    try {
      forwarded_ = front::forward_ready(listening_, host_, main_pid_, rec_);
    } catch (const front::Failure& f) {
      failure_ = f.message;
      failed_ = true;
    } catch (const std::exception& e) {
      failure_ = e.what();
      failed_ = true;
    }
  }
  void Settle(Napi::Env env) override {
    if (failed_) return deferred_.Reject(Napi::Error::New(env, failure_).Value());
    deferred_.Resolve(Napi::Boolean::New(env, forwarded_));
  }

 private:
  int listening_;
  std::string host_;
  int64_t main_pid_;
  front::Record rec_;
  bool forwarded_ = false;
  bool failed_ = false;
  std::string failure_;
};

Napi::Value NotifyForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  front::Record rec;
  rec.pid = info[3].As<Napi::Number>().Int64Value();
  rec.init_start_time = info[4].As<Napi::String>().Utf8Value();
  auto* job = new ForwardJob(env, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value(),
                             info[2].As<Napi::Number>().Int64Value(), std::move(rec));
  return StartOwnThread(env, job, "notifyForward");
}

// notifyConnect(path) -> fd: an unbound datagram socket connected to path.
Napi::Value NotifyConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  sockaddr_un addr;
  socklen_t len;
  if (!unix_address(path, addr, len)) {
    throw_errno(env, errno, "connect", path.c_str());
    return env.Undefined();
  }
  unique_fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    throw_errno(env, errno, "socket", path.c_str());
    return env.Undefined();
  }
  int r;
  do r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len);
  while (r != 0 && errno == EINTR);
  if (r != 0) {
    throw_errno(env, errno, "connect", path.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, fd.release());
}

// notifySend(fd, bytes): one datagram on a connected socket.
Napi::Value NotifySend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  ssize_t n;
  do n = ::send(fd, bytes.Data(), bytes.ByteLength(), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno(env, errno, "send");
  return env.Undefined();
}

// Waits up to timeout ms for a datagram on a thread of its own; resolves to its bytes, or
// null when none came.
class RecvJob : public OwnThreadJob {
 public:
  RecvJob(Napi::Env env, int fd, int timeout) : OwnThreadJob(env), fd_(fd), timeout_(timeout) {}

  void Execute() override {
    int r = wait_readable(fd_, timeout_);
    if (r < 0) {
      fail(errno, "poll");
      return;
    }
    if (r == 0) return;
    ssize_t n;
    do n = ::recv(fd_, buf_, sizeof buf_, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {
      fail(errno, "recv");
      return;
    }
    len_ = static_cast<size_t>(n);
    got_ = true;
  }
  void Settle(Napi::Env env) override {
    if (err_) {
      deferred_.Reject(errno_error(env, err_, syscall_, "notify socket").Value());
      return;
    }
    if (!got_) {
      deferred_.Resolve(env.Null());
      return;
    }
    deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, buf_, len_));
  }

 private:
  void fail(int err, const char* syscall) {
    err_ = err;
    syscall_ = syscall;
  }
  int fd_;
  int timeout_;
  uint8_t buf_[kDatagramMax];
  size_t len_ = 0;
  bool got_ = false;
  int err_ = 0;
  const char* syscall_ = "";
};

// notifyRecv(fd, timeoutMs) -> Promise<Buffer | null>
Napi::Value NotifyRecv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return StartOwnThread(env, new RecvJob(env, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value()), "notifyRecv");
}

}  // namespace

void RegisterNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("notifyListen", Napi::Function::New(env, NotifyListen, "notifyListen"));
  exports.Set("notifyForward", Napi::Function::New(env, NotifyForward, "notifyForward"));
  exports.Set("notifyConnect", Napi::Function::New(env, NotifyConnect, "notifyConnect"));
  exports.Set("notifySend", Napi::Function::New(env, NotifySend, "notifySend"));
  exports.Set("notifyRecv", Napi::Function::New(env, NotifyRecv, "notifyRecv"));
}

}  // namespace hako
