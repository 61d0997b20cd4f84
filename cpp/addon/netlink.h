// rtnetlink (NETLINK_ROUTE) primitives for linux.netDevices: look up a link and its
// addresses, set it up or down, move it into another network namespace under a new name,
// add an address. src/container/net-devices.ts decides what to do with them.
#pragma once
#include <napi.h>

namespace hako {
void RegisterNetlink(Napi::Env env, Napi::Object exports);
}
