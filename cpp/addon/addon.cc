// The hako Node addon: the system calls TypeScript cannot make itself.
// Reached only through src/native.ts.
#include <napi.h>

#include "cgroups.h"
#include "copy.h"
#include "common/version.h"
#include "devices.h"
#include "files.h"
#include "front.h"
#include "netlink.h"
#include "notify.h"
#include "process.h"
#include "seccomp.h"
#include "systemd.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::String::New(env, HAKO_VERSION));
  hako::RegisterCgroups(env, exports);
  hako::RegisterCopy(env, exports);
  hako::RegisterDevices(env, exports);
  hako::RegisterFiles(env, exports);
  hako::RegisterFront(env, exports);
  hako::RegisterNetlink(env, exports);
  hako::RegisterNotify(env, exports);
  hako::RegisterProcess(env, exports);
  hako::RegisterSeccomp(env, exports);
  hako::RegisterSystemd(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(hako, Init)
