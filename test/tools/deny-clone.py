#!/usr/bin/env python3
"""Runs a command with one way of cloning taken away, by a seccomp filter that everything
the command starts inherits (hako, hako-init, the container):

    python3 test/tools/deny-clone.py clone3 <command> [args...]
        clone3(2) fails with ENOSYS, as under Docker's default seccomp profile or on a
        kernel older than 5.3. glibc (so node) falls back to clone(2); hako-init falls
        back from clone3(CLONE_INTO_CGROUP) to writing cgroup.procs.
        clone3:E2BIG (any errno name) fails it with that errno instead: only for a
        program that makes no thread (glibc falls back on ENOSYS alone), such as
        hako-init run by test/tools/init-driver.py, which imports install() from here.

    python3 test/tools/deny-clone.py clone-parent <command> [args...]
        clone(2) with CLONE_PARENT fails with EPERM. Node never clones that way; hako-init
        does for the container's init or exec'd process unless it uses clone3, so under
        this filter a container starts only if hako-init cloned it with clone3.

Installing a filter without no_new_privs needs CAP_SYS_ADMIN (root); no_new_privs is
left alone on purpose, the container would inherit it.
"""
import ctypes
import errno
import os
import struct
import sys

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
CLONE_PARENT = 0x00008000

NR_CLONE3 = 435  # one number on every architecture
NR_CLONE = {'x86_64': 56, 'aarch64': 220}

# struct seccomp_data: int nr at 0, u32 arch at 4, u64 ip at 8, u64 args[6] from 16
# (args[0]'s low word at 16 on a little-endian machine).
BPF_LD_W_ABS = 0x20
BPF_ALU_AND_K = 0x54
BPF_JMP_JEQ_K = 0x15
BPF_RET_K = 0x06


def insn(code, k, jt=0, jf=0):
    return struct.pack('=HBBI', code, jt, jf, k)


def program(mode):
    allow = insn(BPF_RET_K, SECCOMP_RET_ALLOW)
    if mode == 'clone3' or mode.startswith('clone3:'):
        err = getattr(errno, mode[len('clone3:'):]) if ':' in mode else errno.ENOSYS
        return [
            insn(BPF_LD_W_ABS, 0),
            insn(BPF_JMP_JEQ_K, NR_CLONE3, 0, 1),
            insn(BPF_RET_K, SECCOMP_RET_ERRNO | err),
            allow,
        ]
    if mode == 'clone-parent':
        nr = NR_CLONE.get(os.uname().machine)
        if nr is None or sys.byteorder != 'little':
            raise SystemExit(f'deny-clone: no clone(2) number for {os.uname().machine}')
        return [
            insn(BPF_LD_W_ABS, 0),
            insn(BPF_JMP_JEQ_K, nr, 0, 4),
            insn(BPF_LD_W_ABS, 16),
            insn(BPF_ALU_AND_K, CLONE_PARENT),
            insn(BPF_JMP_JEQ_K, CLONE_PARENT, 0, 1),
            insn(BPF_RET_K, SECCOMP_RET_ERRNO | errno.EPERM),
            allow,
        ]
    raise SystemExit(f'deny-clone: unknown mode {mode!r} (clone3, clone3:<ERRNO> or clone-parent)')


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]


def install(mode):
    """Installs the filter for `mode` on the calling thread (and all it starts). Raises OSError."""
    insns = program(mode)
    code = b''.join(insns)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = SockFprog(len(insns), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f'prctl(PR_SET_SECCOMP): {os.strerror(err)}')


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        install(sys.argv[1])
    except OSError as e:
        print(f'deny-clone: {e.strerror}', file=sys.stderr)
        return 1
    os.execv(sys.argv[2], sys.argv[2:])


if __name__ == '__main__':
    sys.exit(main())
