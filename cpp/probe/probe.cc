// hako-probe: run inside a container, prints one JSON object on stdout describing
// what the process sees (ids, capabilities, namespaces, mounts, limits, fds, ...).
// Tests assert on this report. A static program: no exceptions, no third-party code.
//
//   hako-probe [--stat PATH]... [--lstat PATH]... [--write PATH]...
//              [--notify-delay SECONDS] [--notify MESSAGE]...
//              [--exit N] [--sleep SECONDS]
//
// After the report: wait --notify-delay, send each --notify MESSAGE as one datagram to
// $NOTIFY_SOCKET (sd_notify: READY=1), then --sleep, then exit --exit.
//
// Conventions of the report (see write_report for the field list):
//   - a value that could not be read is null (never a made-up default);
//   - an unlimited rlimit is null;
//   - failures the caller asked about (--stat, --write) carry the errno name ("ENOENT");
//   - the fd list leaves out the probe's own directory fd used to list /proc/self/fd.

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"
#include "json.h"

extern char** environ;

namespace probe {
namespace {

// ---------------------------------------------------------------------------
// Small helpers: fds, files, strings.

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  char buf[32];
  snprintf(buf, sizeof buf, "E%d", err);  // unknown to this libc
  return buf;
}

// Reads a whole (usually /proc) file. Returns 0 or the errno of the failure.
int read_file(const char* path, std::string& out) {
  out.clear();
  hako::unique_fd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::string> read_link(const char* path) {
  char buf[PATH_MAX + 1];
  ssize_t n = readlink(path, buf, PATH_MAX);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> parse_int(std::string_view s, int base = 10) {
  std::string copy(trim(s));
  if (copy.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = strtoll(copy.c_str(), &end, base);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  std::string copy(trim(s));
  if (copy.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(copy.c_str(), &end, 16);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

void write_optional_int(JsonWriter& j, std::string_view name, std::optional<int64_t> v) {
  if (v) {
    j.field(name, *v);
  } else {
    j.null_field(name);
  }
}

// The value of one "Name:\tvalue" line of /proc/self/status, or nullopt.
std::optional<std::string_view> status_value(std::string_view status, std::string_view name) {
  for (std::string_view line : split(status, '\n')) {
    if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ':') {
      return trim(line.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    bool escape = s[i] == '\\' && s.size() - i >= 4 && s[i + 1] >= '0' && s[i + 1] <= '3' &&
                  s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7';
    if (escape) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string octal_mode(unsigned mode) {
  char buf[16];
  snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

// ---------------------------------------------------------------------------
// Command line.

struct Options {
  std::vector<std::string> stat_paths;
  std::vector<std::string> lstat_paths;
  std::vector<std::string> write_paths;
  std::vector<long> syscalls;
  int exit_code = 0;
  std::optional<double> sleep_seconds;
  std::vector<std::string> notify_messages;
  std::optional<double> notify_delay;
};

void usage(FILE* to) {
  fputs(
      "usage: hako-probe [--stat PATH]... [--lstat PATH]... [--write PATH]... [--syscall NR]...\n"
      "                  [--notify-delay SECONDS] [--notify MESSAGE]...\n"
      "                  [--exit N] [--sleep SECONDS|inf]\n"
      "Prints one JSON object describing the process's view of its container.\n",
      to);
}

// Returns false (after printing why) if the command line is bad.
bool parse_options(int argc, char** argv, Options& opts) {
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "hako-probe: %s: unknown option or missing value\n", argv[i]);
      return false;
    }
    const char* value = argv[++i];
    if (arg == "--stat") {
      opts.stat_paths.emplace_back(value);
    } else if (arg == "--lstat") {
      opts.lstat_paths.emplace_back(value);
    } else if (arg == "--write") {
      opts.write_paths.emplace_back(value);
    } else if (arg == "--syscall") {
      auto n = parse_int(value);
      if (!n || *n < 0) {
        fprintf(stderr, "hako-probe: --syscall %s: want a syscall number\n", value);
        return false;
      }
      opts.syscalls.push_back(static_cast<long>(*n));
    } else if (arg == "--exit") {
      auto n = parse_int(value);
      if (!n || *n < 0 || *n > 255) {
        fprintf(stderr, "hako-probe: --exit %s: want 0..255\n", value);
        return false;
      }
      opts.exit_code = static_cast<int>(*n);
    } else if (arg == "--sleep" || arg == "--notify-delay") {
      char* end = nullptr;
      double s = strtod(value, &end);
      if (*value == '\0' || *end != '\0' || !(s >= 0)) {
        fprintf(stderr, "hako-probe: %s %s: want seconds >= 0 or inf\n", argv[i - 1], value);
        return false;
      }
      (arg == "--sleep" ? opts.sleep_seconds : opts.notify_delay) = s;
    } else if (arg == "--notify") {
      opts.notify_messages.emplace_back(value);
    } else {
      fprintf(stderr, "hako-probe: %s: unknown option\n", argv[i - 1]);
      usage(stderr);
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Report sections: each writes its own fields into the open top-level object.

void section_argv(JsonWriter& j, int argc, char** argv) {
  j.key("argv");
  j.begin_array();
  for (int i = 0; i < argc; i++) j.string(argv[i]);
  j.end_array();
}

void section_process_ids(JsonWriter& j) {
  j.field("pid", static_cast<int64_t>(getpid()));
  j.field("ppid", static_cast<int64_t>(getppid()));
  j.field("pgid", static_cast<int64_t>(getpgrp()));
  j.field("sid", static_cast<int64_t>(getsid(0)));
}

// "Uid:" / "Gid:" lines hold real, effective, saved and filesystem ids.
void write_id_set(JsonWriter& j, std::string_view name, std::optional<std::string_view> line) {
  j.key(name);
  std::vector<std::string_view> ids;
  if (line) {
    for (std::string_view part : split(*line, '\t')) {
      if (!trim(part).empty()) ids.push_back(part);
    }
  }
  if (ids.size() != 4) {
    j.null();
    return;
  }
  static const char* const kNames[] = {"real", "effective", "saved", "fs"};
  j.begin_object();
  for (size_t i = 0; i < 4; i++) write_optional_int(j, kNames[i], parse_int(ids[i]));
  j.end_object();
}

void section_user(JsonWriter& j, std::string_view status) {
  write_id_set(j, "uid", status_value(status, "Uid"));
  write_id_set(j, "gid", status_value(status, "Gid"));
  j.key("groups");
  int n = getgroups(0, nullptr);
  if (n < 0) {
    j.null();
    return;
  }
  std::vector<gid_t> groups(static_cast<size_t>(n));
  n = getgroups(n, groups.data());
  j.begin_array();
  for (int i = 0; i < n; i++) j.unsigned_number(groups[static_cast<size_t>(i)]);
  j.end_array();
}

// Names as the OCI config spells them, indexed by capability number.
constexpr const char* kCapabilityNames[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
constexpr size_t kKnownCapabilities = sizeof kCapabilityNames / sizeof kCapabilityNames[0];

void write_capability_set(JsonWriter& j, std::string_view name, std::optional<std::string_view> hex) {
  j.key(name);
  std::optional<uint64_t> mask = hex ? parse_hex(*hex) : std::nullopt;
  if (!mask) {
    j.null();
    return;
  }
  j.begin_object();
  j.field("hex", *hex);
  j.key("names");
  j.begin_array();
  for (size_t bit = 0; bit < 64; bit++) {
    if ((*mask & (uint64_t{1} << bit)) == 0) continue;
    if (bit < kKnownCapabilities) {
      j.string(kCapabilityNames[bit]);
    } else {
      j.string("CAP_" + std::to_string(bit));  // newer than this table
    }
  }
  j.end_array();
  j.end_object();
}

void section_capabilities(JsonWriter& j, std::string_view status) {
  j.key("capabilities");
  j.begin_object();
  write_capability_set(j, "inheritable", status_value(status, "CapInh"));
  write_capability_set(j, "permitted", status_value(status, "CapPrm"));
  write_capability_set(j, "effective", status_value(status, "CapEff"));
  write_capability_set(j, "bounding", status_value(status, "CapBnd"));
  write_capability_set(j, "ambient", status_value(status, "CapAmb"));
  j.end_object();
}

void section_security(JsonWriter& j, std::string_view status) {
  int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  write_optional_int(j, "no_new_privs", nnp < 0 ? std::nullopt : std::optional<int64_t>(nnp));

  j.key("seccomp");
  j.begin_object();
  std::optional<int64_t> mode;
  if (auto v = status_value(status, "Seccomp")) mode = parse_int(*v);
  write_optional_int(j, "mode", mode);
  const char* mode_name = !mode ? nullptr : *mode == 0 ? "disabled" : *mode == 1 ? "strict" : *mode == 2 ? "filter" : "unknown";
  if (mode_name) {
    j.field("mode_name", mode_name);
  } else {
    j.null_field("mode_name");
  }
  std::optional<int64_t> filters;  // the line exists since Linux 5.9
  if (auto v = status_value(status, "Seccomp_filters")) filters = parse_int(*v);
  write_optional_int(j, "filters", filters);
  j.end_object();

  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  write_optional_int(j, "dumpable", dumpable < 0 ? std::nullopt : std::optional<int64_t>(dumpable));
}

void section_signals(JsonWriter& j, std::string_view status) {
  j.key("signals");
  j.begin_object();
  static const char* const kLines[][2] = {{"blocked", "SigBlk"}, {"ignored", "SigIgn"}, {"caught", "SigCgt"}};
  for (const auto& line : kLines) {
    if (auto v = status_value(status, line[1])) {
      j.field(line[0], *v);
    } else {
      j.null_field(line[0]);
    }
  }
  j.end_object();
}

void section_uts(JsonWriter& j) {
  struct utsname u;
  if (uname(&u) != 0) {
    j.null_field("hostname");
    j.null_field("domainname");
    return;
  }
  j.field("hostname", u.nodename);
  j.field("domainname", u.domainname);
}

void section_cwd_umask(JsonWriter& j, std::string_view status) {
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf) != nullptr) {
    j.field("cwd", buf);
  } else {
    j.null_field("cwd");
  }
  // "Umask:" exists since Linux 4.7; otherwise read it the only other way there is.
  std::optional<int64_t> mask;
  if (auto v = status_value(status, "Umask")) mask = parse_int(*v, 8);
  if (!mask) {
    mode_t old = umask(0);
    umask(old);
    mask = old;
  }
  j.field("umask", *mask);
  j.field("umask_octal", octal_mode(static_cast<unsigned>(*mask)));
}

void section_rlimits(JsonWriter& j) {
  static const struct {
    const char* name;
    int resource;
  } kLimits[] = {
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
  };
  const auto write_limit = [&](const char* name, rlim_t v) {
    if (v == RLIM_INFINITY) {
      j.null_field(name);  // unlimited
    } else {
      j.field(name, static_cast<unsigned long long>(v));
    }
  };
  j.key("rlimits");
  j.begin_object();
  for (const auto& limit : kLimits) {
    j.key(limit.name);
    struct rlimit rl;
    if (getrlimit(static_cast<__rlimit_resource>(limit.resource), &rl) != 0) {
      j.null();
      continue;
    }
    j.begin_object();
    write_limit("soft", rl.rlim_cur);
    write_limit("hard", rl.rlim_max);
    j.end_object();
  }
  j.end_object();
}

void section_env(JsonWriter& j) {
  j.key("env");
  j.begin_array();
  for (char** e = environ; e != nullptr && *e != nullptr; e++) j.string(*e);
  j.end_array();
}

// Open fds -> readlink of /proc/self/fd/N, without the directory fd used to list them.
void section_fds(JsonWriter& j) {
  j.key("fds");
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    j.null();
    return;
  }
  int own = dirfd(dir);
  std::vector<int> fds;
  while (struct dirent* d = readdir(dir)) {
    auto n = parse_int(d->d_name);
    if (n && *n != own) fds.push_back(static_cast<int>(*n));
  }
  closedir(dir);
  j.begin_object();
  for (int fd : fds) {
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    auto target = read_link(path.c_str());
    if (target) {
      j.field(std::to_string(fd), *target);
    } else {
      j.null_field(std::to_string(fd));
    }
  }
  j.end_object();
}

void section_tty(JsonWriter& j) {
  j.key("tty");
  j.begin_object();
  j.field("stdin", isatty(0) == 1);
  j.field("stdout", isatty(1) == 1);
  j.field("stderr", isatty(2) == 1);
  j.end_object();
}

// Every /proc/self/ns/* link ("net:[4026531840]") -> its inode number.
void section_namespaces(JsonWriter& j) {
  j.key("namespaces");
  DIR* dir = opendir("/proc/self/ns");
  if (dir == nullptr) {
    j.null();
    return;
  }
  std::vector<std::string> names;
  while (struct dirent* d = readdir(dir)) {
    if (d->d_name[0] != '.') names.emplace_back(d->d_name);
  }
  closedir(dir);
  j.begin_object();
  for (const std::string& name : names) {
    std::string path = "/proc/self/ns/" + name;
    auto target = read_link(path.c_str());
    std::optional<int64_t> inode;
    if (target) {
      size_t open = target->find('[');
      size_t close = target->rfind(']');
      if (open != std::string::npos && close != std::string::npos && close > open) {
        inode = parse_int(std::string_view(*target).substr(open + 1, close - open - 1));
      }
    }
    write_optional_int(j, name, inode);
  }
  j.end_object();
}

void write_string_list(JsonWriter& j, std::string_view name, std::string_view comma_list) {
  j.key(name);
  j.begin_array();
  if (!comma_list.empty()) {
    for (std::string_view part : split(comma_list, ',')) j.string(part);
  }
  j.end_array();
}

// Optional fields "shared:N", "master:N", "propagate_from:N", "unbindable" -> one word,
// or "shared,slave" for a mount that is both.
std::string propagation_of(const std::vector<std::string_view>& optional_fields) {
  bool shared = false, slave = false, unbindable = false;
  for (std::string_view f : optional_fields) {
    if (f.substr(0, 7) == "shared:") shared = true;
    if (f.substr(0, 7) == "master:") slave = true;
    if (f == "unbindable") unbindable = true;
  }
  if (unbindable) return "unbindable";
  if (shared && slave) return "shared,slave";
  if (shared) return "shared";
  if (slave) return "slave";
  return "private";
}

// One mountinfo line:
// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
void write_mount(JsonWriter& j, std::string_view line) {
  // Fields are separated by exactly one space; an empty source stays an empty field.
  std::vector<std::string_view> fields = split(line, ' ');
  size_t dash = 6;
  while (dash < fields.size() && fields[dash] != "-") dash++;
  if (dash + 3 > fields.size()) {  // need "-", fs type and source after the dash
    j.begin_object();
    j.field("unparsed", line);
    j.end_object();
    return;
  }
  std::vector<std::string_view> optional_fields(fields.begin() + 6, fields.begin() + static_cast<long>(dash));
  j.begin_object();
  write_optional_int(j, "id", parse_int(fields[0]));
  write_optional_int(j, "parent", parse_int(fields[1]));
  j.field("dev", fields[2]);
  j.field("root", unescape_octal(fields[3]));
  j.field("mount_point", unescape_octal(fields[4]));
  write_string_list(j, "options", fields[5]);
  j.key("optional_fields");
  j.begin_array();
  for (std::string_view f : optional_fields) j.string(f);
  j.end_array();
  j.field("propagation", propagation_of(optional_fields));
  j.field("fs_type", unescape_octal(fields[dash + 1]));
  j.field("source", unescape_octal(fields[dash + 2]));
  write_string_list(j, "super_options", dash + 3 < fields.size() ? fields[dash + 3] : std::string_view());
  j.end_object();
}

void section_mounts(JsonWriter& j) {
  j.key("mounts");
  std::string text;
  if (read_file("/proc/self/mountinfo", text) != 0) {
    j.null();
    return;
  }
  j.begin_array();
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty()) write_mount(j, line);
  }
  j.end_array();
}

void section_oom_score_adj(JsonWriter& j) {
  std::string text;
  std::optional<int64_t> v;
  if (read_file("/proc/self/oom_score_adj", text) == 0) v = parse_int(text);
  write_optional_int(j, "oom_score_adj", v);
}

// /proc/self/cgroup lines "ID:controller,list:/path" (v2: "0::/path").
void section_cgroup(JsonWriter& j) {
  j.key("cgroup");
  std::string text;
  if (read_file("/proc/self/cgroup", text) != 0) {
    j.null();
    return;
  }
  j.begin_array();
  for (std::string_view line : split(text, '\n')) {
    if (line.empty()) continue;
    size_t first = line.find(':');
    size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    j.begin_object();
    if (second == std::string_view::npos) {
      j.field("unparsed", line);
    } else {
      write_optional_int(j, "id", parse_int(line.substr(0, first)));
      write_string_list(j, "controllers", line.substr(first + 1, second - first - 1));
      j.field("path", line.substr(second + 1));
    }
    j.end_object();
  }
  j.end_array();
}

void section_personality(JsonWriter& j) {
  int p = personality(0xffffffff);
  j.key("personality");
  if (p < 0) {
    j.null();
    return;
  }
  j.begin_object();
  j.field("value", p);
  int domain = p & PER_MASK;
  j.field("domain", domain == PER_LINUX ? "LINUX" : domain == PER_LINUX32 ? "LINUX32" : "other");
  j.end_object();
}

void section_scheduler(JsonWriter& j) {
  j.key("scheduler");
  int policy = sched_getscheduler(0);
  if (policy < 0) {
    j.null();
    return;
  }
  bool reset_on_fork = (policy & SCHED_RESET_ON_FORK) != 0;
  policy &= ~SCHED_RESET_ON_FORK;
  const char* name = policy == SCHED_OTHER      ? "SCHED_OTHER"
                     : policy == SCHED_FIFO     ? "SCHED_FIFO"
                     : policy == SCHED_RR       ? "SCHED_RR"
                     : policy == SCHED_BATCH    ? "SCHED_BATCH"
                     : policy == SCHED_IDLE     ? "SCHED_IDLE"
                     : policy == 6              ? "SCHED_DEADLINE"
                                                : "unknown";
  j.begin_object();
  j.field("policy", name);
  j.field("reset_on_fork", reset_on_fork);
  struct sched_param param;
  write_optional_int(j, "priority", sched_getparam(0, &param) == 0 ? std::optional<int64_t>(param.sched_priority) : std::nullopt);
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  write_optional_int(j, "nice", errno == 0 ? std::optional<int64_t>(nice) : std::nullopt);
  j.end_object();
}

// ioprio_get(IOPRIO_WHO_PROCESS, 0): the class and level (<linux/ioprio.h>).
void section_io_priority(JsonWriter& j) {
  j.key("io_priority");
  long v = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
  if (v < 0) {
    j.null();
    return;
  }
  int io_class = static_cast<int>(v >> 13);
  static const char* const names[] = {"IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"};
  j.begin_object();
  j.field("value", static_cast<int64_t>(v));
  j.field("class", io_class < 4 ? names[io_class] : "unknown");
  j.field("priority", static_cast<int64_t>(v & 0x1fff));
  j.end_object();
}

// sched_getaffinity(0): the CPUs the process may run on, as a sorted list and as "0-1,3".
void section_cpu_affinity(JsonWriter& j) {
  j.key("cpu_affinity");
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) < 0) {
    j.null();
    return;
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  std::string list;
  for (size_t i = 0; i < cpus.size();) {
    size_t k = i;
    while (k + 1 < cpus.size() && cpus[k + 1] == cpus[k] + 1) k++;
    if (!list.empty()) list += ',';
    list += std::to_string(cpus[i]);
    if (k > i) {
      list += '-';
      list += std::to_string(cpus[k]);
    }
    i = k + 1;
  }
  j.begin_object();
  j.key("cpus");
  j.begin_array();
  for (int cpu : cpus) j.number(cpu);
  j.end_array();
  j.field("list", list);
  j.end_object();
}

// get_mempolicy(&mode, nodes, ...): the calling thread's NUMA memory policy.
void section_memory_policy(JsonWriter& j) {
  j.key("memory_policy");
  int mode = 0;
  unsigned long nodes[1024 / 64] = {};
  if (syscall(SYS_get_mempolicy, &mode, nodes, 1024ul + 1, nullptr, 0ul) < 0) {
    j.null();
    return;
  }
  static const char* const names[] = {"MPOL_DEFAULT", "MPOL_PREFERRED",      "MPOL_BIND",
                                      "MPOL_INTERLEAVE", "MPOL_LOCAL", "MPOL_PREFERRED_MANY",
                                      "MPOL_WEIGHTED_INTERLEAVE"};
  const int flag_bits = (1 << 15) | (1 << 14) | (1 << 13);  // MPOL_F_STATIC_NODES, RELATIVE_NODES, NUMA_BALANCING
  int base = mode & ~flag_bits;
  j.begin_object();
  j.field("mode", base >= 0 && base < 7 ? names[base] : "unknown");
  j.key("flags");
  j.begin_array();
  if (mode & (1 << 13)) j.string("MPOL_F_NUMA_BALANCING");
  if (mode & (1 << 14)) j.string("MPOL_F_RELATIVE_NODES");
  if (mode & (1 << 15)) j.string("MPOL_F_STATIC_NODES");
  j.end_array();
  j.key("nodes");
  j.begin_array();
  for (int n = 0; n < 1024; n++) {
    if (nodes[n / 64] & (1ul << (n % 64))) j.number(n);
  }
  j.end_array();
  j.end_object();
}

const char* file_type(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    default: return "unknown";
  }
}

void write_stat_result(JsonWriter& j, const std::string& path, bool follow) {
  struct stat st;
  j.key(path);
  j.begin_object();
  if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) != 0) {
    j.field("error", errno_name(errno));
    j.end_object();
    return;
  }
  j.field("type", file_type(st.st_mode));
  j.field("mode", static_cast<unsigned>(st.st_mode & 07777));
  j.field("mode_octal", octal_mode(st.st_mode & 07777));
  j.field("uid", static_cast<unsigned>(st.st_uid));
  j.field("gid", static_cast<unsigned>(st.st_gid));
  j.field("size", static_cast<int64_t>(st.st_size));
  j.field("rdev_major", static_cast<unsigned>(major(st.st_rdev)));
  j.field("rdev_minor", static_cast<unsigned>(minor(st.st_rdev)));
  if (!follow && S_ISLNK(st.st_mode)) {
    if (auto target = read_link(path.c_str())) j.field("target", *target);
  }
  j.end_object();
}

void section_stat(JsonWriter& j, const std::vector<std::string>& paths, bool follow) {
  j.key(follow ? "stat" : "lstat");
  j.begin_object();
  for (const std::string& path : paths) write_stat_result(j, path, follow);
  j.end_object();
}

// Opens each path for writing (creating it if missing, and removing what it created);
// never truncates or writes data.
void section_write(JsonWriter& j, const std::vector<std::string>& paths) {
  j.key("write");
  j.begin_object();
  for (const std::string& path : paths) {
    j.key(path);
    j.begin_object();
    bool existed = access(path.c_str(), F_OK) == 0;
    hako::unique_fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644));
    if (!fd) {
      j.field("ok", false);
      j.field("error", errno_name(errno));
    } else {
      j.field("ok", true);
      j.field("created", !existed);
      if (!existed) unlink(path.c_str());
    }
    j.end_object();
  }
  j.end_object();
}

