// process.terminal: the container's pty, its master sent over the console socket.
#pragma once

#include "common/plan.h"
#include "init/step.h"

namespace hako {

// After enter_rootfs. Opens the container's /dev/ptmx, checks it is the ptmx device and
// that its peer (TIOCGPTPEER) lives on devpts, applies plan.console_size, bind-mounts
// the peer on /dev/console (only in a mount namespace of our own), sends the master
// over plan.fds.console_socket (one sendmsg: the name "/dev/ptmx" and one SCM_RIGHTS
// fd), closes the master and the socket, then setsid() and makes the peer fds 0-2 and
// the controlling terminal.
Result setup_console(const Plan& plan, bool bind_dev_console);

}  // namespace hako
