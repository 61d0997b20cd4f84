// File primitives Node lacks: flock, mkfifo, sealed memfd copies (of bytes or of a file).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
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

// fchmod 0555 and every seal against change (write, grow, shrink, further seals; exec-bit
// changes where the kernel has F_SEAL_EXEC): the syscall that failed, or nullptr.
const char* seal_copy(int fd) {
  if (::fchmod(fd, 0555) != 0) return "fchmod";
  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (::fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) != 0 && (errno != EINVAL || ::fcntl(fd, F_ADD_SEALS, seals) != 0)) {
    return "fcntl(F_ADD_SEALS)";
  }
  return nullptr;
}

// sealedCopy(name, bytes) -> fd of a memfd holding bytes, sealed against any change.
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
  if (const char* failed = seal_copy(fd.get())) {
    throw_errno(env, errno, failed, name.c_str());
    return env.Undefined();
  }
  return Napi::Number::New(env, fd.release());
}

// sealedCopyOfFile(name, path) -> fd of a memfd holding the file at path, sealed as
// sealedCopy's; undefined when there is no file at path. The copy is the kernel's
// (sendfile from the page cache into the memfd): about a third of reading the bytes into
// the engine and writing them back out.
Napi::Value SealedCopyOfFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  unique_fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    if (errno == ENOENT) return env.Undefined();
    throw_errno(env, errno, "open", path.c_str());
    return env.Undefined();
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0) {
    throw_errno(env, errno, "fstat", path.c_str());
    return env.Undefined();
  }
  if (!S_ISREG(st.st_mode)) {
    throw_errno(env, EINVAL, "open", path.c_str());
    return env.Undefined();
  }
  unique_fd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    throw_errno(env, errno, "memfd_create", name.c_str());
    return env.Undefined();
  }
  off_t at = 0;
  while (at < st.st_size) {
    ssize_t n = ::sendfile(fd.get(), in.get(), &at, static_cast<size_t>(st.st_size - at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw_errno(env, n < 0 ? errno : EIO, "sendfile", path.c_str());
      return env.Undefined();
    }
  }
  if (const char* failed = seal_copy(fd.get())) {
    throw_errno(env, errno, failed, name.c_str());
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
  exports.Set("sealedCopyOfFile", Napi::Function::New(env, SealedCopyOfFile, "sealedCopyOfFile"));
  exports.Set("seals", Napi::Function::New(env, Seals, "seals"));
}

}  // namespace hako
