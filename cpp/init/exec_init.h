// hako exec (FLAG_EXEC): the process part of the init, for a process that joins a
// container instead of building one. Stage 0 (run_stage0) has joined every namespace of
// the container from plan.join_ns (user first), unshared nothing and cloned this process
// with CLONE_PARENT into the joined pid namespace; its rlimits are set. What is left is
// what runc's setns init does: no mounts, no pivot, no hooks, no exec fifo.
#pragma once

#include "common/plan.h"
#include "init/step.h"
#include "init/sync_io.h"

namespace hako {

// setsid (always, as runc), console (a pty from the container's /dev/ptmx, its master
// over the console socket; no /dev/console bind), session keyring, stdio ownership, seccomp
// (runc's points), cwd with the breakout check, bounding set, user and groups,
// capabilities, no_new_privs, args[0] lookup, MSG_READY, then every fd past the
// preserved ones closed and execve. Returns only on failure.
StepError run_exec(const Plan& plan, SyncSocket& sync);

}  // namespace hako
