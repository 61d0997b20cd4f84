// Steps of hako-init report failure as a StepError: the step's name, the errno and a
// message naming the path involved. The parent prints "<step>: <message>: <strerror>".
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace hako {

struct StepError {
  int err = 0;          // errno, 0 when not a system call failure
  std::string step;     // e.g. "mount", "pivot_root", "exec"
  std::string message;  // e.g. "mount \"proc\" on \"/proc\""
};

// nullopt: the step worked.
using Result = std::optional<StepError>;

// In a function returning StepError: run one step, and leave with its error if it failed.
#define HAKO_STEP(call)           \
  do {                            \
    if (::hako::Result r_ = (call)) { \
      return std::move(*r_);      \
    }                             \
  } while (0)

inline StepError step_error(int err, std::string step, std::string message) {
  return StepError{err, std::move(step), std::move(message)};
}

}  // namespace hako
