#include "init/process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vector>

#include "common/unique_fd.h"
#include "init/namespaces.h"
#include "init/seccomp.h"
#include "init/sys.h"

namespace hako {
namespace {

const char* cap_name(int cap) {
  static const char* const names[] = {
      "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",          "CAP_FSETID",
      "CAP_KILL",            "CAP_SETGID",         "CAP_SETUID",          "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",       "CAP_NET_RAW",         "CAP_IPC_LOCK",
      "CAP_IPC_OWNER",       "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",        "CAP_SYS_RESOURCE",
      "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",           "CAP_LEASE",           "CAP_AUDIT_WRITE",
      "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",        "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",
      "CAP_WAKE_ALARM",      "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",      "CAP_PERFMON",         "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  return cap >= 0 && static_cast<size_t>(cap) < sizeof names / sizeof names[0] ? names[cap] : nullptr;
}

std::string cap_str(int cap) {
  const char* name = cap_name(cap);
  return name != nullptr ? name : "capability " + std::to_string(cap);
}

std::string hex(uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return "0x" + out;
}

// The highest capability the running kernel knows: /proc/sys/kernel/cap_last_cap, or
// probing the bounding set where /proc does not say.
int last_cap() {
  static int cached = -1;
  if (cached >= 0) return cached;
  std::string text;
  if (read_file("/proc/sys/kernel/cap_last_cap", &text) == 0) {
    char* end = nullptr;
    long v = strtol(text.c_str(), &end, 10);
    if (end != text.c_str() && v >= 0 && v < 64) return cached = static_cast<int>(v);
  }
  int cap = 63;
  while (cap > 0 && ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) cap--;
  return cached = cap;
}

uint64_t known_caps_mask() {
  int last = last_cap();
  return last >= 63 ? ~0ull : (1ull << (last + 1)) - 1;
}

bool has_bit(uint64_t mask, int bit) { return (mask >> bit) & 1; }

// PATH's value in the container's environment (the last PATH= wins, as with setenv).
std::optional<std::string> env_path(const Plan& plan) {
  std::optional<std::string> path;
  for (const std::string& e : plan.env) {
    if (e.compare(0, 5, "PATH=") == 0) path = e.substr(5);
  }
  return path;
}

// As Go's findExecutable: 0, or the errno why `file` cannot be executed (a directory
// is "permission denied", as runc 1.1 says).
int check_executable(const std::string& file) {
  struct stat st;
  if (::stat(file.c_str(), &st) < 0) return errno;
  if (S_ISDIR(st.st_mode)) return EACCES;
  if (::faccessat(AT_FDCWD, file.c_str(), X_OK, AT_EACCESS) == 0) return 0;
  if (errno != ENOSYS && errno != EPERM) return errno;
  return (st.st_mode & 0111) != 0 ? 0 : EACCES;
}

// close_range(first, ~0), or closing what /proc/self/fd lists on kernels without it.
void close_fds_from(int first) {
  if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0u, 0u) == 0) return;
  std::vector<int> fds;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    int own = ::dirfd(dir);
    while (struct dirent* d = ::readdir(dir)) {
      char* end = nullptr;
      long fd = strtol(d->d_name, &end, 10);
      if (end == d->d_name || *end != '\0' || fd < first || fd == own) continue;
      fds.push_back(static_cast<int>(fd));
    }
    ::closedir(dir);
    for (int fd : fds) ::close(fd);
    return;
  }
  // No /proc either: close up to the fd limit.
  struct rlimit rl;
  long max = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) max = static_cast<long>(rl.rlim_cur);
  for (long fd = first; fd < max; fd++) ::close(static_cast<int>(fd));
}

void reset_signals() {
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &sa, nullptr);  // glibc's reserved signals refuse (EINVAL): fine
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

Result set_host_names(const Plan& plan) {
  if (plan.hostname && ::sethostname(plan.hostname->data(), plan.hostname->size()) < 0) {
    return errno_error("sethostname", "sethostname " + quote(*plan.hostname));
  }
  if (plan.domainname && ::setdomainname(plan.domainname->data(), plan.domainname->size()) < 0) {
    return errno_error("setdomainname", "setdomainname " + quote(*plan.domainname));
  }
  return std::nullopt;
}

