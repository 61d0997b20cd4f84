// The process attributes the init sets up before exec: keyring, rlimits, stdio
// ownership, user and groups, capabilities, cwd, args[0] lookup, and the exec itself.
#pragma once

#include <string>

#include "common/plan.h"
#include "init/step.h"

namespace hako {

// sethostname / setdomainname when the plan sets them.
Result set_host_names(const Plan& plan);

// Writes every plan.sysctls value to /proc/sys/<key with dots as slashes>.
Result write_sysctls(const Plan& plan);

// Joins a new session keyring "_ses.<container id>" (unless FLAG_NO_NEW_KEYRING) and
// adds search permission for the possessor's uid (or, in a user namespace, for
// "other"), as runc does. A kernel without keyrings (ENOSYS) is not an error.
Result join_session_keyring(const Plan& plan);


// FLAG_CHOWN_STDIO: fchown fds 0-2 to the container's user, skipping closed fds, a
// /dev/null, and fds the kernel will not let us chown (unmapped owner, read-only fs).
// FLAG_TERMINAL: fds 0-2 are the container's pty: chowned to the user's uid, its group
// kept (the devpts gid=, the tty group), as runc does; with or without FLAG_CHOWN_STDIO.
Result chown_stdio(const Plan& plan);

// Drops every capability not in plan.capabilities->bounding from the bounding set.
// Needs CAP_SETPCAP, so it runs before the switch of user.
Result drop_bounding_set(const Plan& plan);

// setgroups(additional_gids), setresgid(gid), setresuid(uid), keeping the permitted
// capabilities across the switch when the plan sets capabilities; then the umask.
Result switch_user(const Plan& plan, bool in_user_ns);

// mkdir -p plan.cwd (0755), as runc does once it is inside the rootfs: a missing cwd is
// created, not an error. Only after enter_rootfs, where "/" is the container's root.
Result create_cwd(const Plan& plan);

// chdir(plan.cwd). `first_try`: before the switch of user, where a permission error is
// not final (the container's user may reach a directory hako's user cannot); sets
// *done when the chdir happened.
Result change_dir(const Plan& plan, bool first_try, bool* done);

// getcwd() must give an absolute path inside the container's mount namespace
// (CVE-2024-21626); a failure names plan.cwd.
Result verify_cwd(const Plan& plan);

// capset (effective, permitted, inheritable), then the ambient set.
Result apply_capabilities(const Plan& plan);

// Finds args[0] as Go's exec.LookPath does: a name with a slash as is, otherwise each
// directory of PATH from plan.env (no PATH: not found). Sets *path.
Result look_up_executable(const Plan& plan, std::string* path);

// Waits on the exec fifo for `hako start`: open /proc/self/fd/<fifo> O_WRONLY, write
// "0", close it and the O_PATH fd.
Result wait_for_start(const Plan& plan);

// Closes every fd >= 3 + plan.fds.preserved, resets the signal mask and dispositions,
// and execve()s. Returns only on failure.
StepError exec_process(const Plan& plan, const std::string& path);

// The environment the process gets: plan.env, plus HOME from the container's /etc/passwd
// when it has none (what a startContainer hook without env of its own receives too).
std::vector<std::string> process_env(const Plan& plan);

// prctl(PR_SET_NO_NEW_PRIVS) when the plan asks for it.
Result set_no_new_privs(const Plan& plan);

// sched_setattr(0, plan.scheduler) when the plan has one.
Result set_scheduler(const Plan& plan);

// ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | priority) when the plan has one.
Result set_io_priority(const Plan& plan);

// sched_setaffinity(0) to plan.cpu_affinity when the plan has it (exec's
// execCPUAffinity.final).
Result set_cpu_affinity(const Plan& plan);

// set_mempolicy(mode | flags, nodes) when the plan has a memory policy.
Result set_memory_policy(const Plan& plan);

// personality(plan.personality) when the plan has one.
Result set_personality(const Plan& plan);

// What the init and an exec'd process share at the end of their setup, in runc's order:
// the scheduler, the I/O priority and the memory policy, seccomp (early without no_new_privs), the cwd (as root, then as the user), the bounding
// set, the user switch, the cwd check, capabilities, no_new_privs, the args[0] lookup
// (into *path), seccomp (late with no_new_privs); the personality before the lookup for
// an exec'd process, last for the init.
Result become_the_process(const Plan& plan, bool user_ns, std::string* path);

}  // namespace hako
