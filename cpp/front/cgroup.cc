// The container's cgroup as the verbs need it, over the directories its record names:
// v1 (freezer.state) or v2 (cgroup.freeze, cgroup.events, cgroup.kill). Errors read as
// the brain's: "failed to write \"FROZEN\": write /sys/fs/cgroup/freezer/x/freezer.state: ...".
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "front/front.h"

namespace hako::front {
namespace {

std::string read_cgroup_file(const std::string& dir, const char* file) {
  std::string path = dir + "/" + file;
  auto text = read_trimmed(path);
  if (!text) throw system_failure("open", path, errno);
  return *text;
}

void write_cgroup_file(const std::string& dir, const char* file, const std::string& value) {
  std::string path = dir + "/" + file;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0666);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    ssize_t n;
    do n = ::write(fd, value.data(), value.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) err = errno;
    ::close(fd);
  }
  if (err) throw Failure{"failed to write " + json_quote(value) + ": write " + path + ": " + errno_text(err)};
}

// Sub-cgroups of dir, deepest first (the order they can be removed in).
void sub_cgroups(const std::string& dir, std::vector<std::string>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> subs;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_DIR) continue;
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    subs.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (auto& s : subs) {
    sub_cgroups(s, out);
    out.push_back(s);
  }
}

void procs_of(const std::string& dir, std::set<pid_t>& pids) {
  std::string text;
  int err = 0;
  std::string path = dir + "/cgroup.procs";
  if (!read_file(path, text, err)) {
    if (err == ENOENT) return;
    throw system_failure("open", path, err);
  }
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    if (nl > at) pids.insert(static_cast<pid_t>(std::stol(text.substr(at, nl - at))));
    at = nl + 1;
  }
}

void set_frozen_v2(const std::string& dir, bool frozen) {
  if (!path_exists(dir + "/cgroup.freeze")) throw Failure{"cgroup.freeze is not available in " + dir + " (kernel 5.2 or later)"};
  write_cgroup_file(dir, "cgroup.freeze", frozen ? "1" : "0");
  // cgroup.events says "frozen 1" once every process stopped.
  std::string want = frozen ? "frozen 1" : "frozen 0";
  for (int i = 0; i < 2000; i++) {
    std::string events = "\n" + read_cgroup_file(dir, "cgroup.events") + "\n";
    if (events.find("\n" + want + "\n") != std::string::npos) return;
    sleep_ms(1);
  }
  if (frozen) {
    write_cgroup_file(dir, "cgroup.freeze", "0");
    throw Failure{"unable to freeze: " + dir + "/cgroup.events never said frozen"};
  }
}

bool can_freeze(const CgroupInfo& cg) {
  if (cg.freezer.empty()) return false;
  return path_exists(cg.freezer + (cg.v2 ? "/cgroup.freeze" : "/freezer.state"));
}

void signal_pids(const std::vector<pid_t>& pids, int sig) {
  for (pid_t pid : pids) {
    if (::kill(pid, sig) != 0 && errno != ESRCH) {
      const char* name = strerrorname_np(errno);
      throw Failure{std::string("kill ") + (name ? name : "EUNKNOWN")};
    }
  }
}

void remove_tree(const std::string& dir) {
  int delay = 1;
  for (int attempt = 0;; attempt++) {
    std::vector<std::string> subs;
    sub_cgroups(dir, subs);
    subs.push_back(dir);
    int err = 0;
    std::string failed;
    for (auto& s : subs) {
      if (::rmdir(s.c_str()) != 0 && errno != ENOENT) {
        err = errno;
        failed = s;
        break;
      }
    }
    if (!err) return;
    // A cgroup whose last processes are still exiting answers EBUSY for a moment.
    if (err != EBUSY || attempt >= 12) throw system_failure("rmdir", failed, err);
    sleep_ms(delay);
    delay = std::min(delay * 2, 200);
  }
}

}  // namespace

bool cgroup_exists(const CgroupInfo& cg) {
  return path_exists(cg.probe);
}

bool cgroup_frozen(const CgroupInfo& cg) {
  if (cg.freezer.empty()) return false;
  if (cg.v2) return read_trimmed(cg.freezer + "/cgroup.freeze").value_or("") == "1";
  for (int i = 0; i < 50; i++) {
    auto state = read_trimmed(cg.freezer + "/freezer.state");
    if (!state || *state != "FREEZING") return state && *state == "FROZEN";
    sleep_ms(1);
  }
  return true;
}

void cgroup_freeze(const CgroupInfo& cg) {
  if (cg.freezer.empty()) throw Failure{"cannot pause the container: the freezer cgroup is not mounted"};
  if (cg.v2) return set_frozen_v2(cg.freezer, true);
  const std::string& dir = cg.freezer;
  write_cgroup_file(dir, "freezer.state", "FROZEN");
  // FREEZING until every task stopped; a task stuck in the kernel can keep it there, so
  // thaw and try again now and then, as runc does.
  for (int i = 0; i < 1000; i++) {
    if (i > 0 && i % 50 == 0) {
      write_cgroup_file(dir, "freezer.state", "THAWED");
      sleep_ms(1);
      write_cgroup_file(dir, "freezer.state", "FROZEN");
    }
    if (read_cgroup_file(dir, "freezer.state") == "FROZEN") return;
    sleep_ms(1);
  }
  write_cgroup_file(dir, "freezer.state", "THAWED");
  throw Failure{"unable to freeze: " + dir + "/freezer.state stayed FREEZING"};
}

void cgroup_thaw(const CgroupInfo& cg) {
  if (cg.freezer.empty()) throw Failure{"cannot resume the container: the freezer cgroup is not mounted"};
  if (cg.v2) return set_frozen_v2(cg.freezer, false);
  write_cgroup_file(cg.freezer, "freezer.state", "THAWED");
  for (int i = 0; i < 1000 && read_cgroup_file(cg.freezer, "freezer.state") != "THAWED"; i++) sleep_ms(1);
}

std::vector<pid_t> cgroup_pids(const CgroupInfo& cg) {
  std::set<pid_t> pids;
  for (auto& dir : cg.dirs) {
    procs_of(dir, pids);
    std::vector<std::string> subs;
    sub_cgroups(dir, subs);
    for (auto& s : subs) procs_of(s, pids);
  }
  return {pids.begin(), pids.end()};
}

// Frozen meanwhile so none forks away; a paused cgroup stays paused unless SIGKILL.
void cgroup_signal_all(const CgroupInfo& cg, int sig) {
  if (!can_freeze(cg)) return signal_pids(cgroup_pids(cg), sig);
  bool was_frozen = cgroup_frozen(cg);
  if (!was_frozen) cgroup_freeze(cg);
  stop_point("kill:frozen");
  try {
    signal_pids(cgroup_pids(cg), sig);
  } catch (...) {
    if (!was_frozen || sig == SIGKILL) cgroup_thaw(cg);
    throw;
  }
  if (!was_frozen || sig == SIGKILL) cgroup_thaw(cg);
}

void cgroup_kill_all(const CgroupInfo& cg) {
  if (cg.v2 && path_exists(cg.dirs[0] + "/cgroup.kill")) return write_cgroup_file(cg.dirs[0], "cgroup.kill", "1");
  cgroup_signal_all(cg, SIGKILL);
}

void cgroup_destroy(const CgroupInfo& cg) {
  for (auto& dir : cg.dirs) remove_tree(dir);
}

}  // namespace hako::front