Result write_sysctls(const Plan& plan) {
  for (const Sysctl& s : plan.sysctls) {
    std::string path = "/proc/sys/" + s.key;
    for (size_t i = 10; i < path.size(); i++) {
      if (path[i] == '.') path[i] = '/';
    }
    int err = write_file(path.c_str(), s.value);
    if (err != 0) return step_error(err, "sysctl", "write sysctl " + quote(s.key) + " to " + quote(path));
  }
  return std::nullopt;
}

Result join_session_keyring(const Plan& plan) {
  if (plan.has(FLAG_NO_NEW_KEYRING)) return std::nullopt;
  std::string name = "_ses." + plan.container_id;
  long id = ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str(), 0, 0, 0);
  if (id < 0) {
    if (errno == ENOSYS) return std::nullopt;  // no keyrings in this kernel: best effort, as runc
    return errno_error("keyring", "join session keyring " + quote(name));
  }
  // "type;uid;gid;perm;description": keep the permissions, add search.
  std::string desc(256, '\0');
  for (;;) {
    long n = ::syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc.data(), desc.size(), 0);
    if (n < 0) return errno_error("keyring", "describe session keyring " + quote(name));
    if (static_cast<size_t>(n) <= desc.size()) {
      desc.resize(n > 0 ? static_cast<size_t>(n) - 1 : 0);
      break;
    }
    desc.assign(static_cast<size_t>(n), '\0');
  }
  size_t field = 0, start = 0;
  for (size_t i = 0; i < desc.size() && field < 3; i++) {
    if (desc[i] == ';' && ++field == 3) start = i + 1;
  }
  char* end = nullptr;
  unsigned long perm = strtoul(desc.c_str() + start, &end, 16);
  if (field != 3 || end == desc.c_str() + start || *end != ';') {
    return step_error(EINVAL, "keyring",
                      "unexpected description " + quote(desc) + " of session keyring " + quote(name));
  }
  // KEY_OTH_SEARCH in a user namespace (the keyring's uid is not the container's), else
  // KEY_USR_SEARCH.
  uint32_t add = uses_user_ns(plan) ? 0x08u : 0x080000u;
  if (::syscall(SYS_keyctl, KEYCTL_SETPERM, id, static_cast<uint32_t>(perm) | add, 0, 0) < 0) {
    return errno_error("keyring", "set permissions of session keyring " + quote(name));
  }
  return std::nullopt;
}

Result chown_stdio(const Plan& plan) {
  // The container's pty (fds 0-2 by now) is always chowned, as runc does for run and
  // exec: its owner only, the group staying the devpts gid= (the tty group).
  const bool terminal = plan.has(FLAG_TERMINAL);
  if (!plan.has(FLAG_CHOWN_STDIO) && !terminal) return std::nullopt;
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (::fstat(fd, &st) < 0) {
      if (errno == EBADF) continue;
      return errno_error("chown_stdio", "stat fd " + std::to_string(fd));
    }
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) continue;  // never chown a /dev/null
    const uint32_t gid = terminal ? st.st_gid : plan.gid;
    if (st.st_uid == plan.uid && st.st_gid == gid) continue;
    if (::fchown(fd, plan.uid, gid) < 0) {
      // Closed, an owner not mapped in our user namespace, a read-only filesystem: the
      // fd stays as it is rather than failing the container.
      if (errno == EBADF || errno == EINVAL || errno == EPERM || errno == EROFS) continue;
      return errno_error("chown_stdio", "fchown fd " + std::to_string(fd) + " to " + std::to_string(plan.uid) + ":" +
                                            std::to_string(gid));
    }
  }
  return std::nullopt;
}

Result drop_bounding_set(const Plan& plan) {
  if (!plan.capabilities) return std::nullopt;
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++) {
    if (has_bit(plan.capabilities->bounding, cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      return errno_error("capabilities",
                         "drop " + cap_str(cap) + " from the bounding set (prctl PR_CAPBSET_DROP; not in /process/capabilities/bounding)");
    }
  }
  return std::nullopt;
}