// --syscall NR: the raw syscall made with six zero arguments (for numbers no kernel
// has, to see what a seccomp filter answers): its return value and errno name.
void section_syscall(JsonWriter& j, const std::vector<long>& numbers) {
  j.key("syscall");
  j.begin_object();
  for (long nr : numbers) {
    j.key(std::to_string(nr));
    j.begin_object();
    errno = 0;
    long ret = syscall(nr, 0, 0, 0, 0, 0, 0);
    int err = errno;
    j.field("ret", static_cast<int64_t>(ret));
    if (ret < 0) {
      j.field("error", errno_name(err));
    } else {
      j.null_field("error");
    }
    j.end_object();
  }
  j.end_object();
}

// The whole report, in a fixed order.
std::string write_report(int argc, char** argv, const Options& opts) {
  std::string status;
  read_file("/proc/self/status", status);  // empty on failure: those fields become null

  JsonWriter j;
  j.begin_object();
  j.field("probe_version", 1);
  section_argv(j, argc, argv);
  section_process_ids(j);
  section_user(j, status);
  section_capabilities(j, status);
  section_security(j, status);
  section_signals(j, status);
  section_uts(j);
  section_cwd_umask(j, status);
  section_rlimits(j);
  section_env(j);
  section_fds(j);
  section_tty(j);
  section_namespaces(j);
  section_mounts(j);
  section_oom_score_adj(j);
  section_cgroup(j);
  section_personality(j);
  section_scheduler(j);
  section_io_priority(j);
  section_cpu_affinity(j);
  section_memory_policy(j);
  section_stat(j, opts.stat_paths, true);
  section_stat(j, opts.lstat_paths, false);
  section_write(j, opts.write_paths);
  section_syscall(j, opts.syscalls);
  j.end_object();
  return j.text() + "\n";
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// As a pid namespace's init the probe would ignore SIGTERM/SIGINT/SIGHUP (the kernel
// drops default-action signals to init), so while sleeping it handles them: exit 128+sig.
void on_termination_signal(int sig) {
  static const char msg[] = "hako-probe: terminated by signal\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
  _exit(128 + sig);
}

void sleep_for(double seconds) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_termination_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);

  if (std::isinf(seconds)) {
    for (;;) pause();
  }
  struct timespec left;
  left.tv_sec = static_cast<time_t>(seconds);
  left.tv_nsec = static_cast<long>((seconds - static_cast<double>(left.tv_sec)) * 1e9);
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

