// Stage 2: the container's init (pid 1 of a new pid namespace), from the mounts to the
// exec of the user's process.
#pragma once

#include "common/plan.h"
#include "init/step.h"
#include "init/sync_io.h"

namespace hako {

// What the plan must satisfy before anything is created: args, a mount namespace when
// the rootfs is not "/", a console socket with a terminal, and hako's own fds (the sync
// socket, console socket, exec fifo) above the ones passed to the process.
Result check_plan(const Plan& plan, int sync_fd);

// Sets up the container and execs its process; returns only on failure. In order:
// prepare_rootfs, MSG_RUN_HOOKS / MSG_HOOKS_DONE, enter_rootfs, mkdir -p cwd, console,
// hostname, domainname, sysctls, finalize_rootfs, session keyring, rlimits, stdio ownership,
// seccomp (without no_new_privs), chdir (first try, as root), bounding set, user and
// groups, chdir (as the user, if the first try was refused), cwd check, capabilities,
// no_new_privs, args[0] lookup, seccomp (with no_new_privs), MSG_READY (then the sync
// socket is closed), exec fifo, close fds, execve.
// After MSG_READY a failure can no longer reach the parent: sync.fd() is then -1.
StepError run_init(const Plan& plan, SyncSocket& sync);

}  // namespace hako