Result switch_user(const Plan& plan, bool in_user_ns) {
  bool keep = plan.capabilities.has_value();
  if (keep && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return errno_error("setresuid", "prctl(PR_SET_KEEPCAPS, 1)");

  const std::vector<uint32_t>& groups = plan.additional_gids;
  if (::setgroups(groups.size(), reinterpret_cast<const gid_t*>(groups.data())) < 0) {
    // A user namespace whose setgroups is "deny" refuses even an empty list.
    int err = errno;
    if (!(err == EPERM && in_user_ns && groups.empty())) {
      std::string list;
      for (uint32_t g : groups) {
        if (!list.empty()) list += ' ';
        list += std::to_string(g);
      }
      return step_error(err, "setgroups", "setgroups [" + list + "]");
    }
  }
  if (::setresgid(plan.gid, plan.gid, plan.gid) < 0) {
    return errno_error("setresgid", "setresgid " + std::to_string(plan.gid));
  }
  if (::setresuid(plan.uid, plan.uid, plan.uid) < 0) {
    return errno_error("setresuid", "setresuid " + std::to_string(plan.uid));
  }

  if (keep && ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return errno_error("setresuid", "prctl(PR_SET_KEEPCAPS, 0)");
  if (plan.umask != UMASK_UNSET) ::umask(static_cast<mode_t>(plan.umask & 07777));
  return std::nullopt;
}

Result create_cwd(const Plan& plan) {
  const std::string& cwd = plan.cwd;
  for (size_t end = 1; end <= cwd.size(); end++) {
    if (end != cwd.size() && cwd[end] != '/') continue;
    if (cwd[end - 1] == '/') continue;  // "//" or a trailing "/"
    std::string dir = cwd.substr(0, end);
    if (::mkdir(dir.c_str(), 0755) == 0) continue;
    int err = errno;
    struct stat st;
    if (err == EEXIST) {
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      err = ENOTDIR;
    }
    return step_error(err, "mkdir", "mkdir " + dir);  // Go's words: "mkdir /etc/passwd: not a directory"
  }
  return std::nullopt;
}

Result change_dir(const Plan& plan, bool first_try, bool* done) {
  *done = false;
  if (::chdir(plan.cwd.c_str()) == 0) {
    *done = true;
    return std::nullopt;
  }
  if (first_try && (errno == EACCES || errno == EPERM)) return std::nullopt;  // again as the container's user
  // runc's words, which callers show as they are.
  return errno_error("chdir", "chdir to cwd (" + quote(plan.cwd) + ") set in config.json failed");
}

Result verify_cwd(const Plan& plan) {
  char buf[PATH_MAX + 1];
  // The raw system call: it shows what glibc's getcwd hides, "(unreachable)/...".
  long n = ::syscall(SYS_getcwd, buf, sizeof buf);
  if (n < 0 && errno != ENOENT) return errno_error("getcwd", "getcwd in cwd (" + quote(plan.cwd) + ") set in config.json");
  if (n < 0 || buf[0] != '/') {
    // errno 0: the parent prints the message alone, as runc does.
    return step_error(0, "getcwd",
                      "current working directory is outside of container mount namespace root -- possible container "
                      "breakout detected");
  }
  return std::nullopt;
}

Result apply_capabilities(const Plan& plan) {
  if (!plan.capabilities) return std::nullopt;
  const Capabilities& c = *plan.capabilities;
  uint64_t known = known_caps_mask();
  uint64_t eff = c.effective & known, perm = c.permitted & known, inh = c.inheritable & known;
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(eff);
  data[1].effective = static_cast<uint32_t>(eff >> 32);
  data[0].permitted = static_cast<uint32_t>(perm);
  data[1].permitted = static_cast<uint32_t>(perm >> 32);
  data[0].inheritable = static_cast<uint32_t>(inh);
  data[1].inheritable = static_cast<uint32_t>(inh >> 32);
  if (::syscall(SYS_capset, &header, data) < 0) {
    return errno_error("capabilities", "capset (effective " + hex(eff) + ", permitted " + hex(perm) + ", inheritable " +
                                           hex(inh) + ")");
  }

  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    if (errno == EINVAL && c.ambient == 0) return std::nullopt;  // a kernel without ambient capabilities
    return errno_error("capabilities", "clear the ambient capabilities");
  }
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++) {
    if (!has_bit(c.ambient, cap)) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      // Not in permitted and inheritable: the kernel refuses, and so does runc, quietly.
      if (errno == EPERM || errno == EINVAL) continue;
      return errno_error("capabilities", "raise ambient " + cap_str(cap));
    }
  }
  return std::nullopt;
}

