#include "init/debug_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace hako {
namespace {

int g_fd = -1;
const char* g_stage = "0";

}  // namespace

void set_debug_fd(int fd) {
  if (fd < 0) return;
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  g_fd = fd;
}

bool debug_enabled() { return g_fd >= 0; }

void set_debug_stage(const char* stage) { g_stage = stage; }

void debug_log(std::string_view what) {
  if (g_fd < 0) return;
  std::string line = "hako-init-";
  line += g_stage;
  line += '[';
  line += std::to_string(::getpid());
  line += "]: ";
  line += what;
  line += "\n";
  // One write: lines from stage 0 and the init do not interleave (PIPE_BUF).
  ssize_t n = ::write(g_fd, line.data(), line.size());
  (void)n;
}

void close_debug_log(std::string_view last) {
  if (g_fd < 0) return;
  debug_log(last);
  ::close(g_fd);
  g_fd = -1;
}

}  // namespace hako
