#include "init/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "init/sys.h"

namespace hako {
namespace {

// One sendmsg: a non-empty name (a stream socket drops ancillary data sent with no data)
// and the listener as the one SCM_RIGHTS fd.
Result send_listener(int sock, int listener) {
  char name[] = "seccompFd";
  iovec iov = {name, sizeof name - 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &listener, sizeof(int));
  for (;;) {
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("seccomp", "send the seccomp listener to the parent");
    if (static_cast<size_t>(n) != iov.iov_len) return step_error(EIO, "seccomp", "short send of the seccomp listener");
    return std::nullopt;
  }
}

}  // namespace

Result load_seccomp(const Plan& plan) {
  if (!plan.seccomp) return std::nullopt;
  const Seccomp& sc = *plan.seccomp;
  unique_fd sock(sc.listener_socket);
  // The decoder checked the size; copy for sock_filter's alignment.
  std::vector<sock_filter> insns(sc.program.size() / sizeof(sock_filter));
  memcpy(insns.data(), sc.program.data(), insns.size() * sizeof(sock_filter));
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(insns.size());
  prog.filter = insns.data();
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sc.flags, &prog);
  if (rc < 0) {
    return errno_error("seccomp", "load the seccomp filter (" + std::to_string(insns.size()) + " instructions, flags " +
                                      std::to_string(sc.flags) + ")");
  }
  if ((sc.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) == 0) return std::nullopt;
  unique_fd listener(static_cast<int>(rc));
  return send_listener(sock.get(), listener.get());
}

}  // namespace hako
