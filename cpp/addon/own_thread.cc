#include "own_thread.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <mutex>

#include "errors.h"

namespace hako {
namespace {

// One running job, shared by its thread and the JavaScript side. Node deletes a
// thread-safe function when it tears the environment down (hako exiting while a copy
// of stdin is still blocked in read), whoever still holds it; a thread touching it then
// would use freed memory. So each job registers an environment cleanup hook, which runs
// before the function's own (hooks run newest first), and its thread calls the function
// only under the lock and only while the hook has not run.
struct Running {
  explicit Running(OwnThreadJob* j) : job(j) {}
  OwnThreadJob* job;
  napi_threadsafe_function tsfn = nullptr;
  std::mutex lock;
  bool closing = false;       // the environment's cleanup hook ran
  bool hook_removed = false;  // or the job settled first and removed it
  std::atomic<int> refs{2};   // the thread's, the hook registration's

  void Unref() {
    if (refs.fetch_sub(1) == 1) delete this;
  }
};

void EnvClosing(void* arg) {
  auto* r = static_cast<Running*>(arg);
  {
    std::lock_guard<std::mutex> g(r->lock);
    r->closing = true;
  }
  r->Unref();
}

// On the JavaScript thread. env is null when the engine drops a queued call while it
// closes the function; the job is then only freed.
void CallJs(napi_env env, napi_value, void* context, void* data) {
  auto* r = static_cast<Running*>(context);
  auto* job = static_cast<OwnThreadJob*>(data);
  bool settle = false;
  bool unref = false;
  if (env != nullptr) {
    std::lock_guard<std::mutex> g(r->lock);
    settle = !r->closing;
    if (!r->closing && !r->hook_removed) {
      napi_remove_env_cleanup_hook(env, EnvClosing, r);
      r->hook_removed = true;
      unref = true;
    }
  }
  if (settle) {
    Napi::Env e(env);
    Napi::HandleScope scope(e);
    job->Settle(e);
  }
  delete job;
  if (unref) r->Unref();
}

void* Run(void* arg) {
  auto* r = static_cast<Running*>(arg);
  r->job->Execute();
  {
    std::lock_guard<std::mutex> g(r->lock);
    bool queued = false;
    if (!r->closing) {
      // Unlimited queue: never blocks, so the lock is held only briefly.
      queued = napi_call_threadsafe_function(r->tsfn, r->job, napi_tsfn_nonblocking) == napi_ok;
      napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
    }
    if (!queued) delete r->job;
  }
  r->Unref();
  return nullptr;
}

}  // namespace

Napi::Value StartOwnThread(Napi::Env env, OwnThreadJob* job, const char* name, bool keep_alive) {
  Napi::Promise promise = job->deferred_.Promise();
  auto* r = new Running(job);
  napi_value resource_name;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_threadsafe_function(env, nullptr, nullptr, resource_name, 0, 1, nullptr, nullptr, r, CallJs, &r->tsfn) != napi_ok) {
    delete job;
    delete r;
    Napi::Error::New(env, std::string(name) + ": napi_create_threadsafe_function failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!keep_alive) napi_unref_threadsafe_function(env, r->tsfn);
  napi_add_env_cleanup_hook(env, EnvClosing, r);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);  // the new thread inherits the mask
  pthread_t thread;
  int err = pthread_create(&thread, &attr, Run, r);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    napi_remove_env_cleanup_hook(env, EnvClosing, r);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    job->deferred_.Reject(errno_error(env, err, "pthread_create").Value());
    delete job;
    delete r;
  }
  return promise;
}

}  // namespace hako
