// Long waits on threads of their own, never on the engine's worker pool.
//
// A waitpid, a recvmsg or a poll for a container's whole life would each hold one of the
// pool's threads (libuv's four under Node, one per CPU under Bun) and starve the file
// I/O that runs there. A job runs Execute() on a fresh thread (all signals blocked, so
// they keep going to the engine's thread) and Settle() later on the JavaScript thread,
// through a thread-safe function, to resolve or reject its promise.
#pragma once
#include <napi.h>

namespace hako {

class OwnThreadJob {
 public:
  explicit OwnThreadJob(Napi::Env env) : deferred_(Napi::Promise::Deferred::New(env)) {}
  virtual ~OwnThreadJob() = default;
  OwnThreadJob(const OwnThreadJob&) = delete;
  OwnThreadJob& operator=(const OwnThreadJob&) = delete;

  // On the job's own thread: the blocking work. No JavaScript values here.
  virtual void Execute() = 0;
  // On the JavaScript thread: resolve or reject deferred_.
  virtual void Settle(Napi::Env env) = 0;

 protected:
  Napi::Promise::Deferred deferred_;

  friend Napi::Value StartOwnThread(Napi::Env env, OwnThreadJob* job, const char* name, bool keep_alive);
};

// Takes ownership of job and returns its promise. keep_alive=false: the pending job does
// not keep the process alive (a copy from hako's stdin that may never see EOF). A thread
// that cannot be created rejects the promise (EAGAIN from pthread_create).
Napi::Value StartOwnThread(Napi::Env env, OwnThreadJob* job, const char* name, bool keep_alive = true);

}  // namespace hako
