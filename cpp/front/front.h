// The native front (dist/hako): the verbs that act on an existing container, served from
// its record (<root>/<id>/state.json, written by the brain at create); everything else is
// handed over unchanged to the brain (execve). See DESIGN.md, "Two executables, one command".
#pragma once
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hako::front {

/** A failure the user reads: one message, exit status 1 (as the brain's HakoError). */
struct Failure {
  std::string message;
  int exit_code = 1;
  /** the record cannot be read as one (delete --force then removes the state dir alone) */
  bool corrupt_record = false;
};

/** Not ours to serve after all (a record version the front does not know): exec the brain. */
struct Handover {
  /** why, for a caller that cannot hand over (the brain through the addon) */
  std::string why;
};

// ---- errors (error.cc) ----
/** libuv's wording of an errno ("no such file or directory"), as the brain's messages use it. */
std::string errno_text(int err);
/** "<syscall> <path>: <errno_text>", the brain's fromSystemError(). */
Failure system_failure(const char* syscall, const std::string& path, int err);

// ---- small file helpers (files.cc) ----
bool read_file(const std::string& path, std::string& out, int& err);
/** The file's text, trimmed of white space at both ends; nullopt when unreadable. */
std::optional<std::string> read_trimmed(const std::string& path);
bool path_exists(const std::string& path);
void sleep_ms(int ms);
/** Write all of `data` to fd, waiting out EAGAIN; false on another error. */
bool write_all(int fd, const std::string& data);
std::string json_quote(const std::string& s);
/**
 * fd moved out of the way of those a caller passes on (--preserve-fds, LISTEN_FDS): to the
 * lowest free fd at or above `from` where the fd limit allows (else 64, else 3),
 * close-on-exec unless `inherit`; fd itself when even that fails.
 */
int move_fd_high(int fd, int from, bool inherit);

// ---- the logger (log.cc) ----
/** RFC 3339 to the second, UTC, as logrus prints it. */
std::string log_time();
/** One logrus line, without its newline. */
std::string log_line(bool json, const char* level, const std::string& msg, const std::string& time);
struct LogEntry {
  std::string level;
  std::string msg;
};
struct Logger {
  bool json = false;
  /** --debug: debug lines are written */
  bool debug_on = false;
  /** --log names a file (then an error is also written bare on stderr) */
  bool to_file = false;
  int fd = 2;
  /** the addon: entries are collected here for the brain's logger instead */
  std::vector<LogEntry>* collect = nullptr;

  void write(const char* level, const std::string& msg) const;
  /** (a caller that builds its line tests debug_on first: without --debug nothing is built) */
  void debug(const std::string& msg) const {
    if (debug_on) write("debug", msg);
  }
  void warn(const std::string& msg) const { write("warning", msg); }
  void error(const std::string& msg) const { write("error", msg); }
};

// ---- test-only stop points (stop_point.cc): HAKO_TEST_STOP_AT=<step> SIGKILLs hako there ----
void stop_point(const char* step);

// ---- the container record (record.cc) ----
struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  bool has_timeout = false;
  double timeout = 0;
};

struct CgroupInfo {
  bool v2 = false;
  /** every directory the container's processes are in, each once */
  std::vector<std::string> dirs;
  /** the directory whose presence says the cgroup exists */
  std::string probe;
  /** v1: the freezer hierarchy's directory ("" when none); v2: the one directory */
  std::string freezer;
};

struct Record {
  std::string file;
  std::string dir;
  std::string id;
  std::string oci_version;
  int64_t pid = 0;
  std::string init_start_time;
  std::string bundle;
  std::string rootfs;
  std::string created;
  /** annotations as compact JSON pieces, in the record's order ("\"k\":\"v\"") */
  std::vector<std::pair<std::string, std::string>> annotations;
  std::optional<CgroupInfo> cgroup;
  bool own_pid_namespace = false;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
  std::string notify_socket;
  /** without a mount namespace: the rootfs bind hako-init made in the host's, detached at delete ("": none) */
  std::string host_rootfs_bind;
  /** the systemd cgroup driver's unit (a scope), which delete stops ("": the cgroupfs driver) */
  std::string systemd_unit;
  /** the unit's directory in the hierarchy systemd tracks it by: gone, the unit is gone ("": not recorded) */
  std::string systemd_cgroup;

  /**
   * The record's early form (its "creating" key): written by create before it makes
   * anything, naming what it is about to make; the create that writes it is `creator_pid`
   * (with that start time). Once that process is gone the create was interrupted: the
   * container is stopped, and delete kills what it may have started and removes the rest.
   */
  bool creating = false;
  int64_t creator_pid = 0;
  std::string creator_start_time;
};

constexpr int kRecordVersion = 2;
constexpr const char* kStateFile = "state.json";
constexpr const char* kExecFifo = "exec.fifo";

bool valid_container_id(const std::string& id);
std::string container_dir(const std::string& root, const std::string& id);
/** The container's record; Failure("container does not exist") when none; Handover for another version. */
Record read_record(const std::string& root, const std::string& id);

// ---- status (status.cc) ----
enum class Status { Creating, Created, Running, Paused, Stopped };
const char* status_name(Status s);
/**
 * The first `count` fields of /proc/<pid>/stat after the command's name (state, ppid, ...,
 * starttime is the 20th); empty when the process is gone or has fewer.
 */
std::vector<std::string> proc_stat_fields(int64_t pid, size_t count);
/** A live process (not a zombie) at pid with that start time (field 22 of /proc/<pid>/stat). */
bool process_alive(int64_t pid, const std::string& start_time);
bool init_alive(const Record& rec);
Status live_status(const Record& rec);

