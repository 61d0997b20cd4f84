// cgroup v2 device rules: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE.
#pragma once
#include <napi.h>

namespace hako {
void RegisterDevices(Napi::Env env, Napi::Object exports);
}
