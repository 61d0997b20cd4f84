// state, list, kill, pause, resume, ps, delete and start over the container record, with
// the brain's messages and runc's rules (RUNC-CONTRACT.md).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "common/run_captured.h"
#include "front/front.h"

extern char** environ;

namespace hako::front {
namespace {

// The container's lock: flock(LOCK_EX) on its state directory, held by the verbs that
// change it (start, kill, pause, resume, delete) and by the brain's create and update
// (src/container/state-store.ts lockContainerDir). Readers (state, list, ps) take none:
// the record is replaced by rename, never written in place. No directory: no lock (the
// verb then says the container does not exist).
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) return;
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd_);
      throw system_failure("flock", dir, err);
    }
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Node's os.constants.signals on Linux: the names kill takes (with or without SIG, any case).
const std::map<std::string, int> kSignals = {
    {"SIGHUP", 1},   {"SIGINT", 2},     {"SIGQUIT", 3},   {"SIGILL", 4},    {"SIGTRAP", 5},   {"SIGABRT", 6},
    {"SIGIOT", 6},   {"SIGBUS", 7},     {"SIGFPE", 8},    {"SIGKILL", 9},   {"SIGUSR1", 10},  {"SIGSEGV", 11},
    {"SIGUSR2", 12}, {"SIGPIPE", 13},   {"SIGALRM", 14},  {"SIGTERM", 15},  {"SIGSTKFLT", 16}, {"SIGCHLD", 17},
    {"SIGCONT", 18}, {"SIGSTOP", 19},   {"SIGTSTP", 20},  {"SIGTTIN", 21},  {"SIGTTOU", 22},  {"SIGURG", 23},
    {"SIGXCPU", 24}, {"SIGXFSZ", 25},   {"SIGVTALRM", 26}, {"SIGPROF", 27}, {"SIGWINCH", 28}, {"SIGIO", 29},
    {"SIGPOLL", 29}, {"SIGPWR", 30},    {"SIGSYS", 31},
};

int parse_signal(const std::string& arg) {
  if (!arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return arg.size() > 9 ? -1 : std::atoi(arg.c_str());
  }
  std::string upper = arg;
  for (auto& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  std::string name = upper.rfind("SIG", 0) == 0 ? upper : "SIG" + upper;
  auto it = kSignals.find(name);
  if (it == kSignals.end()) throw Failure{"unknown signal \"" + arg + "\""};
  return it->second;
}

/** kill(2) in Node's words: the errno's name ("kill EPERM"); ESRCH returned to the caller. */
bool send_signal(int64_t pid, int sig, int& err) {
  if (sig < 0 || sig > 64) {
    err = EINVAL;
  } else if (::kill(static_cast<pid_t>(pid), sig) == 0) {
    return true;
  } else {
    err = errno;
  }
  if (err == ESRCH) return false;
  const char* name = strerrorname_np(err);
  throw Failure{std::string("kill ") + (name ? name : std::to_string(err))};
}

// A signal to a live container. SIGKILL to one without a pid namespace of its own kills its
// whole cgroup (nothing else would end the other processes); SIGKILL to a paused one thaws
// it, or the kill would wait for resume. false: the init is gone (ESRCH).
bool signal_container(const Record& rec, Status status, int sig) {
  // A record in its early form may not name its init yet (pid 0): kill(0) would signal us.
  if (rec.pid <= 0) return false;
  if (sig == SIGKILL && rec.cgroup && !rec.own_pid_namespace && cgroup_exists(*rec.cgroup)) cgroup_kill_all(*rec.cgroup);
  int err = 0;
  if (!send_signal(rec.pid, sig, err)) return false;
  if (sig == SIGKILL && status == Status::Paused && rec.cgroup) cgroup_thaw(*rec.cgroup);
  return true;
}

std::string state_json(const Record& rec, Status status, const std::string& owner, bool pretty) {
  const char* nl = pretty ? "\n  " : "";
  const char* sep = pretty ? ": " : ":";
  std::string s = "{";
  auto field = [&](const char* key, const std::string& value, bool first = false) {
    if (!first) s += ",";
    s += nl;
    s += json_quote(key) + sep + value;
  };
  field("ociVersion", json_quote(rec.oci_version), true);
  field("id", json_quote(rec.id));
  field("pid", std::to_string(status == Status::Stopped ? 0 : rec.pid));
  field("status", json_quote(status_name(status)));
  field("bundle", json_quote(rec.bundle));
  field("rootfs", json_quote(rec.rootfs));
  field("created", json_quote(rec.created));
  if (!rec.annotations.empty()) {
    std::string a = "{";
    bool first = true;
    for (auto& [k, v] : rec.annotations) {
      a += first ? "" : ",";
      a += pretty ? "\n    " : "";
      a += json_quote(k) + sep + json_quote(v);
      first = false;
    }
    a += pretty ? "\n  }" : "}";
    field("annotations", a);
  }
  field("owner", json_quote(owner));
  s += pretty ? "\n}" : "}";
  return s;
}

std::map<uid_t, std::string> user_names() {
  std::map<uid_t, std::string> names;
  std::string text;
  int err = 0;
  if (!read_file("/etc/passwd", text, err)) return names;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(at, nl - at);
    at = nl + 1;
    size_t c1 = line.find(':');
    if (c1 == std::string::npos) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    size_t c3 = line.find(':', c2 + 1);
    std::string uid = line.substr(c2 + 1, c3 == std::string::npos ? std::string::npos : c3 - c2 - 1);
    if (uid.empty() || !std::all_of(uid.begin(), uid.end(), ::isdigit)) continue;
    names.emplace(static_cast<uid_t>(std::stoul(uid)), line.substr(0, c1));
  }
  return names;
}

