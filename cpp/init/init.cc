#include "init/init.h"

#include <unistd.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include <string>

#include "init/console.h"
#include "init/debug_log.h"
#include "init/hooks.h"
#include "init/namespaces.h"
#include "init/process.h"
#include "init/rootfs.h"
#include "init/seccomp.h"
#include "init/sys.h"

namespace hako {
namespace {


constexpr uint32_t MAX_PRESERVED_FDS = 1u << 20;

Result check_fd(const char* what, int fd, uint32_t preserved) {
  if (fd >= 0 && static_cast<uint32_t>(fd) < 3 + preserved) {
    return step_error(EINVAL, "plan",
                      std::string(what) + " fd " + std::to_string(fd) + " is among the " + std::to_string(preserved) +
                          " fds passed to the process");
  }
  return std::nullopt;
}

}  // namespace

Result check_plan(const Plan& plan, int sync_fd) {
  if (plan.args.empty()) return step_error(EINVAL, "plan", "process.args is empty");
  if (plan.has(FLAG_TERMINAL) && plan.fds.console_socket < 0) {
    return step_error(EINVAL, "plan", "process.terminal is set but there is no console socket");
  }
  uint32_t preserved = plan.fds.preserved;
  if (preserved > MAX_PRESERVED_FDS) {
    return step_error(EINVAL, "plan", std::to_string(preserved) + " preserved fds is more than hako-init takes");
  }
  if (auto e = check_fd("the sync socket", sync_fd, preserved)) return e;
  if (auto e = check_fd("the console socket", plan.fds.console_socket, preserved)) return e;
  if (auto e = check_fd("the exec fifo", plan.fds.exec_fifo, preserved)) return e;
  if (plan.seccomp) {
    bool listener = (plan.seccomp->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
    if (listener != (plan.seccomp->listener_socket >= 0)) {
      return step_error(EINVAL, "plan", "a seccomp listener needs a socket to go over, and a socket needs a listener");
    }
    if (auto e = check_fd("the seccomp listener socket", plan.seccomp->listener_socket, preserved)) return e;
  }
  return std::nullopt;
}

StepError run_init(const Plan& plan, SyncSocket& sync) {
  // The rootfs is set up in the container's mount namespace (created or joined), or,
  // without one, in hako's under a private bind of the rootfs that delete detaches. A
  // rootfs of "/" without a mount namespace is the host's own: nothing is mounted.
  const bool mount_ns = has_mount_ns(plan) || plan.rootfs != "/";
  const bool user_ns = uses_user_ns(plan);

  // A session of its own, as runc's init (its nsexec) has.
  if (::setsid() < 0) return errno_error("setsid", "setsid");
  if (mount_ns) {
    if (debug_enabled()) debug_log("prepare the rootfs " + plan.rootfs + " (" + std::to_string(plan.mounts.size()) + " mounts)");
    HAKO_STEP(prepare_rootfs(plan));
  }
  debug_log("ask hako to run the prestart and createRuntime hooks");
  HAKO_STEP(sync.send(MSG_RUN_HOOKS));
  HAKO_STEP(sync.expect(MSG_HOOKS_DONE));
  // createContainer: in the container's namespaces, the host's fs still visible (no pivot yet).
  debug_log("run the createContainer hooks");
  HAKO_STEP(run_hooks(plan, HOOK_CREATE_CONTAINER, plan.rootfs.c_str()));
  if (mount_ns) {
    debug_log(plan.has(FLAG_NO_PIVOT) ? "enter the rootfs (move and chroot)" : "enter the rootfs (pivot_root)");
    HAKO_STEP(enter_rootfs(plan));
    HAKO_STEP(create_cwd(plan));
  }
  if (plan.has(FLAG_TERMINAL)) {
    debug_log("set up the console");
    HAKO_STEP(setup_console(plan, mount_ns));
  }
  HAKO_STEP(set_host_names(plan));
  HAKO_STEP(write_sysctls(plan));
  if (mount_ns) {
    debug_log("finalize the rootfs (masked and read-only paths)");
    HAKO_STEP(finalize_rootfs(plan));
  }

  HAKO_STEP(join_session_keyring(plan));
  // rlimits: the parent sets them with prlimit once we report ready (as runc).
  HAKO_STEP(chown_stdio(plan));

  std::string path;
  debug_log("become the process (user, capabilities, seccomp)");
  HAKO_STEP(become_the_process(plan, user_ns, &path));

  close_debug_log("<~ the init: ready, closing the log pipe; waiting for start");
  HAKO_STEP(sync.send(MSG_READY));
  sync.close();
  HAKO_STEP(wait_for_start(plan));
  // startContainer: inside the rootfs, in process.cwd; a failure goes to the container's stderr.
  HAKO_STEP(run_hooks(plan, HOOK_START_CONTAINER, nullptr));
  return exec_process(plan, path);
}


}  // namespace hako
