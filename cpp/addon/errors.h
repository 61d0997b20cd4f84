// Turning a failed system call into a JavaScript Error with code, errno and syscall.
#pragma once
#include <napi.h>

namespace hako {

// Throws (as a pending JS exception) an Error like Node's own:
// message "<syscall> <path>: <strerror>", properties code ("ENOENT"), errno, syscall, path.
void throw_errno(Napi::Env env, int err, const char* syscall, const char* path = nullptr);

// The same Error, not thrown: for an AsyncWorker to reject its promise with.
Napi::Error errno_error(Napi::Env env, int err, const char* syscall, const char* path = nullptr);

// poll(2) for POLLIN on fd, retried on EINTR: 1 readable, 0 timed out, -1 with errno set.
int wait_readable(int fd, int timeout_ms);

}  // namespace hako