// ---- cgroups (cgroup.cc) ----
bool cgroup_exists(const CgroupInfo& cg);
bool cgroup_frozen(const CgroupInfo& cg);
void cgroup_freeze(const CgroupInfo& cg);
void cgroup_thaw(const CgroupInfo& cg);
std::vector<pid_t> cgroup_pids(const CgroupInfo& cg);
void cgroup_signal_all(const CgroupInfo& cg, int sig);
void cgroup_kill_all(const CgroupInfo& cg);
void cgroup_destroy(const CgroupInfo& cg);

// ---- /proc/self/mountinfo (host_rootfs.cc) ----
/** One line of mountinfo, its paths unescaped. */
struct MountEntry {
  long id = 0;
  long parent = 0;
  std::string dev;
  std::string root;
  std::string mount_point;
  std::string fstype;
  /** the super block's options ("rw,cpu"), the line's last field */
  std::string super_options;
};
std::vector<MountEntry> parse_mountinfo(const std::string& text);

// ---- a container without a mount namespace (host_rootfs.cc) ----
/** Whether the topmost mount at `path` in this mountinfo text is a bind of `path` onto itself. */
bool top_is_self_bind(const std::string& mountinfo, const std::string& path);
/** Detach hako-init's bind of the rootfs (and every mount under it), if it is there. */
void release_host_rootfs(const std::string& rootfs);

// ---- hooks (hooks.cc) ----
/** The state a hook reads on stdin (compact JSON); pid < 0: no pid key. */
std::string hook_state(const Record& rec, const char* status, int64_t pid);
/**
 * Runs poststart or poststop hooks (`name`) in order, as the runtime spec says: a failure
 * is logged as a warning ("error running hook #<i>: <why>", runc's words) and the rest run.
 */
void run_hooks_logged(const char* name, const std::vector<Hook>& hooks, const std::string& state, const Logger& log);

// ---- notify (notify.cc) ----
/** Fills addr for path (a leading '@': abstract); false (errno ENAMETOOLONG or EINVAL) when it does not fit or is empty. */
bool unix_address(const std::string& path, struct sockaddr_un& addr, socklen_t& len);
int notify_listen(const std::string& path);
/**
 * Wait for READY on `listening` and forward it with MAINPID=main_pid to `host`: start's and
 * run's (through the addon). False when the init (rec.pid, rec.init_start_time) went
 * away first. Failure on a host socket that cannot be reached.
 */
bool forward_ready(int listening, const std::string& host, int64_t main_pid, const Record& rec);

// ---- the cgroup writer lock's warm-up (warm.cc) ----
/** <mount point><own path>/cgroup.procs in the first cgroup v1 hierarchy mounted at its root; "" when none. */
std::string own_v1_procs_file();
/** Writes "0" into own_v1_procs_file() now and every 3 ms until stop_fd is readable or hung up, or ms have passed. */
void warm_cgroup_writer(int stop_fd, int ms);
/** A process doing warm_cgroup_writer; closing stop_fd ends it. */
struct WarmProcess {
  pid_t pid = -1;
  /** the write end of its stop pipe, not close-on-exec (the brain inherits it) */
  int stop_fd = -1;
};
/**
 * pid -1 when it could not be started (the brain then warms up on its own). With
 * init_memfd >= 0, the process first copies init_path into it and seals it.
 */
WarmProcess start_warm_process(int ms, int init_memfd = -1, const std::string& init_path = "");
/** Ends and reaps it (before a handover that failed). */
void stop_warm_process(const WarmProcess& warm);

// ---- hako-init's sealed copy (sealed.cc) ----
/** fchmod 0555 and every seal against change (F_SEAL_EXEC where known): the syscall that failed (errno set), or nullptr. */
const char* seal_copy(int fd);
/** The regular file at path copied into memfd (sendfile): the syscall that failed (errno set), or nullptr. */
const char* copy_file(int memfd, const std::string& path);
/** copy_file, then seal_copy. */
const char* copy_file_sealed(int memfd, const std::string& path);
/** Whether fd is a finished sealed copy: not empty, and every seal seal_copy adds is on it. */
bool is_sealed_copy(int fd);
/** The one hako-init-<hash> in dir, "" when there is none or more than one. */
std::string only_init_file(const std::string& dir);

// ---- the verbs (verbs.cc): one implementation, called by the front's main and by the
// brain through the addon (cpp/addon/front.cc) ----
struct VerbCall {
  std::string verb;  // state, list, kill, pause, resume, ps, delete, start
  std::string root;
  /** the positional arguments (kill: id [signal]; ps: id [ps args...]) */
  std::vector<std::string> args;
  bool force = false;  // delete
  bool all = false;    // kill
  bool quiet = false;  // list
  std::string format = "table";  // list, ps
  /** start: the host's NOTIFY_SOCKET to forward READY to ("": none) */
  std::string notify_host;
  /** where warnings (a failed poststart/poststop hook) and --debug lines go; null: nowhere */
  const Logger* log = nullptr;
};
bool is_verb(const std::string& name);
/**
 * Stops a container's systemd unit over D-Bus and waits for it (throws Failure). Set by the
 * addon (cpp/addon/systemd.cc); null in the static front, whose delete then hands a
 * container with a unit to the brain.
 */
extern void (*stop_systemd_unit)(const std::string& unit);
/** Carries out the call; returns what goes to stdout, appends warnings for stderr to err_out. */
std::string run_verb(const VerbCall& call, std::string& err_out);

}  // namespace hako::front
