#pragma once
#include <napi.h>

namespace hako {
void RegisterNotify(Napi::Env env, Napi::Object exports);
}
