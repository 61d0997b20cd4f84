#include "own_thread.h"

#include <pthread.h>
#include <signal.h>

#include "errors.h"

namespace hako {
namespace {

struct Running {
  OwnThreadJob* job;
  napi_threadsafe_function tsfn;
};

// On the JavaScript thread; env is null when the engine tears the function down before
// the call ran (the process is exiting): then the job is only freed.
void CallJs(napi_env env, napi_value, void*, void* data) {
  auto* job = static_cast<OwnThreadJob*>(data);
  if (env != nullptr) {
    Napi::Env e(env);
    Napi::HandleScope scope(e);
    job->Settle(e);
  }
  delete job;
}

void* Run(void* arg) {
  auto* running = static_cast<Running*>(arg);
  OwnThreadJob* job = running->job;
  napi_threadsafe_function tsfn = running->tsfn;
  delete running;
  job->Execute();
  // Not queued (the engine is closing the function): nobody else will free the job.
  if (napi_call_threadsafe_function(tsfn, job, napi_tsfn_blocking) != napi_ok) delete job;
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return nullptr;
}

}  // namespace

Napi::Value StartOwnThread(Napi::Env env, OwnThreadJob* job, const char* name, bool keep_alive) {
  Napi::Promise promise = job->deferred_.Promise();
  napi_value resource_name;
  napi_threadsafe_function tsfn;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_threadsafe_function(env, nullptr, nullptr, resource_name, 0, 1, nullptr, nullptr, nullptr, CallJs, &tsfn) != napi_ok) {
    delete job;
    Napi::Error::New(env, std::string(name) + ": napi_create_threadsafe_function failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!keep_alive) napi_unref_threadsafe_function(env, tsfn);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);  // the new thread inherits the mask
  auto* running = new Running{job, tsfn};
  pthread_t thread;
  int err = pthread_create(&thread, &attr, Run, running);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    delete running;
    napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
    job->deferred_.Reject(errno_error(env, err, "pthread_create").Value());
    delete job;
  }
  return promise;
}

}  // namespace hako