Result look_up_executable(const Plan& plan, std::string* path) {
  if (plan.args.empty()) return step_error(EINVAL, "exec", "process.args is empty");
  const std::string& file = plan.args[0];
  // The messages are Go's exec.LookPath errors, which runc prints and callers match.
  if (file.find('/') != std::string::npos) {
    int err = check_executable(file);
    if (err == 0) {
      *path = file;
      return std::nullopt;
    }
    if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
      return step_error(err, "exec", "exec: " + quote(file) + ": stat " + file + ": " + go_strerror(err));
    }
    return step_error(err, "exec", "exec: " + quote(file) + ": " + go_strerror(err));
  }
  std::optional<std::string> dirs = env_path(plan);
  if (dirs) {
    std::string_view rest = *dirs;
    for (;;) {
      size_t colon = rest.find(':');
      std::string candidate(rest.substr(0, colon));
      if (candidate.empty()) candidate = '.';  // an empty entry is the current directory
      if (candidate.back() != '/') candidate += '/';
      candidate += file;
      if (check_executable(candidate) == 0) {
        if (candidate[0] != '/') {
          return step_error(0, "exec",
                            "exec: " + quote(file) + ": cannot run executable found relative to current directory");
        }
        *path = candidate;
        return std::nullopt;
      }
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  return step_error(ENOENT, "exec", "exec: " + quote(file) + ": executable file not found in $PATH");
}

namespace {

// A created container's init dies of SIGHUP, SIGINT, SIGTERM and SIGQUIT as runc's Go init
// does (it exits 2): as pid 1 of its namespace it would otherwise ignore them, and a
// manager stopping a never-started container would wait out its whole grace period.
void die_quietly(int) { ::_exit(2); }

void exit_on_termination_signals() {
  struct sigaction sa{};
  sa.sa_handler = die_quietly;
  ::sigemptyset(&sa.sa_mask);
  for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
}

// runc: without HOME in the environment, the user's home from the container's
// /etc/passwd, or "/".
std::string home_of(uint32_t uid) {
  std::string passwd;
  if (read_file("/etc/passwd", &passwd) != 0) return "/";
  size_t pos = 0;
  while (pos < passwd.size()) {
    size_t end = passwd.find('\n', pos);
    if (end == std::string::npos) end = passwd.size();
    std::string_view line(passwd.data() + pos, end - pos);
    pos = end + 1;
    // name:password:uid:gid:gecos:home:shell
    std::string_view f[7];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= line.size() && n < 7; i++) {
      if (i == line.size() || line[i] == ':') {
        f[n++] = line.substr(start, i - start);
        start = i + 1;
      }
    }
    if (n >= 6 && f[2] == std::to_string(uid) && !f[5].empty()) return std::string(f[5]);
  }
  return "/";
}

bool has_home(const std::vector<std::string>& env) {
  for (const std::string& e : env) {
    if (e.rfind("HOME=", 0) == 0) return true;
  }
  return false;
}

}  // namespace

Result wait_for_start(const Plan& plan) {
  if (plan.fds.exec_fifo < 0) return std::nullopt;
  exit_on_termination_signals();
  if (rootless_dumpable()) ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  std::string path = "/proc/self/fd/" + std::to_string(plan.fds.exec_fifo);
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);  // blocks until `hako start` opens it for reading
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error("exec_fifo", "open the exec fifo " + quote(path));
  unique_fd fifo(fd);
  if (int err = write_all(fifo.get(), "0")) return step_error(err, "exec_fifo", "write to the exec fifo");
  fifo.reset();
  ::close(plan.fds.exec_fifo);
  return std::nullopt;
}

std::vector<std::string> process_env(const Plan& plan) {
  std::vector<std::string> env = plan.env;
  if (!has_home(plan.env)) env.push_back("HOME=" + home_of(plan.uid));
  return env;
}

