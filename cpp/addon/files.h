#pragma once
#include <napi.h>

namespace hako {
void RegisterFiles(Napi::Env env, Napi::Object exports);
}
