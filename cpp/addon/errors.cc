#include "errors.h"

#include <string.h>

#include <string>

namespace hako {

void throw_errno(Napi::Env env, int err, const char* syscall, const char* path) {
  const char* name = strerrorname_np(err);
  std::string msg = syscall;
  if (path) {
    msg += " ";
    msg += path;
  }
  msg += ": ";
  msg += strerror(err);
  Napi::Error error = Napi::Error::New(env, msg);
  error.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path) error.Set("path", Napi::String::New(env, path));
  error.ThrowAsJavaScriptException();
}

}  // namespace hako
