// Stage 0: the process hako spawned. It builds the namespaces and clones the
// container's init (stage 2) as a sibling of itself, a direct child of hako.
#pragma once

#include "common/plan.h"
#include "init/step.h"
#include "init/sync_io.h"

namespace hako {

enum class Stage { kStage0Done, kInit };

// In order: open plan.cgroup2_dir, rlimits, oom_score_adj (before any user namespace,
// where lowering it still works), join plan.join_ns, create the user namespace (maps
// written by the parent), unshare the other namespaces and set time offsets, then clone
// the init with CLONE_PARENT (| CLONE_NEWPID) and send MSG_INIT_PID. With a cgroup2_dir
// the clone is a clone3 into it (CLONE_INTO_CGROUP, with CLONE_NEWCGROUP when the plan
// makes a cgroup namespace), and a joined cgroup namespace is joined by the init.
//
// Returns twice on success: in stage 0 with *stage = kStage0Done (it should exit 0),
// and in the init with *stage = kInit, once stage 0 has sent MSG_INIT_PID, so the init's
// own messages follow it on the shared socket. A failure is returned in the process
// that failed.
Result run_stage0(const Plan& plan, SyncSocket& sync, Stage* stage);

}  // namespace hako
