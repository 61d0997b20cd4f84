// The systemd cgroup driver's calls to systemd's manager over D-Bus, through sd-bus from
// libsystemd (loaded with dlopen on first use: a command without --systemd-cgroup never
// loads it).
#pragma once
#include <napi.h>

#include <string>

namespace hako {

void RegisterSystemd(Napi::Env env, Napi::Object exports);

/** StopUnit(unit, "replace") and wait for its job; a unit that is not loaded is no error. Throws std::runtime_error. */
void systemd_stop_unit(const std::string& unit);

}  // namespace hako
