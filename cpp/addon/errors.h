// Turning a failed system call into a JavaScript Error with code, errno and syscall.
#pragma once
#include <napi.h>

namespace hako {

// Throws (as a pending JS exception) an Error like Node's own:
// message "<syscall> <path>: <strerror>", properties code ("ENOENT"), errno, syscall, path.
void throw_errno(Napi::Env env, int err, const char* syscall, const char* path = nullptr);

}  // namespace hako
