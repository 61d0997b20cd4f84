#pragma once
#include <napi.h>

namespace hako {
void RegisterFront(Napi::Env env, Napi::Object exports);
}
