// The kernel's cgroup writer lock, warmed up for a placement to come.
//
// The writer side of cgroup_threadgroup_rwsem, which every write to a cgroup.procs takes
// (with cgroup_mutex held, so a cgroup mkdir waits too), first waits for an RCU grace
// period (6-15 ms here) when no writer held it within the last grace period, and then
// costs microseconds. create, run and exec warm it up as early as they can, so that the
// placement of stage 0 finds it warm: "0" (the writer itself) is written into the
// cgroup.procs of the cgroup the writer is already in, a move that changes nothing, and
// again every 3 ms until told to stop. Only where a cgroup v1 hierarchy is mounted (the
// cgroup2 placement clones the process into its cgroup, which takes only the reader side).
//
// The front starts it in a process of its own before it hands over (the brain's engine
// takes 5 ms to start, most of a grace period), which first makes hako-init's sealed copy
// (sealed.cc, main.cc); the brain adopts that process (HAKO_CGROUP_WARM, see src/main.ts)
// or, run directly, warms up on a thread.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <set>

#include "front/front.h"

namespace hako::front {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t end = s.find(sep, at);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

double now_ms() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

}  // namespace

std::string own_v1_procs_file() {
  std::string text;
  int err = 0;
  if (!read_file("/proc/self/mountinfo", text, err)) return "";
  std::string mountpoint;
  std::set<std::string> options;
  for (const MountEntry& m : parse_mountinfo(text)) {
    // (a mount point mountinfo had to escape is passed over)
    if (m.fstype != "cgroup" || m.root != "/" || m.mount_point.find_first_of(" \t\n\\") != std::string::npos) continue;
    mountpoint = m.mount_point;
    for (const std::string& o : split(m.super_options, ',')) options.insert(o);
    break;
  }
  if (mountpoint.empty() || !read_file("/proc/self/cgroup", text, err)) return "";
  for (const std::string& line : split(text, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos || b == a + 1) continue;
    bool all = true;
    for (const std::string& c : split(line.substr(a + 1, b - a - 1), ',')) all = all && options.count(c) > 0;
    if (!all) continue;
    std::string path = line.substr(b + 1);
    return mountpoint + (path == "/" ? "" : path) + "/cgroup.procs";
  }
  return "";
}

void warm_cgroup_writer(int stop_fd, int ms) {
  double until = now_ms() + ms;
  std::string file = own_v1_procs_file();
  int fd = file.empty() ? -1 : ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  for (;;) {
    if (::write(fd, "0", 1) < 0 && errno != EINTR) break;
    double left = until - now_ms();
    if (left <= 0) break;
    struct pollfd stop = {stop_fd, POLLIN, 0};
    int n = ::poll(&stop, 1, left < 3 ? static_cast<int>(left) + 1 : 3);
    if (n > 0 || (n < 0 && errno != EINTR)) break;
  }
  ::close(fd);
}

WarmProcess start_warm_process(int ms, int init_memfd, const std::string& init_path) {
  int stop[2];
  if (::pipe2(stop, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(stop[0]);
    ::close(stop[1]);
    return {};
  }
  if (pid == 0) {
    if (init_memfd >= 0) copy_file_sealed(init_memfd, init_path);
    // Nothing of the caller's (its stdio, a console socket) is held here.
    int keep = ::fcntl(stop[0], F_DUPFD_CLOEXEC, 0);
    if (keep < 0) _exit(0);
    for (int fd = 0; fd < keep; fd++) ::close(fd);
    syscall(SYS_close_range, keep + 1, ~0U, 0);
    prctl(PR_SET_NAME, "hako-warm");
    warm_cgroup_writer(keep, ms);
    _exit(0);
  }
  ::close(stop[0]);
  // The brain's end: inherited through the handover's execve.
  return {pid, move_fd_high(stop[1], 256, true)};
}

void stop_warm_process(const WarmProcess& warm) {
  if (warm.pid <= 0) return;
  ::close(warm.stop_fd);
  ::kill(warm.pid, SIGKILL);
  while (::waitpid(warm.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace hako::front
