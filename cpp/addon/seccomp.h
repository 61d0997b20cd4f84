#pragma once
#include <napi.h>

namespace hako {
// seccompCompile, seccompLibrary, seccompArchToken, seccompFlagSupported: see seccomp.cc.
void RegisterSeccomp(Napi::Env env, Napi::Object exports);
}
