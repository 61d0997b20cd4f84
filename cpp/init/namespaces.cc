#include "init/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <vector>

#include "common/unique_fd.h"
#include "init/sys.h"

namespace hako {
namespace {

struct NsName {
  uint64_t flag;
  const char* name;
};

constexpr NsName NS_NAMES[] = {
    {CLONE_NEWUSER, "user"}, {CLONE_NEWNS, "mount"},   {CLONE_NEWUTS, "uts"},    {CLONE_NEWIPC, "ipc"},
    {CLONE_NEWNET, "net"},   {CLONE_NEWPID, "pid"},    {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWTIME, "time"},
};

// What unshare_namespaces creates: everything but the user (created first, alone) and
// pid (created by the clone of the init) namespaces.
constexpr uint64_t UNSHARE_MASK =
    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME;

// setresgid/setresuid to 0 in the user namespace just entered (its root must be mapped).
Result become_root() {
  if (::setresgid(0, 0, 0) < 0) return errno_error("setresgid", "setresgid to 0 in the user namespace");
  if (::setresuid(0, 0, 0) < 0) return errno_error("setresuid", "setresuid to 0 in the user namespace");
  return std::nullopt;
}

}  // namespace

std::string ns_names(uint64_t flags) {
  std::string out;
  for (const NsName& n : NS_NAMES) {
    if ((flags & n.flag) == 0) continue;
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

bool uses_user_ns(const Plan& plan) {
  if (plan.clone_flags & CLONE_NEWUSER) return true;
  for (const JoinNs& j : plan.join_ns) {
    if (j.clone_flag == CLONE_NEWUSER) return true;
  }
  return false;
}

bool has_mount_ns(const Plan& plan) {
  if (plan.clone_flags & CLONE_NEWNS) return true;
  for (const JoinNs& j : plan.join_ns) {
    if (j.clone_flag == CLONE_NEWNS) return true;
  }
  return false;
}

Result join_namespaces(const Plan& plan, LateNamespace* cgroup_ns_later) {
  std::vector<unique_fd> fds;
  fds.reserve(plan.join_ns.size());
  for (const JoinNs& j : plan.join_ns) {
    unique_fd fd(::open(j.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error("setns", "open " + ns_names(j.clone_flag) + " namespace " + quote(j.path));
    fds.push_back(std::move(fd));
  }
  for (size_t i = 0; i < plan.join_ns.size(); i++) {
    const JoinNs& j = plan.join_ns[i];
    if (j.clone_flag == CLONE_NEWCGROUP && cgroup_ns_later != nullptr) {
      *cgroup_ns_later = LateNamespace{std::move(fds[i]), j.path};
      continue;
    }
    if (::setns(fds[i].get(), static_cast<int>(j.clone_flag)) < 0) {
      return errno_error("setns", "join " + ns_names(j.clone_flag) + " namespace " + quote(j.path));
    }
    fds[i].reset();
    if (j.clone_flag == CLONE_NEWUSER) {
      if (auto e = become_root()) return e;
    }
  }
  return std::nullopt;
}

Result join_late_namespace(LateNamespace& ns) {
  if (!ns.fd) return std::nullopt;
  if (::setns(ns.fd.get(), CLONE_NEWCGROUP) < 0) return errno_error("setns", "join cgroup namespace " + quote(ns.path));
  ns.fd.reset();
  return std::nullopt;
}

namespace {
bool g_rootless_dumpable = false;
}  // namespace

bool rootless_dumpable() { return g_rootless_dumpable; }

Result create_user_ns(const Plan& plan, SyncSocket& sync) {
  // hako-init is not dumpable, which leaves its /proc files to the host's root: an
  // unprivileged hako could neither write the maps nor, later, open the init's namespaces
  // for exec. As runc, which is non-dumpable only when it joins namespaces by path, a
  // rootless init that joins none stays dumpable from here (everything in the container
  // runs as the user, or as ids the user owns, anyway); one that joins some only while
  // the maps are written.
  const bool rootless = ::geteuid() != 0;
  if (::unshare(CLONE_NEWUSER) < 0) return errno_error("unshare", "unshare the user namespace");
  if (!plan.has(FLAG_USERNS_MAPS)) return std::nullopt;
  if (rootless) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  Result r = sync.send(MSG_NEED_MAPS);
  if (!r) r = sync.expect(MSG_MAPS_WRITTEN);
  if (rootless && !plan.join_ns.empty()) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (r) return r;
  // A change of uid (become_root, the process's user later) makes the kernel reset the
  // flag: rootless_dumpable() says to set it again where the init waits for `start`.
  g_rootless_dumpable = rootless && plan.join_ns.empty();
  return become_root();
}

Result unshare_namespaces(const Plan& plan, uint64_t left_to_clone) {
  uint64_t flags = plan.clone_flags & UNSHARE_MASK & ~left_to_clone;
  if (flags != 0 && ::unshare(static_cast<int>(flags)) < 0) {
    return errno_error("unshare", "unshare namespaces (" + ns_names(flags) + ")");
  }
  if ((flags & CLONE_NEWTIME) == 0 || plan.time_offsets.empty()) return std::nullopt;
  // One line per clock: "<clock id> <secs> <nanos>", all in one write.
  std::string offsets;
  for (const TimeOffset& t : plan.time_offsets) {
    offsets += std::to_string(t.clock) + " " + std::to_string(t.secs) + " " + std::to_string(t.nanos) + "\n";
  }
  int err = write_file("/proc/self/timens_offsets", offsets);
  if (err != 0) return step_error(err, "timens_offsets", "write \"/proc/self/timens_offsets\"");
  return std::nullopt;
}

}  // namespace hako
