#include "errors.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <string>

namespace hako {

Napi::Error errno_error(Napi::Env env, int err, const char* syscall, const char* path) {
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
  return error;
}

void throw_errno(Napi::Env env, int err, const char* syscall, const char* path) {
  errno_error(env, err, syscall, path).ThrowAsJavaScriptException();
}

int wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace hako
