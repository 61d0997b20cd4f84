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

  std::string path;
  STEP(become_the_process(plan, user_ns, &path));

  STEP(sync.send(MSG_READY));
  sync.close();
  return exec_process(plan, path);
}

#undef STEP

}  // namespace hako
