// The launch plan: everything hako-init needs to build a container, decided in
// TypeScript (src/plan/) and carried over the sync socket in this binary format.
// This header is the single definition of the format; src/plan/wire.ts mirrors it and
// test/unit/plan-wire.test.ts keeps the two equal (hako-init --decode-plan prints what
// it decoded as JSON).
//
// Encoding (all integers little-endian):
//   header:  8 bytes magic "HAKOPLAN", u32 version (PLAN_VERSION), u32 record count
//   record:  u16 tag, u16 reserved (0), u32 payload length, payload
// Payload kinds:
//   STR      the bytes of the string (no NUL; may be empty)
//   U32/U64/I64  4 or 8 bytes
//   STRUCT   the fields listed for the tag, in order; a string field inside a struct is
//            u32 length + bytes
// Records may repeat where the field is a list (ARG, ENV, MOUNT, ...); list order is
// the order of the records. A tag the decoder does not know is an error (the plan and
// hako-init are built together).
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hako {

inline constexpr char PLAN_MAGIC[8] = {'H', 'A', 'K', 'O', 'P', 'L', 'A', 'N'};
inline constexpr uint32_t PLAN_VERSION = 1;

enum PlanTag : uint16_t {
  TAG_CONTAINER_ID = 1,      // STR
  TAG_ROOTFS = 2,            // STR: absolute host path of the root filesystem
  TAG_FLAGS = 3,             // U64: PlanFlag bits
  TAG_CLONE_FLAGS = 4,       // U64: CLONE_NEW* of the namespaces to create
  TAG_JOIN_NS = 5,           // STRUCT {u64 clone_flag, str path}: namespaces to join, in order (user first)
  TAG_ROOT_PROPAGATION = 6,  // U64: MS_* propagation for "/" in the new mount ns (0: MS_SLAVE|MS_REC, as runc)
  TAG_MOUNT = 7,             // STRUCT Mount (below)
  TAG_DEVICE = 8,            // STRUCT Device (below)
  TAG_SYMLINK = 9,           // STRUCT {str target, str link}: link (inside the rootfs) -> target
  TAG_MASKED_PATH = 10,      // STR
  TAG_READONLY_PATH = 11,    // STR
  TAG_HOSTNAME = 12,         // STR
  TAG_DOMAINNAME = 13,       // STR
  TAG_TIME_OFFSET = 14,      // STRUCT {u32 clock (CLOCK_MONOTONIC 1 | CLOCK_BOOTTIME 7), i64 secs, u32 nanos}
  TAG_SYSCTL = 15,           // STRUCT {str key (dotted), str value}
  TAG_ARG = 20,              // STR: process.args[i]
  TAG_ENV = 21,              // STR: "KEY=value"
  TAG_CWD = 22,              // STR
  TAG_USER = 23,             // STRUCT {u32 uid, u32 gid, u32 umask (UMASK_UNSET: leave it)}
  TAG_ADDITIONAL_GID = 24,   // U32
  TAG_RLIMIT = 25,           // STRUCT {u32 resource (RLIMIT_*), u64 soft, u64 hard} (RLIM_INFINITY = ~0)
  TAG_OOM_SCORE_ADJ = 26,    // I64 (absent: leave it)
  TAG_CONSOLE_SIZE = 27,     // STRUCT {u32 rows, u32 cols}
  TAG_CAPABILITIES = 28,     // STRUCT {u64 bounding, u64 effective, u64 permitted, u64 inheritable, u64 ambient}
  TAG_FDS = 29,              // STRUCT {i32 console_socket, i32 exec_fifo, u32 preserved}
  TAG_SECCOMP = 30,          // STRUCT {u32 flags, i32 listener_socket, str program}: Seccomp (below)
  TAG_HOOK = 31,             // STRUCT Hook (below): a createContainer/startContainer hook, in order
  TAG_HOOK_STATE = 32,       // STRUCT {u32 kind, str head, str tail}: HookState (below)
  TAG_SCHEDULER = 33,        // STRUCT Scheduler (below); absent: leave the policy alone
  TAG_IO_PRIORITY = 34,      // STRUCT {u32 class (IOPRIO_CLASS_*), u32 priority (0-7)}; absent: leave it
  TAG_CPU_AFFINITY = 35,     // STRUCT {u32 n, n x u32 cpu}: sched_setaffinity before execve; absent: leave it
  TAG_PERSONALITY = 36,      // U32: personality(2) persona (PER_LINUX, PER_LINUX32); absent: leave it
  TAG_MEMORY_POLICY = 37,    // STRUCT {u32 mode, u32 flags, u32 n, n x u32 node}: set_mempolicy; absent: leave it
  TAG_CGROUP2_DIR = 38,      // STR: host path of the cgroup2 directory the init (or exec'd process) is
                             // cloned into (Plan.cgroup2_dir); absent: hako moved stage 0 there itself
  TAG_MOUNT_IDMAP = 60,      // STRUCT MountIdmap (below): the id-mapping of the TAG_MOUNT record just before it
};

enum PlanFlag : uint64_t {
  FLAG_NO_PIVOT = 1ull << 0,        // MS_MOVE the rootfs onto / and chroot instead of pivot_root
  FLAG_NO_NEW_KEYRING = 1ull << 1,  // do not join a new session keyring "_ses.<id>"
  FLAG_ROOT_READONLY = 1ull << 2,   // remount / read-only at the end
  FLAG_TERMINAL = 1ull << 3,        // process.terminal: make a pty in the container
  FLAG_SETUP_DEV = 1ull << 4,       // /dev is a fresh tmpfs: create the default devices and links
  FLAG_NO_NEW_PRIVS = 1ull << 5,    // prctl(PR_SET_NO_NEW_PRIVS)
  FLAG_CHOWN_STDIO = 1ull << 6,     // fchown fds 0-2 to the container's root (pipes made by hako)
  FLAG_USERNS_MAPS = 1ull << 7,     // a new user namespace: ask the parent to write the id maps
  FLAG_EXEC = 1ull << 8,            // hako exec: join the container's namespaces (join_ns), create
                                    // nothing, and set up only the process (exec_init.h)
};

inline constexpr uint32_t UMASK_UNSET = 0xffffffffu;

// Mount.ext bits: what plain mount(2) flags cannot say.
enum MountExt : uint32_t {
  MOUNT_EXT_BIND = 1u << 0,       // a bind mount (MS_BIND in flags too); source is a host path
  MOUNT_EXT_TMPCOPYUP = 1u << 1,  // tmpfs: copy what the rootfs had at the destination into it
  MOUNT_EXT_RRO = 1u << 2,        // recursive read-only via mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)
  MOUNT_EXT_RRW = 1u << 3,        // recursive read-write (clear MOUNT_ATTR_RDONLY recursively)
  MOUNT_EXT_REMOUNT = 1u << 4,    // a bind whose options cleared flags (rw, suid, dev, exec, ...):
                                  // remount it even when flags holds nothing beyond MS_BIND|MS_REC
};

// An id-mapped mount (runtime-spec 1.2 mounts[].uidMappings/gidMappings, "idmap"/"ridmap"):
// the user namespace whose mappings mount_setattr(MOUNT_ATTR_IDMAP) gives the mount. Either
// uid_map and gid_map (as /proc/<pid>/uid_map takes them; stage 0 makes a user namespace
// with them) or userns_path (a user namespace joined by path, whose mappings are used).
enum MountIdmapFlag : uint32_t {
  MOUNT_IDMAP_RECURSIVE = 1u << 0,  // "ridmap": the mounts below get the mapping too
  MOUNT_IDMAP_IN_CONTAINER = 1u << 1,  // not a bind, in a new user namespace: the init makes the
                                       // mapping's user namespace (a child of its own, which it
                                       // controls); the maps are in the container's ids
};
struct MountIdmap {
  uint32_t flags = 0;       // MountIdmapFlag bits
  std::string uid_map;      // "containerID hostID size\n" lines
  std::string gid_map;
  std::string userns_path;  // instead of the maps
  std::string pointer;      // "/mounts/3": where the config asked for it, for errors
};
// wire: u32 flags, str uid_map, str gid_map, str userns_path, str pointer

struct Mount {
  uint64_t flags = 0;        // MS_* for mount(2) (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ...)
  uint64_t propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (|MS_REC), applied after
  uint64_t attr_set = 0;     // MOUNT_ATTR_* to set with mount_setattr(AT_RECURSIVE)
  uint64_t attr_clr = 0;     // MOUNT_ATTR_* to clear
  uint32_t ext = 0;          // MountExt bits
  std::string source;
  std::string destination;  // absolute, inside the container
  std::string type;
  std::string data;         // the filesystem options (mode=755,size=65536k)
  std::optional<MountIdmap> idmap;  // TAG_MOUNT_IDMAP after it
};
// wire: u64 flags, u64 propagation, u64 attr_set, u64 attr_clr, u32 ext, str source, str destination, str type, str data


struct Device {
  uint32_t type = 0;  // 'c', 'b', 'p' (fifo)
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t mode = 0;  // permission bits (file type comes from type)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t bind = 0;  // 1: bind-mount the host's device node instead of mknod (user namespaces)
  std::string path;   // absolute, inside the container
};
// wire: u32 type, u32 major, u32 minor, u32 mode, u32 uid, u32 gid, u32 bind, str path

struct JoinNs {
  uint64_t clone_flag = 0;
  std::string path;
};

struct Symlink {
  std::string target;
  std::string link;
};

struct TimeOffset {
  uint32_t clock = 0;
  int64_t secs = 0;
  uint32_t nanos = 0;
};

struct Sysctl {
  std::string key;
  std::string value;
};

struct Rlimit {
  uint32_t resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

struct ConsoleSize {
  uint32_t rows = 0, cols = 0;
};

// linux.seccomp, compiled by the parent (cpp/addon/seccomp.cc): hako-init only hands the
// program to seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog).
struct Seccomp {
  uint32_t flags = 0;            // SECCOMP_FILTER_FLAG_* (LOG, SPEC_ALLOW, NEW_LISTENER, WAIT_KILLABLE_RECV)
  int32_t listener_socket = -1;  // with NEW_LISTENER: where the notification fd goes (to the parent,
                                 // which hands it to the agent at linux.seccomp.listenerPath)
  std::string program;           // struct sock_filter[]: a non-empty multiple of 8 bytes, at most BPF_MAXINSNS
};

inline constexpr size_t SECCOMP_MAX_INSNS = 4096;  // BPF_MAXINSNS

// The hooks hako-init runs itself (the parent runs prestart, createRuntime, poststart,
// poststop): execve(path, args, env) with the state JSON on stdin, stdout/stderr captured.
enum HookKind : uint32_t {
  HOOK_CREATE_CONTAINER = 0,  // after MSG_HOOKS_DONE, before pivot_root; cwd = the rootfs
  HOOK_START_CONTAINER = 1,   // after the exec fifo is released, before execve; cwd = process.cwd
};

struct Hook {
  uint32_t kind = 0;      // HookKind
  uint32_t timeout = 0;   // seconds; 0: none
  uint32_t has_env = 0;   // 0: env was absent from the config (startContainer: the process's env)
  std::string path;
  std::vector<std::string> args;  // argv as is (args[0] is argv[0]); empty: {path}
  std::vector<std::string> env;
};
// wire: u32 kind, u32 timeout, u32 has_env, str path, u32 n + n str args, u32 n + n str env

// The state a hook of one kind reads on stdin, built by hako: head + getpid() + tail.
struct HookState {
  uint32_t kind = 0;
  std::string head;  // {"ociVersion":...,"status":"creating","pid":
  std::string tail;  // ,"bundle":...}
};

// process.scheduler as sched_setattr(2) takes it (struct sched_attr).
struct Scheduler {
  uint32_t policy = 0;    // SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, ISO 4, IDLE 5, DEADLINE 6
  uint64_t flags = 0;     // SCHED_FLAG_*
  int32_t nice = 0;
  uint32_t priority = 0;  // real-time priority (FIFO, RR)
  uint64_t runtime = 0, deadline = 0, period = 0;  // nanoseconds (DEADLINE)
};
// wire: u32 policy, u64 flags, i32 nice, u32 priority, u64 runtime, u64 deadline, u64 period

struct IoPriority {
  uint32_t io_class = 0;  // IOPRIO_CLASS_RT 1, BE 2, IDLE 3
  uint32_t priority = 0;  // 0 (highest) to 7
};

inline constexpr uint32_t CPU_SETSIZE_MAX = 1024;  // the CPUs a cpu_set_t holds (and the NUMA nodes hako takes)

// linux.memoryPolicy for set_mempolicy(mode | flags, nodes).
struct MemoryPolicy {
  uint32_t mode = 0;            // MPOL_DEFAULT 0, PREFERRED 1, BIND 2, INTERLEAVE 3, LOCAL 4, PREFERRED_MANY 5, WEIGHTED_INTERLEAVE 6
  uint32_t flags = 0;           // MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES
  std::vector<uint32_t> nodes;  // each < CPU_SETSIZE_MAX; empty: no node mask
};

struct Fds {
  int32_t console_socket = -1;  // connected --console-socket, or the internal one for foreground run
  int32_t exec_fifo = -1;       // O_PATH fd of <state>/exec.fifo (-1 for run without a fifo)
  uint32_t preserved = 0;       // fds 3 .. 3+preserved-1 pass to the process (LISTEN_FDS + --preserve-fds)
};

struct Plan {
  std::string container_id;
  std::string rootfs;
  uint64_t flags = 0;
  uint64_t clone_flags = 0;
  std::vector<JoinNs> join_ns;
  uint64_t root_propagation = 0;
  std::vector<Mount> mounts;
  std::vector<Device> devices;
  std::vector<Symlink> symlinks;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  std::vector<TimeOffset> time_offsets;
  std::vector<Sysctl> sysctls;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0, umask = UMASK_UNSET;
  std::vector<uint32_t> additional_gids;
  std::vector<Rlimit> rlimits;
  std::optional<int64_t> oom_score_adj;
  std::optional<ConsoleSize> console_size;
  std::optional<Capabilities> capabilities;
  std::optional<Seccomp> seccomp;
  Fds fds;
  std::vector<Hook> hooks;
  std::vector<HookState> hook_states;
  std::optional<Scheduler> scheduler;
  std::optional<IoPriority> io_priority;
  std::optional<std::vector<uint32_t>> cpu_affinity;  // each < CPU_SETSIZE_MAX, at least one
  std::optional<uint32_t> personality;
  std::optional<MemoryPolicy> memory_policy;
  // The cgroup2 directory the process is born in: stage 0 clones it with clone3 and
  // CLONE_INTO_CGROUP (where the kernel has no such clone, stage 0 writes itself into the
  // directory's cgroup.procs and clones as before). Hako does not place stage 0 in the
  // cgroup2 hierarchy then, so the cgroup namespace follows the clone: a new one is made
  // by the clone itself (its root is the cgroup the process is born in), a joined one is
  // joined by the cloned process, once it is in its cgroup. Absent: stage 0 is in every
  // cgroup already (hako wrote it into cgroup.procs), namespaces as usual.
  std::optional<std::string> cgroup2_dir;

  bool has(PlanFlag f) const { return (flags & f) != 0; }
};

// Decodes a plan; on failure returns false and sets *error to what was wrong.
bool decode_plan(std::string_view bytes, Plan* out, std::string* error);

// The plan as JSON (field names as in src/plan/wire.ts), for the round-trip test.
std::string plan_to_json(const Plan& plan);

}  // namespace hako
