#include "init/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "init/sys.h"

namespace hako {

Result load_seccomp(const Plan& plan, int* listener) {
  *listener = -1;
  if (!plan.seccomp) return std::nullopt;
  const Seccomp& sc = *plan.seccomp;
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
  if (sc.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) *listener = static_cast<int>(rc);
  return std::nullopt;
}

}  // namespace hako
