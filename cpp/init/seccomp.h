// Loading the seccomp filter the parent compiled (plan.seccomp).
#pragma once

#include "common/plan.h"
#include "init/step.h"

namespace hako {

// seccomp(SECCOMP_SET_MODE_FILTER, plan.seccomp->flags, program); nothing without
// plan.seccomp. Without no_new_privs it needs CAP_SYS_ADMIN, so run_init calls it before
// the capabilities are dropped; with no_new_privs, last, right before MSG_READY. With
// SECCOMP_FILTER_FLAG_NEW_LISTENER, *listener receives the notification fd (else -1).
Result load_seccomp(const Plan& plan, int* listener);

}  // namespace hako