StepError exec_process(const Plan& plan, const std::string& path) {
  std::vector<char*> argv, envp;
  for (const std::string& a : plan.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
  std::string home;
  if (!has_home(plan.env)) {
    home = "HOME=" + home_of(plan.uid);
    envp.push_back(home.data());
  }
  envp.push_back(nullptr);

  close_fds_from(3 + static_cast<int>(plan.fds.preserved));
  reset_signals();
  ::execve(path.c_str(), argv.data(), envp.data());
  return errno_error("exec", "exec " + path);  // Go's words: "exec /x: exec format error"
}

Result set_no_new_privs(const Plan& plan) {
  if (plan.has(FLAG_NO_NEW_PRIVS) && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return errno_error("no_new_privs", "prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return std::nullopt;
}

namespace {

// struct sched_attr of <linux/sched/types.h> (SCHED_ATTR_SIZE_VER1), spelled out: that
// header redefines glibc's struct sched_param.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};
static_assert(sizeof(SchedAttr) == 56, "SCHED_ATTR_SIZE_VER1");

const char* policy_name(uint32_t policy) {
  static const char* const names[] = {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR",      "SCHED_BATCH",
                                      "SCHED_ISO",   "SCHED_IDLE", "SCHED_DEADLINE"};
  return policy < sizeof names / sizeof names[0] ? names[policy] : "an unknown policy";
}

// What the kernel most likely refused, where EPERM alone would leave the user guessing.
std::string scheduler_hint(const Scheduler& s, int err) {
  if (err != EPERM) return "";
  if (s.policy == SCHED_FIFO || s.policy == SCHED_RR) {
    return " (a real-time policy needs CAP_SYS_NICE and, on a kernel with CONFIG_RT_GROUP_SCHED, a real-time "
           "budget in the container's cgroup: linux.resources.cpu.realtimeRuntime > 0)";
  }
  if (s.policy == SCHED_DEADLINE) {
    return " (SCHED_DEADLINE needs CAP_SYS_NICE and a process allowed on every CPU of its root domain: not with "
           "linux.resources.cpu.cpus)";
  }
  return "";
}

}  // namespace

Result set_scheduler(const Plan& plan) {
  if (!plan.scheduler) return std::nullopt;
  const Scheduler& s = *plan.scheduler;
  SchedAttr attr = {};
  attr.size = sizeof attr;
  attr.sched_policy = s.policy;
  attr.sched_flags = s.flags;
  attr.sched_nice = s.nice;
  attr.sched_priority = s.priority;
  attr.sched_runtime = s.runtime;
  attr.sched_deadline = s.deadline;
  attr.sched_period = s.period;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0u) < 0) {
    int err = errno;
    std::string what = std::string(policy_name(s.policy)) + ", nice " + std::to_string(s.nice) + ", priority " +
                       std::to_string(s.priority);
    if (s.policy == SCHED_DEADLINE) {
      what += ", runtime " + std::to_string(s.runtime) + ", deadline " + std::to_string(s.deadline) + ", period " +
              std::to_string(s.period);
    }
    return step_error(err, "scheduler", "error setting scheduler (" + what + ")" + scheduler_hint(s, err));
  }
  return std::nullopt;
}

Result set_io_priority(const Plan& plan) {
  if (!plan.io_priority) return std::nullopt;
  // <linux/ioprio.h>: the class in the top bits, the level below. runc names the process
  // group (who 0); the process leads a group of its own here (setsid), so naming the
  // process itself is the same thing, and cannot reach anything else.
  constexpr int IOPRIO_WHO_PROCESS = 1;
  constexpr int IOPRIO_CLASS_SHIFT = 13;
  uint32_t value = (plan.io_priority->io_class << IOPRIO_CLASS_SHIFT) | plan.io_priority->priority;
  if (::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) < 0) {
    static const char* const classes[] = {"none", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
    return errno_error("ioprio", std::string("failed to set io priority (") + classes[plan.io_priority->io_class & 3] +
                                     ", priority " + std::to_string(plan.io_priority->priority) + ")");
  }
  return std::nullopt;
}

Result set_cpu_affinity(const Plan& plan) {
  if (!plan.cpu_affinity) return std::nullopt;
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string list;
  for (uint32_t cpu : *plan.cpu_affinity) {
    CPU_SET(cpu, &set);
    if (!list.empty()) list += ',';
    list += std::to_string(cpu);
  }
  if (::sched_setaffinity(0, sizeof set, &set) < 0) {
    return errno_error("cpu_affinity", "error setting final CPU affinity to CPUs " + list);
  }
  return std::nullopt;
}

Result set_memory_policy(const Plan& plan) {
  if (!plan.memory_policy) return std::nullopt;
  const MemoryPolicy& m = *plan.memory_policy;
  // A bit mask of CPU_SETSIZE_MAX nodes; the kernel reads maxnode - 1 bits of it.
  constexpr size_t WORDS = CPU_SETSIZE_MAX / 64;
  unsigned long mask[WORDS] = {};
  std::string list;
  for (uint32_t node : m.nodes) {
    mask[node / 64] |= 1ul << (node % 64);
    if (!list.empty()) list += ',';
    list += std::to_string(node);
  }
  const bool none = m.nodes.empty();
  long r = ::syscall(SYS_set_mempolicy, static_cast<int>(m.mode | m.flags), none ? nullptr : mask,
                     none ? 0ul : static_cast<unsigned long>(CPU_SETSIZE_MAX + 1));
  if (r < 0) {
    static const char* const modes[] = {"MPOL_DEFAULT", "MPOL_PREFERRED",      "MPOL_BIND",
                                        "MPOL_INTERLEAVE", "MPOL_LOCAL", "MPOL_PREFERRED_MANY",
                                        "MPOL_WEIGHTED_INTERLEAVE"};
    std::string mode = m.mode < sizeof modes / sizeof modes[0] ? modes[m.mode] : "mode " + std::to_string(m.mode);
    return errno_error("mempolicy", "set_mempolicy " + mode + " (flags " + hex(m.flags) + ", nodes \"" + list + "\")");
  }
  return std::nullopt;
}

Result set_personality(const Plan& plan) {
  if (!plan.personality) return std::nullopt;
  if (::personality(*plan.personality) < 0) {
    return errno_error("personality", "personality " + hex(*plan.personality));
  }
  return std::nullopt;
}

Result become_the_process(const Plan& plan, bool user_ns, std::string* path) {
  // The scheduler and the I/O priority first, as runc: as root with every capability
  // (a real-time policy or a lower nice needs CAP_SYS_NICE), before any seccomp filter.
  if (Result r = set_scheduler(plan)) return r;
  if (Result r = set_io_priority(plan)) return r;
  // The memory policy at runc 1.4's point: after those, before the filter.
  if (Result r = set_memory_policy(plan)) return r;
  // Seccomp at runc's points: without no_new_privs loading a filter takes CAP_SYS_ADMIN,
  // so before anything drops it; with no_new_privs as late as possible, so that the
  // filter has to allow as few of hako-init's own calls as possible.
  const bool nnp = plan.has(FLAG_NO_NEW_PRIVS);
  if (!nnp) {
    if (Result r = load_seccomp(plan)) return r;
  }
  // A step refused (EPERM, ENOSYS) once the early filter is in place may have been refused
  // by the filter, not the kernel: say so, and where the profile is.
  const bool filtered = !nnp && plan.seccomp.has_value();
  auto after_filter = [filtered](Result r, const char* syscall) -> Result {
    if (r && filtered && (r->err == EPERM || r->err == ENOSYS)) {
      r->message += std::string(" (the seccomp profile at /linux/seccomp, loaded before this step, may refuse ") + syscall + ")";
    }
    return r;
  };
  // As runc: try the cwd as root first (it may be a directory only hako's user can
  // reach), and again as the container's user when that was refused.
  bool in_cwd = false;
  if (Result r = after_filter(change_dir(plan, /*first_try=*/true, &in_cwd), "chdir")) return r;
  if (Result r = after_filter(drop_bounding_set(plan), "prctl")) return r;
  if (Result r = after_filter(switch_user(plan, user_ns), "setgroups, setresgid, setresuid and prctl")) return r;
  if (!in_cwd) {
    if (Result r = after_filter(change_dir(plan, /*first_try=*/false, &in_cwd), "chdir")) return r;
  }
  if (Result r = after_filter(verify_cwd(plan), "getcwd")) return r;
  if (Result r = after_filter(apply_capabilities(plan), "capset and prctl")) return r;
  if (Result r = after_filter(set_no_new_privs(plan), "prctl")) return r;
  // The personality at runc's points: an exec'd process sets it before the args[0]
  // lookup (and so before a late filter), the init after every filter.
  const bool exec = plan.has(FLAG_EXEC);
  if (exec) {
    if (Result r = after_filter(set_personality(plan), "personality")) return r;
  }
  // runc's words for args[0] (callers match them), the filter or not.
  if (Result r = look_up_executable(plan, path)) return r;
  if (nnp) {
    if (Result r = load_seccomp(plan)) return r;
  }
  if (!exec) return set_personality(plan);
  return std::nullopt;
}

}  // namespace hako
