#include "init/stage0.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/unique_fd.h"
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
  if (auto e = apply_rlimits(plan)) return e;
  if (plan.oom_score_adj) {
    std::string value = std::to_string(*plan.oom_score_adj);
    int err = write_file("/proc/self/oom_score_adj", value);
    if (err != 0) return step_error(err, "oom_score_adj", "write " + value + " to \"/proc/self/oom_score_adj\"");
  }

  // Join first: the paths are host paths, opened with the host credentials, and a
  // namespace owned by the host user namespace can no longer be joined from a new one.
  if (auto e = join_namespaces(plan)) return e;
  if (plan.clone_flags & CLONE_NEWUSER) {
    if (auto e = create_user_ns(plan, sync)) return e;
  }
  if (auto e = unshare_namespaces(plan)) return e;

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return errno_error("clone", "pipe between stage 0 and the init");
  unique_fd go_read(pipe_fds[0]);
  unique_fd go_write(pipe_fds[1]);

  uint64_t flags = CLONE_PARENT | SIGCHLD | (plan.clone_flags & CLONE_NEWPID);
  pid_t pid = clone_init(flags);
  if (pid < 0) return errno_error("clone", "clone the container's init (" + ns_names(flags & CLONE_NEWPID) + ")");
  if (pid == 0) {
    go_write.reset();
    wait_for_stage0(go_read.get());
    *stage = Stage::kInit;
    return std::nullopt;
  }

  go_read.reset();
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
  *stage = Stage::kStage0Done;
  return std::nullopt;
}

}  // namespace hako
