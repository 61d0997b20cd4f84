// File primitives Node lacks: flock, mkfifo, sealed memfd copies.
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"
#include "errors.h"
#include "files.h"

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace hako {
namespace {

bool write_all(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// flock(fd, exclusive, nonblocking) -> boolean (false: would block).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].ToBoolean();
  bool nonblock = info[2].ToBoolean();
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblock ? LOCK_NB : 0);
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && nonblock) return Napi::Boolean::New(env, false);
    throw_errno(env, errno, "flock");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// mkfifo(path, mode)
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  if (::mkfifo(path.c_str(), mode) != 0) throw_errno(env, errno, "mkfifo", path.c_str());
  return env.Undefined();
}

// sealedCopy(name, bytes) -> fd of a memfd holding bytes, sealed against any change
// (write, grow, shrink, further seals; exec-bit changes where the kernel has F_SEAL_EXEC).
Napi::Value SealedCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  unique_fd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    throw_errno(env, errno, "memfd_create", name.c_str());
    return env.Undefined();
  }
  if (!write_all(fd.get(), bytes.Data(), bytes.ByteLength())) {
    throw_errno(env, errno, "write", name.c_str());
    return env.Undefined();
  }
  if (::fchmod(fd.get(), 0555) != 0) {
    throw_errno(env, errno, "fchmod", name.c_str());
    return env.Undefined();
  }
  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(fd.get(), F_ADD_SEALS, seals | F_SEAL_EXEC) != 0 &&
      (errno != EINVAL || ::fcntl(fd.get(), F_ADD_SEALS, seals) != 0)) {
    throw_errno(env, errno, "fcntl(F_ADD_SEALS)", name.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, fd.release());
}

// seals(fd) -> the F_GET_SEALS bit mask.
Napi::Value Seals(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    throw_errno(env, errno, "fcntl(F_GET_SEALS)");
    return env.Undefined();
  }
  return Napi::Number::New(env, seals);
}

}  // namespace

void RegisterFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("sealedCopy", Napi::Function::New(env, SealedCopy, "sealedCopy"));
  exports.Set("seals", Napi::Function::New(env, Seals, "seals"));
}

}  // namespace hako
