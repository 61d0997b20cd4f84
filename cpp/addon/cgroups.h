// Cgroup primitives Node lacks: the v1 memory OOM eventfd.
#pragma once
#include <napi.h>

namespace hako {
void RegisterCgroups(Napi::Env env, Napi::Object exports);
}
