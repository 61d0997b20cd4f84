#pragma once
#include <napi.h>

namespace hako {
void RegisterProcess(Napi::Env env, Napi::Object exports);
}
