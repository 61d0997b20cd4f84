// Test harness for cpp/init/rootfs.cc, independent of the rest of hako-init: builds a
// Plan by hand for a named scenario, unshares user (--userns, identity-mapped), mount,
// pid, uts, ipc and net namespaces, runs prepare_rootfs, enter_rootfs and
// finalize_rootfs as the new pid namespace's init, then execs the command.
//
//   rootfs-harness <scenario> <rootfs> [--userns] [--old-kernel] [-- cmd args...]
//
// --old-kernel makes open_tree and move_mount fail with ENOSYS (seccomp) to exercise
// the mount(2) fallbacks. Errors print as "harness: <step>: <message>: <strerror>";
// exit 3/4/5 when prepare/enter/finalize failed. test/tools/rootfs-check.sh builds it
// and runs every scenario (needs root).
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/plan.h"
#include "init/rootfs.h"

using namespace hako;

namespace {

Mount mnt(std::string src, std::string dst, std::string type, uint64_t flags, std::string data = "",
          uint32_t ext = 0) {
  Mount m;
  m.source = std::move(src);
  m.destination = std::move(dst);
  m.type = std::move(type);
  m.flags = flags;
  m.data = std::move(data);
  m.ext = ext;
  return m;
}

Mount bindm(std::string src, std::string dst, uint64_t flags) {
  return mnt(std::move(src), std::move(dst), "bind", flags | MS_BIND, "", MOUNT_EXT_BIND);
}

void add_default_devices(Plan& p, bool bind) {
  struct D {
    const char* path;
    uint32_t maj, min;
  } devs[] = {{"/dev/null", 1, 3}, {"/dev/random", 1, 8}, {"/dev/full", 1, 7},
              {"/dev/tty", 5, 0},  {"/dev/zero", 1, 5},   {"/dev/urandom", 1, 9}};
  for (auto& d : devs) {
    Device dv;
    dv.type = 'c';
    dv.major = d.maj;
    dv.minor = d.min;
    dv.mode = 0666;
    dv.bind = bind ? 1 : 0;
    dv.path = d.path;
    p.devices.push_back(dv);
  }
  p.symlinks.push_back({"pts/ptmx", "/dev/ptmx"});
  p.symlinks.push_back({"/proc/self/fd", "/dev/fd"});
  p.symlinks.push_back({"/proc/self/fd/0", "/dev/stdin"});
  p.symlinks.push_back({"/proc/self/fd/1", "/dev/stdout"});
  p.symlinks.push_back({"/proc/self/fd/2", "/dev/stderr"});
  p.symlinks.push_back({"/proc/kcore", "/dev/core"});
}

// runc spec's defaults (cgroup mount expanded as the plan builder does on this v1 host).
void default_spec(Plan& p, bool userns) {
  p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
  p.mounts.push_back(mnt("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"));
  p.mounts.push_back(mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                         "newinstance,ptmxmode=0666,mode=0620" + std::string(userns ? "" : ",gid=5")));
  p.mounts.push_back(mnt("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k"));
  p.mounts.push_back(mnt("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV));
  if (userns) {
    p.mounts.push_back(bindm("/sys", "/sys", MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  } else {
    p.mounts.push_back(mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  }
  uint64_t cgf = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY;
  p.mounts.push_back(mnt("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755"));
  for (const char* c : {"cpu", "cpuacct", "memory", "pids", "systemd"}) {
    p.mounts.push_back(bindm(std::string("/sys/fs/cgroup/") + c, std::string("/sys/fs/cgroup/") + c, MS_REC | cgf));
  }
  add_default_devices(p, userns);
  p.flags |= FLAG_SETUP_DEV | FLAG_ROOT_READONLY;
  p.masked_paths = {"/proc/acpi",  "/proc/asound",    "/proc/kcore",       "/proc/keys",
                    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                    "/sys/firmware", "/proc/scsi"};
  p.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

bool build(const std::string& scenario, Plan& p, bool userns) {
  p.clone_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | (userns ? CLONE_NEWUSER : 0);
  if (scenario == "default") {
    default_spec(p, userns);
  } else if (scenario == "nopivot") {
    default_spec(p, userns);
    p.flags |= FLAG_NO_PIVOT;
  } else if (scenario == "escape") {
    // The image has /evil -> "/", /evil2 -> "../../../tmp/hako-escape", /evil3/x -> /etc/../..
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    p.mounts.push_back(mnt("tmpfs", "/evil/mnt-a", "tmpfs", 0, "size=1m"));
    p.mounts.push_back(mnt("tmpfs", "/evil2/mnt-b", "tmpfs", 0, "size=1m"));
    p.mounts.push_back(bindm("/etc/hostname", "/evil2/deeper/file", 0));
    p.mounts.push_back(bindm("/etc/hostname", "/evil3/file", MS_RDONLY));
    p.mounts.push_back(mnt("tmpfs", "/dangling/sub", "tmpfs", 0, "size=1m"));
  } else if (scenario == "proc-sys") {
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    p.mounts.push_back(mnt("proc", "/proc/sys", "proc", 0));
  } else if (scenario == "tmpfs-proc") {
    p.mounts.push_back(mnt("tmpfs", "/proc", "tmpfs", 0));
  } else if (scenario == "bind-proc") {
    p.mounts.push_back(bindm("/tmp", "/proc", MS_REC));
  } else if (scenario == "bind-hostproc") {
    p.mounts.push_back(bindm("/proc", "/proc", MS_REC));
  } else if (scenario == "symlink-proc") {
    // /fakeproc -> /proc/sys in the image
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    p.mounts.push_back(mnt("tmpfs", "/fakeproc", "tmpfs", 0));
  } else if (scenario == "lxcfs") {
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    p.mounts.push_back(bindm("/etc/hostname", "/proc/uptime", 0));
  } else if (scenario == "devnull-symlink") {
    // No /dev tmpfs: the image's /dev/null is a symlink to /etc/passwd.
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    p.masked_paths = {"/proc/acpi", "/proc/keys"};
  } else if (scenario == "features") {
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    // tmpcopyup over the image's /etc, read-only
    p.mounts.push_back(mnt("tmpfs", "/etc", "tmpfs", MS_RDONLY | MS_NOSUID, "size=1m", MOUNT_EXT_TMPCOPYUP));
    // file bind (mountpoint created as a file), dir bind ro+nosuid, rbind with rro
    p.mounts.push_back(bindm("/etc/hostname", "/data/hostname", 0));
    p.mounts.push_back(bindm("/sys/fs/cgroup", "/data/cg-ro", MS_RDONLY | MS_NOSUID));
    Mount r = bindm("/sys/fs/cgroup", "/data/cg-rro", MS_REC);
    r.ext |= MOUNT_EXT_RRO;
    r.attr_set = 1;  // MOUNT_ATTR_RDONLY
    r.propagation = MS_PRIVATE | MS_REC;
    p.mounts.push_back(r);
    Mount s = mnt("tmpfs", "/data/shared", "tmpfs", 0, "size=1m");
    s.propagation = MS_SHARED;
    s.attr_set = 0x2 | 0x8;  // MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC
    p.mounts.push_back(s);
    // a fifo and a char device via linux.devices without /dev set up
    Device f;
    f.type = 'p';
    f.mode = 0600;
    f.uid = 1000;
    f.gid = 1000;
    f.path = "/data/fifo";
    p.devices.push_back(f);
    p.symlinks.push_back({"hostname", "/data/link"});
    p.readonly_paths = {"/data", "/nonexistent"};
    p.masked_paths = {"/data/hostname", "/proc/kcore", "/data/shared", "/missing/x"};
  } else if (scenario == "locked") {
    // with --userns: the source has nosuid,nodev,noexec locked; asking only ro keeps them
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    const char* src = getenv("HARNESS_SRC");
    p.mounts.push_back(bindm(src ? src : "/sys/fs/cgroup/cpu", "/data/cpu", MS_RDONLY));
    Device d;
    d.type = 'c';
    d.major = 1;
    d.minor = 5;
    d.mode = 0666;
    d.path = "/dev/zero";  // mknod is refused in a user namespace: a bind instead
    p.devices.push_back(d);
  } else if (scenario == "locked-atime") {
    const char* src = getenv("HARNESS_SRC");
    p.mounts.push_back(bindm(src ? src : "/sys/fs/cgroup/cpu", "/data/cpu", MS_RDONLY | MS_STRICTATIME));
  } else if (scenario == "cgroup2") {
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    p.mounts.push_back(mnt("cgroup", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
  } else if (scenario == "rshared") {
    default_spec(p, userns);
    p.root_propagation = MS_SHARED | MS_REC;
  } else if (scenario == "resolv") {
    // the image's /etc/resolv.conf -> ../run/resolv.conf (dangling)
    p.mounts.push_back(mnt("proc", "/proc", "proc", 0));
    p.mounts.push_back(bindm("/etc/hostname", "/etc/resolv.conf", MS_REC | MS_RDONLY));
  } else if (scenario == "missing-source") {
    p.mounts.push_back(bindm("/nonexistent/src", "/data/x", 0));
  } else {
    return false;
  }
  return true;
}

// --old-kernel: open_tree and move_mount fail with ENOSYS, to exercise the fallbacks.
void deny_new_mount_api() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open_tree, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_move_mount, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
    perror("seccomp");
    _exit(1);
  }
}

void print_error(const StepError& e) {
  fprintf(stderr, "harness: %s: %s%s%s\n", e.step.c_str(), e.message.c_str(), e.err ? ": " : "",
          e.err ? strerror(e.err) : "");
}

int write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == static_cast<ssize_t>(strlen(text)) ? 0 : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: harness <scenario> <rootfs> [--userns] [-- cmd...]\n");
    return 2;
  }
  std::string scenario = argv[1];
  Plan plan;
  plan.rootfs = argv[2];
  bool userns = false;
  bool old_kernel = false;
  std::vector<char*> cmd;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--userns") == 0) {
      userns = true;
    } else if (strcmp(argv[i], "--old-kernel") == 0) {
      old_kernel = true;
    } else if (strcmp(argv[i], "--") == 0) {
      for (int j = i + 1; j < argc; j++) cmd.push_back(argv[j]);
      break;
    }
  }
  if (cmd.empty()) {
    static char sh[] = "/bin/sh", c[] = "-c", script[] = "cat /proc/self/mountinfo; ls -la /dev";
    cmd = {sh, c, script};
  }
  cmd.push_back(nullptr);
  if (!build(scenario, plan, userns)) {
    fprintf(stderr, "harness: unknown scenario %s\n", scenario.c_str());
    return 2;
  }

  // The child unshares; with --userns the parent writes an identity map for it.
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) return 1;
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(go[1]);
    close(ready[0]);
    if (userns) {
      if (unshare(CLONE_NEWUSER) < 0) {
        perror("unshare user");
        _exit(1);
      }
      if (write(ready[1], "u", 1) != 1) _exit(1);
      char c;
      if (read(go[0], &c, 1) != 1) _exit(1);
      if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) _exit(1);
    }
    close(ready[1]);
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0) {
      perror("unshare");
      _exit(1);
    }
    pid_t init = fork();
    if (init < 0) _exit(1);
    if (init > 0) {
      int st;
      waitpid(init, &st, 0);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    if (old_kernel) deny_new_mount_api();
    if (Result r = prepare_rootfs(plan)) {
      print_error(*r);
      _exit(3);
    }
    if (Result r = enter_rootfs(plan)) {
      print_error(*r);
      _exit(4);
    }
    if (Result r = finalize_rootfs(plan)) {
      print_error(*r);
      _exit(5);
    }
    execv(cmd[0], cmd.data());
    perror("exec");
    _exit(127);
  }
  close(go[0]);
  close(ready[1]);
  if (userns) {
    char c;
    if (read(ready[0], &c, 1) != 1) return 1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/uid_map", child);
    if (write_file(path, "0 0 65536\n") < 0) perror("uid_map");
    snprintf(path, sizeof(path), "/proc/%d/setgroups", child);
    write_file(path, "deny\n");
    snprintf(path, sizeof(path), "/proc/%d/gid_map", child);
    if (write_file(path, "0 0 65536\n") < 0) perror("gid_map");
    if (write(go[1], "g", 1) != 1) return 1;
  }
  int st;
  waitpid(child, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