// Go's tabwriter(minwidth 12, tabwidth 1, padding 3, ' ').
std::string align_columns(const std::vector<std::vector<std::string>>& table) {
  std::vector<size_t> widths;
  for (auto& row : table) {
    for (size_t i = 0; i < row.size(); i++) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (auto& row : table) {
    for (size_t i = 0; i < row.size(); i++) {
      out += row[i];
      if (i + 1 < row.size()) out.append(std::max<size_t>(12, widths[i] + 3) - row[i].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> container_ids(const std::string& root) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    throw system_failure("scandir", root, errno);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      dir = ::lstat((root + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (dir) ids.push_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> split_ws(const std::string& line) {
  std::vector<std::string> out;
  size_t at = 0;
  while (true) {
    at = line.find_first_not_of(" \t", at);
    if (at == std::string::npos) break;
    size_t end = line.find_first_of(" \t", at);
    out.push_back(line.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end;
  }
  return out;
}

// `ps <args>`, its stdout; Failure when it cannot run or fails.
std::string run_ps(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ps"};
  argv.insert(argv.end(), args.begin(), args.end());
  Captured c = run_captured("ps", argv, CaptureOptions{});
  if (c.setup_call != nullptr) throw system_failure(c.setup_call, "", c.setup_errno);
  if (c.exec_errno != 0) throw Failure{"exec: \"ps\": " + errno_text(c.exec_errno)};
  int code = WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
  if (code != 0) throw Failure{"exit status " + std::to_string(code) + ": " + c.out + c.err};
  return c.out;
}

std::string filter_ps_table(const std::string& output, const std::vector<pid_t>& pids) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at <= output.size()) {
    size_t nl = output.find('\n', at);
    if (nl == std::string::npos) nl = output.size();
    lines.push_back(output.substr(at, nl - at));
    at = nl + 1;
  }
  std::string header = lines.empty() ? "" : lines[0];
  auto cols = split_ws(header);
  auto pid_at = std::find(cols.begin(), cols.end(), "PID");
  if (pid_at == cols.end()) throw Failure{"couldn't find PID field in ps output"};
  size_t index = static_cast<size_t>(pid_at - cols.begin());
  std::string out = header + "\n";
  for (size_t i = 1; i < lines.size(); i++) {
    if (lines[i].empty()) continue;
    auto fields = split_ws(lines[i]);
    if (index >= fields.size()) throw Failure{"unable to parse pid: undefined"};
    const std::string& f = fields[index];
    if (f.empty() || f.size() > 9 || !std::all_of(f.begin(), f.end(), ::isdigit)) throw Failure{"unable to parse pid: " + json_quote(f)};
    if (std::find(pids.begin(), pids.end(), static_cast<pid_t>(std::stol(f))) != pids.end()) out += lines[i] + "\n";
  }
  return out;
}

void remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = ::opendir(path.c_str())) {
      std::vector<std::string> names;
      while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
      }
      ::closedir(d);
      for (auto& n : names) remove_tree(path + "/" + n);
    }
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) throw system_failure("rmdir", path, errno);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw system_failure("unlink", path, errno);
  }
}

// SIGKILL, then up to 10 s for the init to go.
void kill_and_wait(const Record& rec, Status status, const Logger& log) {
  if (log.debug_on) log.debug("killing the init (pid " + std::to_string(rec.pid) + ") with SIGKILL");
  try {
    signal_container(rec, status, SIGKILL);
  } catch (const Failure&) {
    // gone already
  }
  for (int i = 0; i < 1000; i++) {
    if (!init_alive(rec)) return;
    sleep_ms(10);
  }
  throw Failure{"container init still running"};
}

// A container of the systemd driver whose unit may still be loaded: its cgroup in the
// hierarchy systemd tracks units by is there (or was not recorded). Once systemd has let
// the unit go (the container's processes are gone), deleting it needs no D-Bus.
bool unit_may_be_loaded(const Record& rec) {
  return !rec.systemd_unit.empty() && (rec.systemd_cgroup.empty() || path_exists(rec.systemd_cgroup));
}

// An interrupted create (a record still in its early form, its creator gone): whatever it
// started may live on (hako-init's stages, the init waiting on the exec fifo) whether or
// not the container has a pid namespace of its own, so every process in its cgroup and
// the init it recorded are killed, and the init awaited, before destroy() removes the rest.
void abandon_create(const Record& rec) {
  if (rec.cgroup && cgroup_exists(*rec.cgroup)) cgroup_kill_all(*rec.cgroup);
  if (init_alive(rec)) ::kill(static_cast<pid_t>(rec.pid), SIGKILL);
  for (int i = 0; i < 1000 && init_alive(rec); i++) sleep_ms(10);
  if (init_alive(rec)) throw Failure{"container init still running"};
}

// runc's order: without a pid namespace of its own, SIGKILL what is left in the cgroup;
// remove the cgroup; without a mount namespace, detach its mounts from the host (runc
// leaves them); remove the state dir (also when the cgroup could not be removed, whose
// error is reported then); then the poststop hooks (status "stopped", no pid).
// With the systemd driver, the unit is stopped (its job waited for) before the cgroup
// directories are removed: the ones systemd made are gone then, the others hako made.
void destroy(const Record& rec, const Logger& log) {
  std::optional<Failure> failure;
  if (rec.cgroup) {
    if (log.debug_on) log.debug("removing the cgroup " + (rec.cgroup->dirs.empty() ? std::string() : rec.cgroup->dirs.front()));
    try {
      if (!rec.own_pid_namespace && cgroup_exists(*rec.cgroup)) cgroup_kill_all(*rec.cgroup);
      if (unit_may_be_loaded(rec) && stop_systemd_unit) stop_systemd_unit(rec.systemd_unit);
      cgroup_destroy(*rec.cgroup);
    } catch (const Failure& f) {
      failure = f;
    }
  }
  if (!rec.host_rootfs_bind.empty()) {
    if (log.debug_on) log.debug("detaching the rootfs bind " + rec.host_rootfs_bind);
    try {
      release_host_rootfs(rec.host_rootfs_bind);
    } catch (const Failure& f) {
      if (!failure) failure = f;
    }
  }
  if (log.debug_on) log.debug("removing the state directory " + rec.dir);
  stop_point("delete:before-remove-state");
  try {
    remove_tree(rec.dir);
  } catch (const Failure& f) {
    if (!failure) failure = f;
  }
  // The runtime spec: a failing poststop hook is a warning; the rest still run.
  if (!rec.poststop.empty()) run_hooks_logged("poststop", rec.poststop, hook_state(rec, "stopped", -1), log);
  if (failure) throw *failure;
}

// The exec fifo: opened non-blocking (a dead init cannot hang us); the init's byte, not its
// death, decides; then the fifo is removed.
void release_exec_fifo(const Record& rec) {
  std::string path = rec.dir + "/" + kExecFifo;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw Failure{"cannot start an already running container"};
    throw system_failure("open", path, errno);
  }
  auto read_byte = [&]() -> bool {
    char b;
    ssize_t n;
    do n = ::read(fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) {
      int e = errno;
      ::close(fd);
      throw system_failure("read", "", e);
    }
    return n == 1;
  };
  for (int waited = 0; !read_byte(); waited++) {
    if (!init_alive(rec)) {
      if (read_byte()) break;
      ::close(fd);
      throw Failure{"cannot start a container that has stopped"};
    }
    // Until the init's byte comes (at once, most often: its open of the fifo for writing
    // returned when ours did), or a while has passed to look at the init again. A writer
    // that came and went without writing makes poll return at once: then sleep instead.
    int wait = waited < 100 ? 1 : 10;
    pollfd p{fd, POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, wait);
    while (r < 0 && errno == EINTR);
    if (r > 0 && !(p.revents & POLLIN)) sleep_ms(wait);
  }
  ::close(fd);
  ::unlink(path.c_str());
}

