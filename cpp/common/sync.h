// The sync protocol between hako (the parent) and hako-init, over one SOCK_STREAM
// socketpair: frames of u32 length (of type + payload), u32 type, payload; little-endian.
// src/container/sync.ts mirrors it.
//
// The conversation for create:
//   parent -> init  MSG_PLAN (the launch plan, plan.h)
//   init -> parent  MSG_NEED_MAPS            (only with FLAG_USERNS_MAPS: stage 0 unshared the user ns)
//   parent -> init  MSG_MAPS_WRITTEN         (uid_map, setgroups, gid_map written for stage 0's pid)
//   init -> parent  MSG_INIT_PID {u32 pid}   (stage 0 cloned the container's init; pid in hako's pid ns)
//                   stage 0 then exits 0; the init (stage 2) carries on with the same socket
//   init -> parent  MSG_RUN_HOOKS            (mounts and /dev done, before pivot_root: prestart/createRuntime)
//   parent -> init  MSG_HOOKS_DONE
//   init -> parent  MSG_READY                (everything done; about to block on the exec fifo)
//                   then init closes the socket.
//   either way      MSG_ERROR {u32 errno, str step, str message}: the sender gives up after sending it.
// A str inside a payload is u32 length + bytes.
#pragma once

#include <stdint.h>

namespace hako {

enum SyncMsg : uint32_t {
  MSG_PLAN = 1,
  MSG_MAPS_WRITTEN = 2,
  MSG_HOOKS_DONE = 3,
  MSG_NEED_MAPS = 10,
  MSG_INIT_PID = 11,
  MSG_RUN_HOOKS = 12,
  MSG_READY = 13,
  MSG_ERROR = 20,
};

inline constexpr uint32_t SYNC_MAX_FRAME = 64u << 20;

}  // namespace hako
