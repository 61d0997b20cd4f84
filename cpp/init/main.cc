// hako-init: the container's first process, executed by hako from a sealed copy.
//
//   hako-init --version
//   hako-init --decode-plan      read a launch plan on stdin, print it as JSON (tests)
//   hako-init --sync <fd>        build the container the plan on <fd> describes
//             [--log-pipe <fd>]  with --debug: a line per step to <fd> (init/debug_log.h)
//
// With --sync: read MSG_PLAN, then stage 0 (namespaces, clone of the init) and, in the
// cloned init, stage 2 (rootfs, console, user, capabilities, exec); with FLAG_EXEC in
// the plan (hako exec) stage 0 joins the container and stage 2 is run_exec. Any failure goes
// back to hako as one MSG_ERROR and the process exits 1.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>

#include "common/plan.h"
#include "common/version.h"
#include "init/debug_log.h"
#include "init/exec_init.h"
#include "init/init.h"
#include "init/stage0.h"
#include "init/sync_io.h"
#include "init/sys.h"

namespace {

using hako::StepError;

constexpr char USAGE[] =
    "usage: hako-init --version | --decode-plan | --sync <fd> [--log-pipe <fd>]\n"
    "hako-init is started by hako, not by hand\n";

int decode_plan_from_stdin() {
  std::string bytes;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      hako::write_all(2, std::string("hako-init: read stdin: ") + strerror(errno) + "\n");
      return 1;
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  hako::Plan plan;
  std::string error;
  if (!hako::decode_plan(bytes, &plan, &error)) {
    hako::write_all(2, "hako-init: " + error + "\n");
    return 1;
  }
  return hako::write_all(1, hako::plan_to_json(plan) + "\n") == 0 ? 0 : 1;
}

// The one place a failure ends: to the parent while the sync socket is open, else to
// the container's stderr (after MSG_READY nobody listens on the socket), where runc
// writes "exec /x: exec format error".
[[noreturn]] void fail(hako::SyncSocket& sync, const StepError& e) {
  if (sync.fd() >= 0) {
    sync.send_error(e);
  } else {
    std::string line = e.message;
    if (e.err != 0) line += ": " + hako::go_strerror(e.err);
    hako::write_all(2, line + "\n");
  }
  ::_exit(1);
}

bool parse_fd(const char* s, int* fd) {
  char* end = nullptr;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 0x7fffffff) return false;
  *fd = static_cast<int>(v);
  return true;
}

int run(int sync_fd) {
  // No ptrace, no /proc/<pid>/{mem,fd,...} for anyone else while we build the container.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  // Executed through /proc/self/fd/N of a sealed memfd, our comm would be "N".
  ::prctl(PR_SET_NAME, "hako-init", 0, 0, 0);
  if (::fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0) {
    hako::write_all(2, "hako-init: sync fd " + std::to_string(sync_fd) + ": " + strerror(errno) + "\n");
    return 1;
  }
  hako::SyncSocket sync(sync_fd);
  hako::debug_log("~> hako-init stage-0, waiting for the plan");

  std::string bytes;
  if (auto e = sync.expect(hako::MSG_PLAN, &bytes)) fail(sync, *e);
  hako::Plan plan;
  std::string error;
  if (!hako::decode_plan(bytes, &plan, &error)) fail(sync, hako::step_error(EINVAL, "plan", error));
  if (auto e = hako::check_plan(plan, sync_fd)) fail(sync, *e);
  if (hako::debug_enabled()) {
    char flags[64];
    snprintf(flags, sizeof flags, "0x%llx", static_cast<unsigned long long>(plan.clone_flags));
    hako::debug_log(std::string("plan read (") + std::to_string(bytes.size()) + " bytes): " +
                    (plan.has(hako::FLAG_EXEC) ? "exec into a container" : "create a container") + ", clone flags " + flags);
  }

  hako::Stage stage = hako::Stage::kStage0Done;
  if (auto e = hako::run_stage0(plan, sync, &stage)) fail(sync, *e);
  if (stage == hako::Stage::kStage0Done) ::_exit(0);

  // hako exec: the process joined a container (stage 0 did it from plan.join_ns); only
  // the process part of the init is left.
  if (plan.has(hako::FLAG_EXEC)) fail(sync, hako::run_exec(plan, sync));
  fail(sync, hako::run_init(plan, sync));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    hako::write_all(1, "hako-init " HAKO_VERSION "\n");
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "--decode-plan") == 0) return decode_plan_from_stdin();
  int fd = -1, log_fd = -1;
  if (argc == 5 && strcmp(argv[3], "--log-pipe") == 0 && parse_fd(argv[4], &log_fd)) {
    hako::set_debug_fd(log_fd);
    argc = 3;
  }
  if (argc == 3 && strcmp(argv[1], "--sync") == 0 && parse_fd(argv[2], &fd)) return run(fd);
  hako::write_all(2, USAGE);
  return 2;
}
