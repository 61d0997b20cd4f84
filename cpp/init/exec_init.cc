#include "init/exec_init.h"

#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>

#include "init/console.h"
#include "init/namespaces.h"
#include "init/process.h"
#include "init/seccomp.h"
#include "init/sys.h"

namespace hako {
namespace {

#define STEP(call)            \
  do {                        \
    if (Result r_ = (call)) { \
      return std::move(*r_);  \
    }                         \
  } while (0)

Result exec_no_new_privs(const Plan& plan) {
  if (plan.has(FLAG_NO_NEW_PRIVS) && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return errno_error("no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return std::nullopt;
}

}  // namespace

StepError run_exec(const Plan& plan, SyncSocket& sync) {
  const bool user_ns = uses_user_ns(plan);

  // A session of its own, with a terminal or not: runc's exec'd process is a session
  // leader either way (its nsexec calls setsid for every process it starts).
  if (::setsid() < 0) return errno_error("setsid", "setsid");
  // The pty comes from the container's devpts (stage 0 joined its mount namespace, whose
  // root is the container's).
  if (plan.has(FLAG_TERMINAL)) STEP(setup_console(plan, /*bind_dev_console=*/false));
  STEP(join_session_keyring(plan));
  STEP(chown_stdio(plan));

  const bool nnp = plan.has(FLAG_NO_NEW_PRIVS);
  if (!nnp) STEP(load_seccomp(plan));

  bool in_cwd = false;
  STEP(change_dir(plan, /*first_try=*/true, &in_cwd));
  STEP(drop_bounding_set(plan));
  STEP(switch_user(plan, user_ns));
  if (!in_cwd) STEP(change_dir(plan, /*first_try=*/false, &in_cwd));
  STEP(verify_cwd());
  STEP(apply_capabilities(plan));
  STEP(exec_no_new_privs(plan));

  std::string path;
  STEP(look_up_executable(plan, &path));
  if (nnp) STEP(load_seccomp(plan));

  STEP(sync.send(MSG_READY));
  sync.close();
  return exec_process(plan, path);
}

#undef STEP

}  // namespace hako