std::string verb_state(const std::string& root, const std::string& id) {
  Record rec = read_record(root, id);
  return state_json(rec, live_status(rec), "", true);
}

std::string verb_list(const std::string& root, const std::string& format, bool quiet, std::string& err_out) {
  if (format != "table" && format != "json") throw Failure{"invalid format option"};
  auto users = user_names();
  std::vector<std::pair<std::string, std::string>> rows;  // id, compact state
  std::vector<std::vector<std::string>> table{{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (auto& id : container_ids(root)) {
    try {
      Record rec = read_record(root, id);
      struct stat st;
      if (::stat(rec.dir.c_str(), &st) != 0) throw system_failure("stat", rec.dir, errno);
      auto it = users.find(st.st_uid);
      std::string owner = it != users.end() ? it->second : "#" + std::to_string(st.st_uid);
      Status status = live_status(rec);
      rows.emplace_back(id, state_json(rec, status, owner, false));
      table.push_back({rec.id, std::to_string(status == Status::Stopped ? 0 : rec.pid), status_name(status), rec.bundle, rec.created, owner});
    } catch (const Failure& f) {
      err_out += "load container " + id + ": " + f.message + "\n";
    }
  }
  if (quiet) {
    std::string out;
    for (auto& r : rows) out += r.first + "\n";
    return out;
  }
  if (format == "json") {
    if (rows.empty()) return "null\n";
    std::string out = "[";
    for (size_t i = 0; i < rows.size(); i++) out += (i ? "," : "") + rows[i].second;
    return out + "]\n";
  }
  return align_columns(table);
}

// Signal the init; "container not running" when it is gone. With --all (runc 1.1), every
// process in the cgroup, the container stopped or not, and no error when nothing is left.
void verb_kill(const std::string& root, const std::string& id, const std::string& signal, bool all, const Logger& log) {
  int sig = parse_signal(signal);
  Record rec = read_record(root, id);
  Status status = live_status(rec);
  if (log.debug_on) log.debug("kill: container " + id + " is " + status_name(status) + ", signal " + std::to_string(sig));
  stop_point("kill:locked");
  if (all && rec.cgroup) {
    if (log.debug_on) log.debug("sending signal " + std::to_string(sig) + " to every process in the cgroup");
    if (cgroup_exists(*rec.cgroup)) cgroup_signal_all(*rec.cgroup, sig);
    return;
  }
  if (status == Status::Stopped) {
    if (all) return;
    throw Failure{"container not running"};
  }
  if (log.debug_on) log.debug("sending signal " + std::to_string(sig) + " to the init (pid " + std::to_string(rec.pid) + ")");
  if (!signal_container(rec, status, sig) && !all) throw Failure{"container not running"};
}

void verb_pause(const std::string& root, const std::string& id) {
  Record rec = read_record(root, id);
  Status status = live_status(rec);
  if (status != Status::Running && status != Status::Created) throw Failure{"container not running"};
  if (!rec.cgroup) throw Failure{"container has no cgroup: cannot pause it"};
  cgroup_freeze(*rec.cgroup);
}

void verb_resume(const std::string& root, const std::string& id) {
  Record rec = read_record(root, id);
  if (live_status(rec) != Status::Paused) throw Failure{"container not paused"};
  cgroup_thaw(*rec.cgroup);
}

std::string verb_ps(const std::string& root, const std::string& id, const std::string& format, const std::vector<std::string>& ps_args) {
  if (format != "table" && format != "json") throw Failure{"invalid format option"};
  Record rec = read_record(root, id);
  std::vector<pid_t> pids;
  if (rec.cgroup) {
    pids = cgroup_pids(*rec.cgroup);
  } else if (live_status(rec) != Status::Stopped) {
    pids.push_back(static_cast<pid_t>(rec.pid));
  }
  if (format == "json") {
    if (pids.empty()) return "null\n";
    std::string out = "[";
    for (size_t i = 0; i < pids.size(); i++) out += (i ? "," : "") + std::to_string(pids[i]);
    return out + "]\n";
  }
  return filter_ps_table(run_ps(ps_args.empty() ? std::vector<std::string>{"-ef"} : ps_args), pids);
}

// A stopped container is destroyed; a created one is killed first; a running or paused one
// only with --force. A state dir without state.json (a create that crashed halfway) is
// removed either way; one whose record is corrupt, with --force.
void verb_delete(const std::string& root, const std::string& id, bool force, const Logger& log) {
  if (!valid_container_id(id)) throw Failure{"invalid container ID format"};
  std::string dir = container_dir(root, id);
  struct stat st;
  if (::lstat((dir + "/" + kStateFile).c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
    remove_tree(dir);
    if (force) return;
    throw Failure{"container does not exist"};
  }
  Record rec;
  try {
    rec = read_record(root, id);
  } catch (const Failure& f) {
    // A record that is not one: nothing in it can be trusted to name a process or a
    // cgroup, so --force removes the state dir alone (and whatever is left runs on).
    if (!f.corrupt_record || !force) throw;
    remove_tree(dir);
    return;
  }
  // A unit still loaded is stopped over D-Bus, which the static front does not speak: the
  // brain deletes it (the same code, through the addon), before anything is changed here.
  if (unit_may_be_loaded(rec) && !stop_systemd_unit) throw Handover{"the container's systemd unit is stopped by the brain"};
  Status status = live_status(rec);
  if (log.debug_on) log.debug("delete: container " + id + " is " + status_name(status));
  if ((status == Status::Running || status == Status::Paused || status == Status::Creating) && !force) {
    throw Failure{"cannot delete container " + id + " that is not stopped: " + status_name(status)};
  }
  stop_point("delete:before-kill");
  if (rec.creating) abandon_create(rec);
  else if (status != Status::Stopped) kill_and_wait(rec, status, log);
  stop_point("delete:before-destroy");
  destroy(rec, log);
}

// Release a created container; poststart hooks (a failure is a warning, as the runtime
// spec says: the rest run and start succeeds); with NOTIFY_SOCKET set, its socket is bound
// first and READY forwarded afterwards.
void verb_start(const std::string& root, const std::string& id, const std::string& host, const Logger& log) {
  Record rec = read_record(root, id);
  Status status = live_status(rec);
  if (log.debug_on) log.debug("start: container " + id + " is " + status_name(status) + ", init pid " + std::to_string(rec.pid));
  if (status == Status::Stopped) throw Failure{"cannot start a container that has stopped"};
  if (status == Status::Running) throw Failure{"cannot start an already running container"};
  if (status != Status::Created) throw Failure{std::string("cannot start a container in the ") + status_name(status) + " state"};
  bool notify = !host.empty();
  int listening = -1;
  if (notify) listening = notify_listen(rec.notify_socket.empty() ? rec.dir + "/notify/notify.sock" : rec.notify_socket);
  try {
    stop_point("start:before-release");
    release_exec_fifo(rec);
    stop_point("start:released");
    if (log.debug_on) log.debug("exec fifo released: the init runs its process");
    if (!rec.poststart.empty()) run_hooks_logged("poststart", rec.poststart, hook_state(rec, "running", rec.pid), log);
    if (notify) {
      if (log.debug_on) log.debug("waiting for READY on " + (rec.notify_socket.empty() ? rec.dir + "/notify/notify.sock" : rec.notify_socket) + " for " + host);
      forward_ready(listening, host, rec.pid, rec);
    }
  } catch (...) {
    if (listening >= 0) ::close(listening);
    throw;
  }
  if (listening >= 0) ::close(listening);
}

}  // namespace

void (*stop_systemd_unit)(const std::string& unit) = nullptr;

bool is_verb(const std::string& name) {
  for (const char* v : {"state", "list", "kill", "pause", "resume", "ps", "delete", "start"}) {
    if (name == v) return true;
  }
  return false;
}

std::string run_verb(const VerbCall& c, std::string& err_out) {
  const std::string& v = c.verb;
  const Logger fallback;
  const Logger& log = c.log != nullptr ? *c.log : fallback;
  if (v == "list") return verb_list(c.root, c.format, c.quiet, err_out);
  if (c.args.empty()) throw Failure{"hako: \"" + v + "\" requires a container id"};
  const std::string& id = c.args[0];
  if (v == "state") return verb_state(c.root, id);
  if (v == "ps") return verb_ps(c.root, id, c.format, {c.args.begin() + 1, c.args.end()});
  if (!valid_container_id(id)) throw Failure{"invalid container ID format"};
  DirLock lock(container_dir(c.root, id));
  if (v == "kill") verb_kill(c.root, id, c.args.size() > 1 ? c.args[1] : "SIGTERM", c.all, log);
  else if (v == "pause") verb_pause(c.root, id);
  else if (v == "resume") verb_resume(c.root, id);
  else if (v == "delete") verb_delete(c.root, id, c.force, log);
  else if (v == "start") verb_start(c.root, id, c.notify_host, log);
  else throw Failure{"unknown verb " + v};
  return "";
}

}  // namespace hako::front
