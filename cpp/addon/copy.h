// Copying bytes between descriptors on threads of their own (a foreground container's stdio).
#pragma once
#include <napi.h>

namespace hako {

void RegisterCopy(Napi::Env env, Napi::Object exports);

}  // namespace hako
