#include "init/exec_init.h"

#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>

#include "init/console.h"
#include "init/debug_log.h"
#include "init/namespaces.h"
#include "init/process.h"
#include "init/seccomp.h"
#include "init/sys.h"

namespace hako {

StepError run_exec(const Plan& plan, SyncSocket& sync) {
  const bool user_ns = uses_user_ns(plan);
  // execCPUAffinity.final: the process is in the container's cgroup by now (stage 0 was
  // moved there before it read the plan, which resets the affinity to what a cpuset
  // allows; or the process was cloned into its cgroup2 directory, which recent kernels
  // treat the same way), so this is after it, as in runc; and before any seccomp filter
  // could refuse the call.
  HAKO_STEP(set_cpu_affinity(plan));

  // A session of its own, with a terminal or not: runc's exec'd process is a session
  // leader either way (its nsexec calls setsid for every process it starts).
  if (::setsid() < 0) return errno_error("setsid", "setsid");
  // The pty comes from the container's devpts (stage 0 joined its mount namespace, whose
  // root is the container's).
  if (plan.has(FLAG_TERMINAL)) HAKO_STEP(setup_console(plan, /*bind_dev_console=*/false));
  HAKO_STEP(join_session_keyring(plan));
  HAKO_STEP(chown_stdio(plan));

  std::string path;
  debug_log("become the process (user, capabilities, seccomp)");
  HAKO_STEP(become_the_process(plan, user_ns, &path));

  close_debug_log("<~ the exec'd process: ready, closing the log pipe; about to exec");
  HAKO_STEP(sync.send(MSG_READY));
  sync.close();
  return exec_process(plan, path);
}


}  // namespace hako
