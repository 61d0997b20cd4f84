// The OCI hooks hako-init runs itself, with the runner the front and the brain share: createContainer (in the container's namespaces,
// before pivot_root, cwd the rootfs) and startContainer (after the exec fifo is released,
// inside the rootfs, cwd process.cwd). prestart, createRuntime, poststart and poststop are
// the parent's (src/container/hooks.ts), with the same rules:
//   execve(path, args or {path}, env exactly), the state JSON on stdin (the plan's
//   HookState with getpid() in it), stdout and stderr captured, timeout -> SIGKILL;
//   hooks of one kind in order, the first failure stops the rest.
#pragma once

#include "common/plan.h"
#include "init/step.h"

namespace hako {

// Runs the plan's hooks of `kind` in order, in `cwd` (nullptr: the current directory).
// The first failure stops the rest: a StepError (errno 0, step "hook") worded as runc's
// (cpp/common/run_captured.h):
//   error running hook #0: error running hook: exit status 3, stdout: out, stderr: err
//   error running hook #1: hook ran past specified timeout of 1.0s
//   error running hook #0: fork/exec /x: no such file or directory
// A startContainer hook without env in the config gets the process's env.
Result run_hooks(const Plan& plan, HookKind kind, const char* cwd);

}  // namespace hako
