// NOTIFY_SOCKET forwarding for start, and for the brain's run through the addon
// (cpp/addon/notify.cc), as runc 1.1.5 (src/container/notify-socket.ts has the rest of the
// story): the container's socket is bound before its process is released; then
// start connects to the host's socket, waits for a datagram starting with "READY=" and
// forwards its first line, then "MAINPID=<pid>", each ending in "\n". Other datagrams are
// dropped; once the init is gone, what is still queued is looked at, then the wait ends.
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>

#include "front/front.h"

namespace hako::front {

bool unix_address(const std::string& path, sockaddr_un& addr, socklen_t& len) {
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.empty()) {
    errno = EINVAL;
    return false;
  }
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return false;
  }
  memcpy(addr.sun_path, path.data(), path.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  return true;
}

namespace {

constexpr int kLivenessMs = 100;

// The addon's error wording: "<syscall> <path>: <strerror>".
std::string sys_text(const char* syscall, const std::string& path, int err) {
  return std::string(syscall) + (path.empty() ? "" : " " + path) + ": " + strerror(err);
}

int connect_host(const std::string& host) {
  sockaddr_un addr;
  socklen_t len;
  const char* step = "connect";
  int fd = -1;
  if (unix_address(host, addr, len)) {
    step = "socket";
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      step = "connect";
      int r;
      do r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
      while (r != 0 && errno == EINTR);
      if (r == 0) return fd;
      int e = errno;
      ::close(fd);
      errno = e;
    }
  }
  throw Failure{"dial unixgram " + host + ": " + sys_text(step, host, errno)};
}

// A host socket that never reads (its queue full) would hold start for ever: the send
// waits up to kHostSendMs for room, then fails saying so.
constexpr int kHostSendMs = 10000;

void send_host(int fd, const std::string& host, const std::string& msg) {
  int waited = 0;
  for (;;) {
    ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return;
    if (errno == EINTR) continue;
    if (errno != EAGAIN || waited >= kHostSendMs) break;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 100);
    waited += 100;
  }
  int e = errno;
  std::string why = sys_text("send", "", e);
  if (e == EAGAIN) why += " (nothing read the socket for " + std::to_string(kHostSendMs / 1000) + " s)";
  throw Failure{"write unixgram " + host + ": " + why};
}

}  // namespace

int notify_listen(const std::string& path) {
  sockaddr_un addr;
  socklen_t len;
  const char* step = "bind";
  if (unix_address(path, addr, len)) {
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      step = "socket";
    } else if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      int e = errno;
      ::close(fd);
      errno = e;
    } else if (path[0] != '@' && ::chmod(path.c_str(), 0777) != 0) {
      step = "chmod";
      int e = errno;
      ::close(fd);
      errno = e;
    } else {
      return fd;
    }
  }
  throw Failure{"listen unixgram " + path + ": " + sys_text(step, path, errno)};
}

bool forward_ready(int listening, const std::string& host, int64_t main_pid, const Record& rec) {
  int out = connect_host(host);
  bool init_gone = false;
  try {
    for (;;) {
      pollfd p{listening, POLLIN, 0};
      int r;
      do r = ::poll(&p, 1, init_gone ? 0 : kLivenessMs);
      while (r < 0 && errno == EINTR);
      if (r < 0) throw Failure{"notify socket: " + sys_text("poll", "", errno)};
      bool got = false;
      if (r > 0) {
        char buf[4096];
        ssize_t n;
        do n = ::recv(listening, buf, sizeof buf, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN) throw Failure{"notify socket: " + sys_text("recv", "", errno)};
        if (n >= 0) {
          got = true;
          std::string text(buf, static_cast<size_t>(n));
          if (text.rfind("READY=", 0) == 0) {
            size_t nl = text.find('\n');
            std::string line = nl == std::string::npos ? text : text.substr(0, nl);
            send_host(out, host, line + "\n");
            send_host(out, host, "MAINPID=" + std::to_string(main_pid) + "\n");
            ::close(out);
            return true;
          }
        }
      }
      if (init_gone && !got) break;
      if (!init_gone) init_gone = !init_alive(rec);
    }
  } catch (...) {
    ::close(out);
    throw;
  }
  ::close(out);
  return false;
}

}  // namespace hako::front