// sd_notify: each message as one datagram to $NOTIFY_SOCKET ("@name": abstract). A
// failure is reported on stderr ("hako-probe: notify <socket>: ENOENT") and exits 3.
bool send_notify_messages(const std::vector<std::string>& messages) {
  const char* target = getenv("NOTIFY_SOCKET");
  if (!target || !*target) {
    fputs("hako-probe: notify: NOTIFY_SOCKET is not set\n", stderr);
    return false;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = strlen(target);
  if (len >= sizeof addr.sun_path) {
    fprintf(stderr, "hako-probe: notify %s: ENAMETOOLONG\n", target);
    return false;
  }
  memcpy(addr.sun_path, target, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t addr_len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + len);
  hako::unique_fd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    fprintf(stderr, "hako-probe: notify socket: %s\n", errno_name(errno).c_str());
    return false;
  }
  for (const std::string& msg : messages) {
    if (sendto(fd.get(), msg.data(), msg.size(), 0, reinterpret_cast<struct sockaddr*>(&addr), addr_len) < 0) {
      fprintf(stderr, "hako-probe: notify %s: %s\n", target, errno_name(errno).c_str());
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace probe

int main(int argc, char** argv) {
  probe::Options opts;
  if (!probe::parse_options(argc, argv, opts)) return 2;
  std::string report = probe::write_report(argc, argv, opts);
  if (!probe::write_all(1, report)) return 1;
  if (opts.notify_delay) probe::sleep_for(*opts.notify_delay);
  if (!opts.notify_messages.empty() && !probe::send_notify_messages(opts.notify_messages)) return 3;
  if (opts.sleep_seconds) probe::sleep_for(*opts.sleep_seconds);
  return opts.exit_code;
}
