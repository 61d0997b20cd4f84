// dist/hako, the front: parses runc's command line as src/cli/argv.ts does; serves state,
// list, kill, pause, resume, ps, delete, start and --version itself; hands everything else
// (other commands, help, any usage it does not take exactly as given) to the brain with
// execve: same pid, argv, environment, fds and cwd. Errors go out as src/cli/report.ts and
// src/cli/log.ts write them: one logrus line (text or json) to --log or stderr, and with
// --log the bare message on stderr too.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "front/front.h"

#ifndef HAKO_VERSION
#define HAKO_VERSION "0.0.0-dev"
#endif
#ifndef HAKO_COMMIT
#define HAKO_COMMIT "unknown"
#endif
#ifndef HAKO_ENGINE
#define HAKO_ENGINE "engine: unknown"
#endif
#ifndef HAKO_BRAIN_FALLBACK
#define HAKO_BRAIN_FALLBACK "/usr/local/libexec/hako/hako-brain"
#endif

extern char** environ;

namespace hako::front {
namespace {

// As runc (and the brain's main.ts): $XDG_RUNTIME_DIR/hako when not root, or root of a
// user namespace (rootless podman) unless $USER says root; the host's root: /run/hako.
bool honor_xdg_runtime_dir() {
  if (geteuid() != 0) return true;
  int fd = ::open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  unsigned long inside = 1, outside = 1, count = 0;
  if (sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0 && count == 4294967295UL &&
      strchr(buf, '\n') == buf + n - 1) {
    return false;  // the initial user namespace
  }
  const char* user = getenv("USER");
  return user == nullptr || strcmp(user, "root") != 0;
}

constexpr const char* kSpecVersion = "1.3.0";
constexpr const char* kDefaultRoot = "/run/hako";

enum class FlagType { Bool, String };
struct FlagSpec {
  const char* name;
  const char* alias;
  FlagType type;
};

struct Flags {
  std::map<std::string, std::string> values;  // bools as "true"/"false"
  std::vector<std::string> positionals;
  size_t stopped_at = 0;
  bool has(const char* name) const { return values.count(name) != 0; }
  bool flag(const char* name) const {
    auto it = values.find(name);
    return it != values.end() && it->second == "true";
  }
  std::string str(const char* name, const char* fallback) const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

const std::vector<FlagSpec> kGlobalFlags = {
    {"debug", nullptr, FlagType::Bool},          {"log", nullptr, FlagType::String},     {"log-format", nullptr, FlagType::String},
    {"root", nullptr, FlagType::String},         {"criu", nullptr, FlagType::String},    {"systemd-cgroup", nullptr, FlagType::Bool},
    {"rootless", nullptr, FlagType::String},     {"help", "h", FlagType::Bool},          {"version", "v", FlagType::Bool},
};

struct Verb {
  const char* name;
  std::vector<FlagSpec> flags;
  size_t min_args;
  size_t max_args;
  bool stop_at_first_arg;
};

const std::vector<Verb> kVerbs = {
    {"state", {}, 1, 1, false},
    {"start", {}, 1, 1, false},
    {"kill", {{"all", "a", FlagType::Bool}}, 1, 2, false},
    {"delete", {{"force", "f", FlagType::Bool}}, 1, 1, false},
    {"pause", {}, 1, 1, false},
    {"resume", {}, 1, 1, false},
    {"ps", {{"format", "f", FlagType::String}}, 1, SIZE_MAX, true},
    {"list", {{"format", "f", FlagType::String}, {"quiet", "q", FlagType::Bool}}, 0, 0, false},
};

// Go's strconv.ParseBool.
std::optional<bool> parse_bool(const std::string& v) {
  for (const char* t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (v == t) return true;
  }
  for (const char* f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

// argv.ts's parseFlags; any usage problem is the brain's to report (Handover).
Flags parse_flags(const std::vector<std::string>& tokens, size_t from, const std::vector<FlagSpec>& specs, bool stop_at_first_arg) {
  Flags out;
  for (size_t i = from; i < tokens.size(); i++) {
    const std::string& tok = tokens[i];
    if (tok == "--") {
      out.positionals.insert(out.positionals.end(), tokens.begin() + static_cast<long>(i) + 1, tokens.end());
      out.stopped_at = tokens.size();
      return out;
    }
    if (tok.size() < 2 || tok[0] != '-') {
      if (stop_at_first_arg) {
        out.positionals.insert(out.positionals.end(), tokens.begin() + static_cast<long>(i), tokens.end());
        out.stopped_at = i;
        return out;
      }
      out.positionals.push_back(tok);
      continue;
    }
    std::string body = tok.rfind("--", 0) == 0 ? tok.substr(2) : tok.substr(1);
    size_t eq = body.find('=');
    std::string name = eq == std::string::npos ? body : body.substr(0, eq);
    const FlagSpec* spec = nullptr;
    for (auto& s : specs) {
      if (name == s.name || (s.alias && name == s.alias)) spec = &s;
    }
    if (!spec) throw Handover{};
    if (spec->type == FlagType::Bool) {
      if (eq == std::string::npos) {
        out.values[spec->name] = "true";
      } else {
        auto b = parse_bool(body.substr(eq + 1));
        if (!b) throw Handover{};
        out.values[spec->name] = *b ? "true" : "false";
      }
      continue;
    }
    if (eq != std::string::npos) {
      out.values[spec->name] = body.substr(eq + 1);
    } else {
      if (i + 1 >= tokens.size()) throw Handover{};
      out.values[spec->name] = tokens[++i];
    }
  }
  out.stopped_at = tokens.size();
  return out;
}

std::string cwd() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof buf) ? buf : "/";
}

// Node's path.resolve(base, p): absolute, normalized, no trailing slash.
std::string resolve(const std::string& base, const std::string& p) {
  std::string joined = !p.empty() && p[0] == '/' ? p : base + "/" + p;
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= joined.size()) {
    size_t sl = joined.find('/', at);
    if (sl == std::string::npos) sl = joined.size();
    std::string part = joined.substr(at, sl - at);
    at = sl + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

int report_failure(const Logger& log, const Failure& f) {
  log.error(f.message);
  if (log.to_file) write_all(2, f.message + "\n");
  return f.exit_code;
}

// <dir of the real executable>/../libexec/hako/hako-brain (installed), <dir>/libexec/hako/
// hako-brain (dist/ of a build), else the libexec path configured at build time.
std::vector<std::string> brain_candidates() {
  char self[PATH_MAX];
  std::vector<std::string> candidates;
  if (realpath("/proc/self/exe", self)) {
    std::string dir = self;
    dir = dir.substr(0, dir.rfind('/'));
    candidates.push_back(resolve(dir, "../libexec/hako/hako-brain"));
    candidates.push_back(dir + "/libexec/hako/hako-brain");
  }
  candidates.push_back(HAKO_BRAIN_FALLBACK);
  return candidates;
}

// An empty memfd for hako-init's copy, beside the first brain that exists; memfd -1 when
// there is no brain or not exactly one hako-init-<hash> beside it.
struct InitCopy {
  int memfd = -1;
  std::string path;
  std::string file;
};
InitCopy start_init_copy(const std::vector<std::string>& brains) {
  for (const std::string& brain : brains) {
    if (::access(brain.c_str(), F_OK) != 0) continue;
    std::string dir = brain.substr(0, brain.rfind('/'));
    InitCopy copy;
    copy.file = only_init_file(dir);
    if (copy.file.empty()) return {};
    int fd = ::memfd_create("hako-init", MFD_ALLOW_SEALING);
    if (fd < 0) return {};
    copy.memfd = move_fd_high(fd, 256, true);
    copy.path = dir + "/" + copy.file;
    return copy;
  }
  return {};
}

[[noreturn]] void hand_over(char** argv, bool places_process) {
  // The brain's engine takes 5 ms to start. Meanwhile a process of the front's (warm.cc)
  // makes hako-init's sealed copy (0.6 ms the brain no longer spends) and then waits out
  // the cgroup writer lock's grace period. The brain adopts the process (HAKO_CGROUP_WARM)
  // and takes the copy (HAKO_INIT_MEMFD="<fd>:<file>") if <file> is the one it was built
  // with and the copy is sealed by the time it needs it.
  std::vector<std::string> candidates = brain_candidates();
  InitCopy init = places_process ? start_init_copy(candidates) : InitCopy{};
  WarmProcess warm = places_process ? start_warm_process(2000, init.memfd, init.path) : WarmProcess{};
  if (warm.pid > 0) {
    setenv("HAKO_CGROUP_WARM", (std::to_string(warm.pid) + ":" + std::to_string(warm.stop_fd)).c_str(), 1);
  } else {
    unsetenv("HAKO_CGROUP_WARM");
  }
  if (warm.pid > 0 && init.memfd >= 0) {
    setenv("HAKO_INIT_MEMFD", (std::to_string(init.memfd) + ":" + init.file).c_str(), 1);
  } else {
    unsetenv("HAKO_INIT_MEMFD");
    if (init.memfd >= 0) ::close(init.memfd);
  }
  // JavaScriptCore's JIT compiles code that a call of hako runs once: interpreted only, create,
  // run and exec took 5-9% less time and 370 fewer page faults (bench/README.md). A caller's
  // own choice stands.
  setenv("BUN_JSC_useJIT", "0", 0);
  int err = ENOENT;
  stop_point("front:handover");
  for (auto& c : candidates) {
    execve(c.c_str(), argv, environ);
    if (errno != ENOENT) err = errno;
  }
  stop_warm_process(warm);
  std::string msg = "hako: cannot run the brain (" + candidates.front() + ", " + candidates.back() + "): " + strerror(err) + "\n";
  write_all(2, msg);
  _exit(1);
}

// create, run and exec move a process into a cgroup (src/cli/table.ts's placesProcess).
bool places_process(const std::vector<std::string>& tokens) {
  try {
    Flags globals = parse_flags(tokens, 0, kGlobalFlags, true);
    if (globals.flag("version") || globals.flag("help") || globals.stopped_at >= tokens.size()) return false;
    const std::string& verb = tokens[globals.stopped_at];
    return verb == "create" || verb == "run" || verb == "exec";
  } catch (const Handover&) {
    return false;
  }
}

int serve(const std::vector<std::string>& tokens) {
  Flags globals = parse_flags(tokens, 0, kGlobalFlags, true);
  if (globals.flag("version")) {
    // HAKO_ENGINE: the brain's engine, as the brain's own --version names it.
    write_all(1, std::string("hako version ") + HAKO_VERSION + "\ncommit: " + HAKO_COMMIT + "\nspec: " + kSpecVersion + "\n" + HAKO_ENGINE + "\n");
    return 0;
  }
  size_t at = globals.stopped_at;
  if (globals.flag("help") || at >= tokens.size()) throw Handover{};
  const Verb* verb = nullptr;
  for (auto& v : kVerbs) {
    if (tokens[at] == v.name) verb = &v;
  }
  if (!verb) throw Handover{};
  std::vector<FlagSpec> specs = verb->flags;
  specs.push_back({"help", "h", FlagType::Bool});
  Flags flags = parse_flags(tokens, at + 1, specs, verb->stop_at_first_arg);
  if (flags.flag("help")) throw Handover{};
  const auto& args = flags.positionals;
  if (args.size() < verb->min_args || args.size() > verb->max_args) throw Handover{};

  // The logger and the root as main.ts makes them; their errors are the brain's to report.
  Logger log;
  log.debug_on = globals.flag("debug");
  std::string format = globals.str("log-format", "text");
  if (globals.has("log-format") && format != "text" && format != "json") throw Handover{};
  log.json = format == "json";
  std::string log_path = globals.str("log", "");
  if (!log_path.empty() && log_path != "/dev/stderr") {
    std::string path = resolve(cwd(), log_path);
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_SYNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Handover{};
    log.fd = fd;
    log.to_file = true;
  }
  VerbCall call;
  call.verb = verb->name;
  if (globals.has("root")) {
    call.root = resolve(cwd(), globals.str("root", ""));
    if (call.root == "/") throw Handover{};
  } else {
    const char* xdg = getenv("XDG_RUNTIME_DIR");
    call.root = xdg && *xdg && honor_xdg_runtime_dir() ? resolve(cwd(), std::string(xdg) + "/hako") : kDefaultRoot;
  }
  call.args = args;
  call.force = flags.flag("force");
  call.all = flags.flag("all");
  call.quiet = flags.flag("quiet");
  call.format = flags.str("format", "table");
  const char* host = getenv("NOTIFY_SOCKET");
  call.notify_host = host ? host : "";
  call.log = &log;

  std::string out, err_out;
  try {
    out = run_verb(call, err_out);
  } catch (const Failure& f) {
    return report_failure(log, f);
  }
  if (!err_out.empty()) write_all(2, err_out);
  if (!out.empty()) write_all(1, out);
  return 0;
}

}  // namespace
}  // namespace hako::front

int main(int argc, char** argv) {
  using namespace hako::front;
  // A hook or a client that closes its end must not end the front with SIGPIPE.
  struct sigaction inherited_sigpipe;
  sigaction(SIGPIPE, nullptr, &inherited_sigpipe);
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> tokens(argv + 1, argv + argc);
  try {
    return serve(tokens);
  } catch (const Handover&) {
    sigaction(SIGPIPE, &inherited_sigpipe, nullptr);
    hand_over(argv, places_process(tokens));
  } catch (const std::exception& e) {
    // Not expected: a message, never a crash.
    write_all(2, std::string("hako: ") + e.what() + "\n");
    return 1;
  }
}
