#include "init/stage0.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "common/unique_fd.h"
#include "init/debug_log.h"
#include "init/idmap.h"
#include "init/namespaces.h"
#include "init/sys.h"

namespace hako {
namespace {

// fork() with clone flags: a raw clone with a NULL stack returns in both processes on
// their own copy of the stack, like fork. The argument order after the stack differs
// between architectures, but every one of them is 0 here.
pid_t clone_init(uint64_t flags) {
  return static_cast<pid_t>(::syscall(SYS_clone, static_cast<unsigned long>(flags), nullptr, nullptr, nullptr, 0UL));
}

// struct clone_args of <linux/sched.h> up to its cgroup field (CLONE_ARGS_SIZE_VER2, 88
// bytes), spelled out: the libc headers may predate it.
struct CloneArgs {
  uint64_t flags = 0;
  uint64_t pidfd = 0;
  uint64_t child_tid = 0;
  uint64_t parent_tid = 0;
  uint64_t exit_signal = 0;
  uint64_t stack = 0;
  uint64_t stack_size = 0;
  uint64_t tls = 0;
  uint64_t set_tid = 0;
  uint64_t set_tid_size = 0;
  uint64_t cgroup = 0;
};
static_assert(sizeof(CloneArgs) == 88, "CLONE_ARGS_SIZE_VER2");

constexpr uint64_t CLONE_INTO_CGROUP_FLAG = 0x200000000ULL;

// clone_init, born in the cgroup2 directory cgroup_fd: clone3 with CLONE_INTO_CGROUP. No
// exit signal: with CLONE_PARENT the kernel wants 0 and gives the child stage 0's own.
pid_t clone_init_into(uint64_t flags, int cgroup_fd) {
  CloneArgs args;
  args.flags = flags | CLONE_INTO_CGROUP_FLAG;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

// A clone3 failure that says the kernel cannot clone into a cgroup at all, rather than
// refusing this clone: ENOSYS, no clone3 (before 5.3, or hidden by a seccomp profile
// such as Docker's default); E2BIG, a clone3 without the cgroup field (5.3 to 5.6);
// EINVAL, CLONE_INTO_CGROUP unknown.
bool cannot_clone_into_cgroup(int err) { return err == ENOSYS || err == E2BIG || err == EINVAL; }

// The cgroup2 directory of the plan, opened before stage 0 joins a mount namespace where
// the host path means something else. O_PATH is enough for CLONE_INTO_CGROUP and openat.
Result open_cgroup2_dir(const Plan& plan, unique_fd* out) {
  if (!plan.cgroup2_dir) return std::nullopt;
  out->reset(::open(plan.cgroup2_dir->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!*out) return errno_error("cgroup", "open cgroup " + quote(*plan.cgroup2_dir) + " to clone the process into it");
  return std::nullopt;
}

// What hako does where the kernel cannot clone into a cgroup: write the pid into
// cgroup.procs. Stage 0 writes its own ("0": the writer), and its clone inherits it.
Result move_self_into(int cgroup_fd, const std::string& dir) {
  unique_fd procs(::openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
  int err = procs ? write_all(procs.get(), "0") : errno;
  if (err != 0) return step_error(err, "cgroup", "write \"0\" to " + quote(dir + "/cgroup.procs"));
  return std::nullopt;
}

// Clones the container's init (or exec'd process) with flags (CLONE_PARENT, CLONE_NEW*)
// into the plan's cgroup2 directory when there is one (cgroup_fd >= 0).
Result clone_process(const Plan& plan, uint64_t flags, int cgroup_fd, pid_t* pid) {
  std::string what = "clone the container's init (" + ns_names(flags & (CLONE_NEWPID | CLONE_NEWCGROUP)) + ")";
  if (cgroup_fd >= 0) {
    *pid = clone_init_into(flags, cgroup_fd);
    if (*pid >= 0) return std::nullopt;
    if (!cannot_clone_into_cgroup(errno)) return errno_error("clone3", what + " into cgroup " + quote(*plan.cgroup2_dir));
    if (auto e = move_self_into(cgroup_fd, *plan.cgroup2_dir)) return e;
  }
  *pid = clone_init(flags | SIGCHLD);
  if (*pid < 0) return errno_error("clone", what);
  return std::nullopt;
}

// Stage 0 writes one byte on `go` after MSG_INIT_PID went out; the init waits for it.
// End of file without the byte means stage 0 failed: the init leaves quietly (its
// parent, hako, reaps it and reports stage 0's error).
void wait_for_stage0(int go) {
  char byte = 0;
  for (;;) {
    ssize_t n = ::read(go, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1) return;
    ::_exit(1);
  }
}

}  // namespace

// rlimits are set here, in the host's user namespace and before any uid change: a
// user-namespaced init could not raise a hard limit, and a parent without
// CAP_SYS_RESOURCE could not prlimit a process of another uid. The init inherits them.
static Result apply_rlimits(const Plan& plan) {
  static const char* const names[] = {
      "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",    "RLIMIT_STACK", "RLIMIT_CORE",       "RLIMIT_RSS",
      "RLIMIT_NPROC",    "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",    "RLIMIT_LOCKS",      "RLIMIT_SIGPENDING",
      "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO",  "RLIMIT_RTTIME",
  };
  for (const Rlimit& l : plan.rlimits) {
    struct rlimit rl = {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
    if (::setrlimit(static_cast<__rlimit_resource>(l.resource), &rl) < 0) {
      std::string name = l.resource < sizeof names / sizeof names[0] ? names[l.resource] : std::to_string(l.resource);
      return errno_error("setrlimit", "error setting rlimit type " + name);
    }
  }
  return std::nullopt;
}

Result run_stage0(const Plan& plan, SyncSocket& sync, Stage* stage) {
  unique_fd cgroup2;
  if (auto e = open_cgroup2_dir(plan, &cgroup2)) return e;
  if (auto e = apply_rlimits(plan)) return e;
  if (plan.oom_score_adj) {
    std::string value = std::to_string(*plan.oom_score_adj);
    int err = write_file("/proc/self/oom_score_adj", value);
    if (err != 0) return step_error(err, "oom_score_adj", "write " + value + " to \"/proc/self/oom_score_adj\"");
  }

  // Cloned into its cgroup2 directory, the process enters its cgroup namespace with the
  // clone (a new one: the root is then the cgroup it is born in) or right after it (a
  // joined one: stage 0, not in that cgroup, may not be able to see it).
  const uint64_t cgroup_ns_with_clone = cgroup2 ? (plan.clone_flags & CLONE_NEWCGROUP) : 0;
  LateNamespace cgroup_ns_later;
  // Id-mapped mounts need the host's credentials and namespaces: before any is joined.
  if (auto e = prepare_idmapped_mounts(plan, false)) return e;
  // Join first: the paths are host paths, opened with the host credentials, and a
  // namespace owned by the host user namespace can no longer be joined from a new one.
  if (debug_enabled()) debug_log("join " + std::to_string(plan.join_ns.size()) + " namespaces by path");
  if (auto e = join_namespaces(plan, cgroup2 ? &cgroup_ns_later : nullptr)) return e;
  if (plan.clone_flags & CLONE_NEWUSER) {
    debug_log("create the user namespace (the parent writes the id maps)");
    if (auto e = create_user_ns(plan, sync)) return e;
    if (auto e = prepare_idmapped_mounts(plan, true)) return e;
  }
  debug_log("unshare the remaining namespaces");
  if (auto e = unshare_namespaces(plan, cgroup_ns_with_clone)) return e;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return errno_error("clone", "pipe between stage 0 and the init");
  unique_fd go_read(pipe_fds[0]);
  unique_fd go_write(pipe_fds[1]);

  uint64_t flags = CLONE_PARENT | (plan.clone_flags & CLONE_NEWPID) | cgroup_ns_with_clone;
  pid_t pid = -1;
  if (auto e = clone_process(plan, flags, cgroup2.get(), &pid)) return e;
  if (pid == 0) {
    set_debug_stage(plan.has(FLAG_EXEC) ? "exec" : "init");
    go_write.reset();
    cgroup2.reset();
    wait_for_stage0(go_read.get());
    debug_log(plan.has(FLAG_EXEC) ? "~> the process: released by stage-0" : "~> the init: released by stage-0");
    if (auto e = join_late_namespace(cgroup_ns_later)) return e;
    *stage = Stage::kInit;
    return std::nullopt;
  }

  go_read.reset();
  if (debug_enabled()) debug_log(std::string("cloned ") + (plan.has(FLAG_EXEC) ? "the process (" : "the init (") + std::to_string(pid) + "), forward its pid to hako");
  std::string payload;
  put_u32(&payload, static_cast<uint32_t>(pid));
  if (auto e = sync.send(MSG_INIT_PID, payload)) {
    ::kill(pid, SIGKILL);
    return e;
  }
  if (write_all(go_write.get(), "1") != 0) {
    // The init cannot have gone anywhere but away; nothing left to tell it.
    ::kill(pid, SIGKILL);
  }
  debug_log("<~ hako-init stage-0");
  *stage = Stage::kStage0Done;
  return std::nullopt;
}

}  // namespace hako
