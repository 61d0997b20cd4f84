// hako-init: the container's first process, executed by hako from a sealed copy.
// At this stage of the project it only identifies itself; the launch plan protocol
// (namespaces, mounts, user, capabilities, exec) arrives with the lifecycle work.
#include <string.h>
#include <unistd.h>

#include "common/version.h"

namespace {

void write_str(int fd, const char* s) {
  size_t len = strlen(s);
  while (len > 0) {
    ssize_t n = ::write(fd, s, len);
    if (n <= 0) return;
    s += n;
    len -= static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    write_str(1, "hako-init " HAKO_VERSION "\n");
    return 0;
  }
  write_str(2, "hako-init: this program is started by hako, not by hand\n");
  return 2;
}
