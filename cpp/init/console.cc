#include "init/console.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "init/sys.h"

namespace hako {
namespace {

constexpr char PTMX[] = "/dev/ptmx";
constexpr char CONSOLE[] = "/dev/console";

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// An O_PATH fd of /dev/console in the container, created as an empty file when
// missing. A symlink there is refused: the bind must land on the container's own file.
Result open_console_target(unique_fd* out) {
  unique_fd fd(::open(CONSOLE, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && errno == ENOENT) {
    unique_fd created(::open(CONSOLE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0666));
    if (!created && errno != EEXIST) return errno_error("console", std::string("create ") + quote(CONSOLE));
    fd.reset(::open(CONSOLE, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd) return errno_error("console", std::string("open ") + quote(CONSOLE));
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return errno_error("console", std::string("stat ") + quote(CONSOLE));
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
    return step_error(EINVAL, "console", std::string(CONSOLE) + " is neither a file nor a device (a symlink?)");
  }
  *out = std::move(fd);
  return std::nullopt;
}

// One sendmsg: non-empty data (a stream socket drops ancillary data sent with none)
// and exactly one SCM_RIGHTS fd, as go-runc's recvFd and conmon expect.
Result send_master(int sock, int master) {
  char name[] = "/dev/ptmx";
  struct iovec iov = {name, sizeof name - 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
  for (;;) {
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("console", "send the console master over the console socket");
    if (static_cast<size_t>(n) != iov.iov_len) {
      return step_error(EIO, "console", "short send of the console master over the console socket");
    }
    return std::nullopt;
  }
}

}  // namespace

Result setup_console(const Plan& plan, bool bind_dev_console) {
  unique_fd sock(plan.fds.console_socket);
  if (!sock) return step_error(EINVAL, "console", "process.terminal is set but there is no console socket");

  unique_fd master(::open(PTMX, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return errno_error("console", std::string("open ") + quote(PTMX));
  struct stat st;
  if (::fstat(master.get(), &st) < 0) return errno_error("console", std::string("stat ") + quote(PTMX));
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
    return step_error(EINVAL, "console", std::string(PTMX) + " is not the pty multiplexer (char 5:2)");
  }
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) return errno_error("console", "unlockpt");

  unique_fd peer(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!peer) return errno_error("console", "open the pty peer (TIOCGPTPEER)");
  struct statfs sfs;
  if (::fstatfs(peer.get(), &sfs) < 0 || ::fstat(peer.get(), &st) < 0) {
    return errno_error("console", "stat the pty peer");
  }
  if (sfs.f_type != DEVPTS_SUPER_MAGIC || !S_ISCHR(st.st_mode)) {
    return step_error(EINVAL, "console", "the pty peer of " + std::string(PTMX) + " is not on a devpts filesystem");
  }

  if (plan.console_size) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(plan.console_size->rows);
    ws.ws_col = static_cast<unsigned short>(plan.console_size->cols);
    if (::ioctl(peer.get(), TIOCSWINSZ, &ws) < 0) return errno_error("console", "set the console size (TIOCSWINSZ)");
  }

  if (bind_dev_console) {
    unique_fd target;
    if (auto e = open_console_target(&target)) return e;
    if (::mount(fd_path(peer.get()).c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0) {
      return errno_error("console", "bind mount the pty peer on " + quote(CONSOLE));
    }
  }

  if (auto e = send_master(sock.get(), master.get())) return e;
  master.reset();
  sock.reset();

  // The init is a session leader already (run_init); an exec'd process is not.
  if (::getsid(0) != ::getpid() && ::setsid() < 0) return errno_error("console", "setsid");
  for (int fd = 0; fd < 3; fd++) {
    if (::dup2(peer.get(), fd) < 0) return errno_error("console", "dup2 the pty peer to fd " + std::to_string(fd));
  }
  if (::ioctl(0, TIOCSCTTY, 0) < 0) return errno_error("console", "make the pty the controlling terminal (TIOCSCTTY)");
  if (peer.get() <= 2) peer.release();
  return std::nullopt;
}

}  // namespace hako
