#pragma once
#include <napi.h>

namespace hako {
// seccompCompile, seccompLibrary, seccompArchToken, seccompFlagSupported, seccompSendToAgent.
void RegisterSeccomp(Napi::Env env, Napi::Object exports);
}
