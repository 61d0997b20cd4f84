// Test-only: HAKO_TEST_STOP_AT=<step> makes hako SIGKILL itself when it reaches the step of
// that name (npm run test:chaos kills hako at every step of every verb and checks what a
// later `state` and `delete --force` make of it). Unset, as it is outside the tests, a stop
// point is one getenv and nothing else: the shipped path is the same. The brain's twin is
// src/container/stop-point.ts; RELIABILITY.md lists the steps.
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "front/front.h"

namespace hako::front {

void stop_point(const char* step) {
  static const char* at = ::getenv("HAKO_TEST_STOP_AT");
  if (at != nullptr && ::strcmp(at, step) == 0) ::raise(SIGKILL);
}

}  // namespace hako::front
