// Loading the seccomp filter the parent compiled (plan.seccomp).
#pragma once

#include "common/plan.h"
#include "init/step.h"

namespace hako {

// seccomp(SECCOMP_SET_MODE_FILTER, plan.seccomp->flags, program); nothing without
// plan.seccomp. Without no_new_privs it needs CAP_SYS_ADMIN, so run_init calls it before
// the capabilities are dropped; with no_new_privs, last, right before MSG_READY.
// With SECCOMP_FILTER_FLAG_NEW_LISTENER the notification fd the kernel returns goes to
// the parent over plan.seccomp->listener_socket (one sendmsg: "seccompFd" and the fd),
// which hands it to the agent before anything else here can wait on that agent; then
// both fds are closed.
Result load_seccomp(const Plan& plan);

}  // namespace hako
