#!/usr/bin/env python3
"""Drive hako-init by hand, as hako's parent side would, and check what it builds.

Encodes a launch plan (cpp/common/plan.h), spawns `hako-init --sync <fd>` with the fd
layout hako uses (0-2 stdio, 3.. preserved fds, then the sync socket, the console
socket and the O_PATH exec fifo), speaks the sync protocol (cpp/common/sync.h), releases
the exec fifo and reaps the container's init, which is a child of this process thanks
to CLONE_PARENT. Each scenario runs the probe (or busybox) in a copy of the test rootfs
and asserts on what it saw.

Needs root. A development tool, not part of `npm test`:

    sudo python3 test/tools/init-driver.py [--init build/Release/hako-init]
        [--rootfs /tmp/hako-test-cache/rootfs-XXXX] [scenario ...]

Every scenario removes its rootfs copy and reaps its processes, also on failure.
"""
import argparse
import array
import errno
import fcntl
import glob
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback

# ----------------------------------------------------------------- constants

CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

FLAG_NO_PIVOT = 1 << 0
FLAG_NO_NEW_KEYRING = 1 << 1
FLAG_ROOT_READONLY = 1 << 2
FLAG_TERMINAL = 1 << 3
FLAG_SETUP_DEV = 1 << 4
FLAG_NO_NEW_PRIVS = 1 << 5
FLAG_CHOWN_STDIO = 1 << 6
FLAG_USERNS_MAPS = 1 << 7

UMASK_UNSET = 0xFFFFFFFF

MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8

MSG_PLAN, MSG_MAPS_WRITTEN, MSG_HOOKS_DONE = 1, 2, 3
MSG_NEED_MAPS, MSG_INIT_PID, MSG_RUN_HOOKS, MSG_READY, MSG_ERROR = 10, 11, 12, 13, 20
MSG_NAMES = {1: 'PLAN', 2: 'MAPS_WRITTEN', 3: 'HOOKS_DONE', 10: 'NEED_MAPS', 11: 'INIT_PID',
             12: 'RUN_HOOKS', 13: 'READY', 20: 'ERROR'}

RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE = 7, 6, 4
CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_SETPCAP, CAP_SYS_ADMIN = 0, 5, 10, 8, 21

def load_deny_clone():
    """test/tools/deny-clone.py as a module (its name is not an identifier)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'deny-clone.py')
    spec = importlib.util.spec_from_file_location('deny_clone', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DENY_CLONE = load_deny_clone()

# ----------------------------------------------------------------- plan encoding


def u16(v): return struct.pack('<H', v)
def u32(v): return struct.pack('<I', v)
def i32(v): return struct.pack('<i', v)
def u64(v): return struct.pack('<Q', v)
def i64(v): return struct.pack('<q', v)
def bstr(s): return s.encode() if isinstance(s, str) else s
def sstr(s): b = bstr(s); return u32(len(b)) + b


def encode_plan(p):
    """p: a dict with the fields of hako::Plan (snake_case); absent optionals left out."""
    recs = []
    def rec(tag, payload): recs.append(u16(tag) + u16(0) + u32(len(payload)) + payload)
    rec(1, bstr(p['container_id']))
    rec(2, bstr(p['rootfs']))
    rec(3, u64(p.get('flags', 0)))
    rec(4, u64(p.get('clone_flags', 0)))
    for flag, path in p.get('join_ns', []):
        rec(5, u64(flag) + sstr(path))
    rec(6, u64(p.get('root_propagation', 0)))
    for m in p.get('mounts', []):
        rec(7, u64(m.get('flags', 0)) + u64(m.get('propagation', 0)) + u64(m.get('attr_set', 0)) +
            u64(m.get('attr_clr', 0)) + u32(m.get('ext', 0)) + sstr(m['source']) + sstr(m['destination']) +
            sstr(m['type']) + sstr(m.get('data', '')))
    for d in p.get('devices', []):
        rec(8, u32(ord(d['type'])) + u32(d['major']) + u32(d['minor']) + u32(d.get('mode', 0o666)) +
            u32(d.get('uid', 0)) + u32(d.get('gid', 0)) + u32(d.get('bind', 0)) + sstr(d['path']))
    for target, link in p.get('symlinks', []):
        rec(9, sstr(target) + sstr(link))
    for s in p.get('masked_paths', []):
        rec(10, bstr(s))
    for s in p.get('readonly_paths', []):
        rec(11, bstr(s))
    if p.get('hostname') is not None:
        rec(12, bstr(p['hostname']))
    if p.get('domainname') is not None:
        rec(13, bstr(p['domainname']))
    for clock, secs, nanos in p.get('time_offsets', []):
        rec(14, u32(clock) + i64(secs) + u32(nanos))
    for k, v in p.get('sysctls', []):
        rec(15, sstr(k) + sstr(v))
    for a in p['args']:
        rec(20, bstr(a))
    for e in p.get('env', []):
        rec(21, bstr(e))
    rec(22, bstr(p.get('cwd', '/')))
    rec(23, u32(p.get('uid', 0)) + u32(p.get('gid', 0)) + u32(p.get('umask', UMASK_UNSET)))
    for g in p.get('additional_gids', []):
        rec(24, u32(g))
    for res, soft, hard in p.get('rlimits', []):
        rec(25, u32(res) + u64(soft) + u64(hard))
    if p.get('oom_score_adj') is not None:
        rec(26, i64(p['oom_score_adj']))
    if p.get('console_size') is not None:
        rec(27, u32(p['console_size'][0]) + u32(p['console_size'][1]))
    if p.get('capabilities') is not None:
        c = p['capabilities']
        rec(28, b''.join(u64(c[k]) for k in ('bounding', 'effective', 'permitted', 'inheritable', 'ambient')))
    f = p.get('fds', {})
    rec(29, i32(f.get('console_socket', -1)) + i32(f.get('exec_fifo', -1)) + u32(f.get('preserved', 0)))
    if p.get('cgroup2_dir') is not None:
        rec(38, bstr(p['cgroup2_dir']))
    return b'HAKOPLAN' + u32(1) + u32(len(recs)) + b''.join(recs)


def caps_mask(*caps):
    m = 0
    for c in caps:
        m |= 1 << c
    return m

# ----------------------------------------------------------------- sync protocol


def send_frame(sock, typ, payload=b''):
    sock.sendall(u32(4 + len(payload)) + u32(typ) + payload)


def recv_exact(sock, n):
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(sock):
    head = recv_exact(sock, 8)
    if head is None:
        return None
    length, typ = struct.unpack('<II', head)
    payload = recv_exact(sock, length - 4)
    if payload is None:
        raise AssertionError('EOF in the middle of a frame')
    return typ, payload


def decode_error(payload):
    err, = struct.unpack_from('<I', payload, 0)
    n, = struct.unpack_from('<I', payload, 4)
    step = payload[8:8 + n].decode()
    off = 8 + n
    m, = struct.unpack_from('<I', payload, off)
    return {'errno': err, 'step': step, 'message': payload[off + 4:off + 4 + m].decode()}

# ----------------------------------------------------------------- one launch


class Outcome:
    def __init__(self):
        self.messages = []       # message names in the order received
        self.init_pid = None
        self.init_ppid = None    # the init's parent, read while it waits on the fifo
        self.init_comm = None    # its /proc/<pid>/comm then (still hako-init, not exec'd yet)
        self.error = None        # decoded MSG_ERROR
        self.stage0_status = None
        self.init_status = None
        self.stdout = b''
        self.stderr = b''
        self.console_name = None
        self.console_winsize = None
        self.probe = None

    def ok(self):
        return self.error is None and 'READY' in self.messages


def wait_child(pid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            raise AssertionError(f'pid {pid} did not exit in {timeout}s')
        time.sleep(0.01)


def high_dup(fd):
    """A copy of fd at a number no target slot uses, so the dup2s in the child never clash."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)


def launch(init, plan, *, preserve=(), console=False, fifo=True, userns_maps=None,
           on_hooks=None, restore_signals=True, timeout=15, deny=None):
    """Runs one container. preserve: fds to hand over at 3, 4, ...; userns_maps:
    (uid_map, gid_map) text written on MSG_NEED_MAPS; deny: a deny-clone.py mode whose
    seccomp filter hako-init runs under (e.g. 'clone3:E2BIG')."""
    out = Outcome()
    tmp = tempfile.mkdtemp(prefix='hako-init-drv-')
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    parent.settimeout(timeout)
    con_parent = con_child = None
    fifo_path = None
    sources = {}  # target fd in hako-init -> fd here
    try:
        slot = 3
        for fd in preserve:
            sources[slot] = high_dup(fd)
            slot += 1
        plan = dict(plan)
        fds = {'preserved': len(preserve)}
        sync_slot = slot
        sources[slot] = high_dup(child.fileno())
        slot += 1
        if console:
            con_parent, con_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            fds['console_socket'] = slot
            sources[slot] = high_dup(con_child.fileno())
            slot += 1
        if fifo:
            fifo_path = os.path.join(tmp, 'exec.fifo')
            os.mkfifo(fifo_path, 0o622)
            os.chmod(fifo_path, 0o622)  # what hako does: writable by the container's user
            opath = os.open(fifo_path, os.O_PATH | os.O_CLOEXEC)
            fds['exec_fifo'] = slot
            sources[slot] = high_dup(opath)
            os.close(opath)
            slot += 1
        plan['fds'] = fds

        def place_fds():
            for target, src in sources.items():
                os.dup2(src, target, inheritable=True)
            if deny:
                DENY_CLONE.install(deny)

        proc = subprocess.Popen([init, '--sync', str(sync_slot)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=list(sources), preexec_fn=place_fds,
                                restore_signals=restore_signals)
        for src in sources.values():
            os.close(src)
        sources.clear()
        child.close()
        if con_child:
            con_child.close()

        send_frame(parent, MSG_PLAN, encode_plan(plan))
        while True:
            frame = recv_frame(parent)
            if frame is None:
                break
            typ, payload = frame
            out.messages.append(MSG_NAMES.get(typ, str(typ)))
            if typ == MSG_NEED_MAPS:
                uid_map, gid_map = userns_maps
                with open(f'/proc/{proc.pid}/setgroups', 'w') as f:
                    f.write('deny')
                with open(f'/proc/{proc.pid}/uid_map', 'w') as f:
                    f.write(uid_map)
                with open(f'/proc/{proc.pid}/gid_map', 'w') as f:
                    f.write(gid_map)
                send_frame(parent, MSG_MAPS_WRITTEN)
            elif typ == MSG_INIT_PID:
                out.init_pid, = struct.unpack('<I', payload)
            elif typ == MSG_RUN_HOOKS:
                if on_hooks:
                    on_hooks(out)
                send_frame(parent, MSG_HOOKS_DONE)
            elif typ == MSG_READY:
                break
            elif typ == MSG_ERROR:
                out.error = decode_error(payload)
                break
        out.stage0_status = proc.wait(timeout)

        if out.ok() and out.init_pid:
            with open(f'/proc/{out.init_pid}/stat') as f:
                out.init_ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            with open(f'/proc/{out.init_pid}/comm') as f:
                out.init_comm = f.read().strip()
        if out.ok() and console:
            msg, fds_got, _, _ = socket.recv_fds(con_parent, 4096, 4)
            assert len(fds_got) == 1, f'console socket carried {len(fds_got)} fds'
            out.console_name = msg
            master = fds_got[0]
            ws = fcntl.ioctl(master, termios.TIOCGWINSZ, b'\0' * 8)
            out.console_winsize = struct.unpack('<HHHH', ws)[:2]
        if out.ok() and fifo:
            # What `hako start` does: open without blocking, wait for the byte.
            rfd = os.open(fifo_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                ready, _, _ = select.select([rfd], [], [], timeout)
                if not ready:
                    os.set_blocking(proc.stderr.fileno(), False)
                    raise AssertionError(f'the init never wrote to the exec fifo; stderr {proc.stderr.read()!r}')
                assert os.read(rfd, 16) == b'0'
            finally:
                os.close(rfd)
        if out.ok() and console:
            out.stdout = read_until_eof(master, timeout)
            os.close(master)
        else:
            out.stdout = proc.stdout.read()
        out.stderr = proc.stderr.read()
        if out.init_pid:
            out.init_status = wait_child(out.init_pid, timeout)
        if out.stdout.strip().startswith(b'{'):
            try:
                out.probe = json.loads(out.stdout)
            except ValueError:
                pass
        return out
    finally:
        for src in sources.values():
            os.close(src)
        parent.close()
        if con_parent:
            con_parent.close()
        if out.init_pid and out.init_status is None:
            try:
                os.kill(out.init_pid, signal.SIGKILL)
                os.waitpid(out.init_pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        shutil.rmtree(tmp, ignore_errors=True)


def read_until_eof(fd, timeout):
    data = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the pty's other side is gone
            break
        if not chunk:
            break
        data += chunk
    return data

# ----------------------------------------------------------------- scenarios


class Env:
    def __init__(self, init, cached_rootfs):
        self.init = init
        self.cached = cached_rootfs
        self.count = 0

    def rootfs(self):
        d = tempfile.mkdtemp(prefix='hako-init-rootfs-')
        os.chmod(d, 0o755)
        root = os.path.join(d, 'rootfs')
        subprocess.run(['cp', '-a', '--reflink=auto', self.cached, root], check=True)
        return d, root

    def plan(self, root, **over):
        self.count += 1
        p = {
            'container_id': f'init-drv-{os.getpid()}-{self.count}',
            'rootfs': root,
            'flags': FLAG_SETUP_DEV,
            'clone_flags': CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET,
            'mounts': [
                {'source': 'proc', 'destination': '/proc', 'type': 'proc',
                 'flags': MS_NOSUID | MS_NODEV | MS_NOEXEC},
                {'source': 'tmpfs', 'destination': '/dev', 'type': 'tmpfs', 'flags': MS_NOSUID,
                 'data': 'mode=755,size=65536k'},
                {'source': 'devpts', 'destination': '/dev/pts', 'type': 'devpts',
                 'flags': MS_NOSUID | MS_NOEXEC, 'data': 'newinstance,ptmxmode=0666,mode=0620'},
            ],
            'devices': [
                {'type': 'c', 'major': 1, 'minor': 3, 'path': '/dev/null'},
                {'type': 'c', 'major': 1, 'minor': 5, 'path': '/dev/zero'},
            ],
            'symlinks': [('pts/ptmx', '/dev/ptmx')],
            'hostname': 'hako-test',
            'args': ['/probe'],
            'env': ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/root'],
            'cwd': '/',
            'umask': 0o022,
        }
        p.update(over)
        return p


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_error(out, step, errno_, message):
    expect(out.error is not None, f'expected an error, got messages {out.messages}')
    got = (out.error['step'], out.error['errno'], out.error['message'])
    expect(got == (step, errno_, message), f'error {got!r} != {(step, errno_, message)!r}')


def host_ns(kind):
    return os.stat(f'/proc/self/ns/{kind}').st_ino


def sc_basic(env):
    """pid 1 in new namespaces, the driver as parent, hostname, cwd, fifo gating, only 0-2 left."""
    d, root = env.rootfs()
    try:
        out = launch(env.init, env.plan(root, cwd='/tmp', domainname='example.org'))
        expect(out.ok(), f'failed: {out.error} {out.stderr!r}')
        expect(out.messages == ['INIT_PID', 'RUN_HOOKS', 'READY'], f'messages {out.messages}')
        expect(out.stage0_status == 0, f'stage 0 exited {out.stage0_status}')
        expect(out.init_ppid == os.getpid(), f'init parent {out.init_ppid}, driver {os.getpid()}')
        expect(out.init_comm == 'hako-init', f'before start the init is {out.init_comm!r}')
        expect(os.waitstatus_to_exitcode(out.init_status) == 0, f'init status {out.init_status}')
        p = out.probe
        expect(p is not None, f'no probe report: {out.stdout[:300]!r} {out.stderr!r}')
        expect(p['pid'] == 1 and p['ppid'] == 0, f"pid {p['pid']} ppid {p['ppid']}")
        expect(p['hostname'] == 'hako-test', p['hostname'])
        expect(p['domainname'] == 'example.org', p['domainname'])
        expect(p['cwd'] == '/tmp', p['cwd'])
        expect(sorted(p['fds']) == ['0', '1', '2'], f"fds {p['fds']}")
        expect(p['dumpable'] == 1, 'the exec should leave the process dumpable')
        for kind in ('pid', 'mnt', 'uts', 'ipc', 'net'):
            expect(p['namespaces'][kind] != host_ns(kind if kind != 'mnt' else 'mnt'), f'{kind} ns is the host\'s')
        expect(p['namespaces']['user'] == host_ns('user'), 'user ns should be the host\'s')
        expect(p['umask_octal'] == '0022', p['umask_octal'])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_user(env):
    """uid/gid/groups/umask/rlimits/capabilities/no_new_privs."""
    d, root = env.rootfs()
    try:
        keep = caps_mask(CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE)
        plan = env.plan(root, uid=1000, gid=1000, additional_gids=[100, 5], umask=0o027,
                        rlimits=[(RLIMIT_NOFILE, 256, 512), (RLIMIT_CORE, 0, 0)],
                        capabilities={'bounding': keep, 'effective': keep, 'permitted': keep,
                                      'inheritable': caps_mask(CAP_NET_BIND_SERVICE),
                                      'ambient': caps_mask(CAP_NET_BIND_SERVICE, CAP_KILL)},
                        flags=FLAG_SETUP_DEV | FLAG_NO_NEW_PRIVS)
        out = launch(env.init, plan)
        expect(out.ok(), f'failed: {out.error} {out.stderr!r}')
        p = out.probe
        expect(p is not None, f'no probe report: {out.stdout[:300]!r} {out.stderr!r}')
        expect(p['uid'] == {'real': 1000, 'effective': 1000, 'saved': 1000, 'fs': 1000}, p['uid'])
        expect(p['gid'] == {'real': 1000, 'effective': 1000, 'saved': 1000, 'fs': 1000}, p['gid'])
        expect(sorted(p['groups']) == [5, 100], p['groups'])
        expect(p['umask_octal'] == '0027', p['umask_octal'])
        expect(p['rlimits']['RLIMIT_NOFILE'] == {'soft': 256, 'hard': 512}, p['rlimits']['RLIMIT_NOFILE'])
        expect(p['rlimits']['RLIMIT_CORE'] == {'soft': 0, 'hard': 0}, p['rlimits']['RLIMIT_CORE'])
        caps = p['capabilities']
        expect(int(caps['bounding']['hex'], 16) == keep, caps['bounding'])
        # After exec as non-root: permitted/effective = ambient (file has no caps).
        amb = caps_mask(CAP_NET_BIND_SERVICE)  # CAP_KILL is not inheritable: not raised
        expect(int(caps['ambient']['hex'], 16) == amb, caps['ambient'])
        expect(int(caps['effective']['hex'], 16) == amb, caps['effective'])
        expect(int(caps['permitted']['hex'], 16) == amb, caps['permitted'])
        expect(int(caps['inheritable']['hex'], 16) == amb, caps['inheritable'])
        expect(p['no_new_privs'] == 1, 'no_new_privs')
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_root_caps(env):
    """root with a reduced set: what runc's default spec gives."""
    d, root = env.rootfs()
    try:
        keep = caps_mask(CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_SETPCAP)
        plan = env.plan(root, capabilities={'bounding': keep, 'effective': keep, 'permitted': keep,
                                            'inheritable': 0, 'ambient': 0})
        out = launch(env.init, plan)
        expect(out.ok(), f'failed: {out.error} {out.stderr!r}')
        caps = out.probe['capabilities']
        for k in ('bounding', 'effective', 'permitted'):
            expect(int(caps[k]['hex'], 16) == keep, f'{k}: {caps[k]}')
        expect(int(caps['inheritable']['hex'], 16) == 0, caps['inheritable'])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_errors(env):
    """cwd, args[0] lookup, sysctl and namespace-path errors come back as MSG_ERROR."""
    d, root = env.rootfs()
    try:
        with open(os.path.join(root, 'noexec'), 'w') as f:
            f.write('#!/bin/sh\n')
        os.chmod(os.path.join(root, 'noexec'), 0o644)
        cases = [
            (dict(cwd='/probe/x'), ('mkdir', 20, 'mkdir /probe')),
            (dict(args=['nosuchprog']), ('exec', 2, 'exec: "nosuchprog": executable file not found in $PATH')),
            (dict(args=['sh'], env=[]), ('exec', 2, 'exec: "sh": executable file not found in $PATH')),
            (dict(args=['/noexec']), ('exec', 13, 'exec: "/noexec": permission denied')),
            (dict(args=['/nope/x']), ('exec', 2, 'exec: "/nope/x": stat /nope/x: no such file or directory')),
            (dict(args=['/bin']), ('exec', 13, 'exec: "/bin": permission denied')),
            (dict(sysctls=[('kernel.no_such_knob', '1')]),
             ('sysctl', 2, 'write sysctl "kernel.no_such_knob" to "/proc/sys/kernel/no_such_knob"')),
            (dict(join_ns=[(CLONE_NEWNET, '/proc/999999999/ns/net')]),
             ('setns', 2, 'open net namespace "/proc/999999999/ns/net"')),
        ]
        for over, want in cases:
            out = launch(env.init, env.plan(root, **over))
            expect_error(out, *want)
            expect(out.error['step'] == 'plan' or out.stage0_status == (1 if out.init_pid is None else 0),
                   f'stage 0 exited {out.stage0_status}')
            if out.init_pid:
                expect(os.waitstatus_to_exitcode(out.init_status) == 1, f'init status {out.init_status}')
        # sh found through PATH works (busybox applet link).
        out = launch(env.init, env.plan(root, args=['sh', '-c', 'echo hi']))
        expect(out.ok() and out.stdout == b'hi\n', f'{out.error} {out.stdout!r}')
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_more(env):
    """exec failure after start, oom_score_adj, sysctls, a cwd only root can enter, sethostname EPERM."""
    d, root = env.rootfs()
    try:
        with open(os.path.join(root, 'badexe'), 'w') as f:
            f.write('garbage\n')
        os.chmod(os.path.join(root, 'badexe'), 0o755)
        out = launch(env.init, env.plan(root, args=['/badexe']))
        expect(out.ok(), f'failed: {out.error}')
        expect(out.stderr == b'exec /badexe: exec format error\n', out.stderr)
        expect(os.waitstatus_to_exitcode(out.init_status) == 1, out.init_status)

        out = launch(env.init, env.plan(root, oom_score_adj=500, sysctls=[('kernel.msgmax', '12345')],
                                        args=['/bin/cat', '/proc/self/oom_score_adj', '/proc/sys/kernel/msgmax']))
        expect(out.ok(), f'failed: {out.error}')
        expect(out.stdout == b'500\n12345\n', out.stdout)
        with open('/proc/sys/kernel/msgmax') as f:
            expect(f.read().strip() != '12345', 'the host msgmax changed')

        os.chmod(os.path.join(root, 'root'), 0o700)
        out = launch(env.init, env.plan(root, uid=1000, gid=1000, cwd='/root'))
        expect(out.ok(), f'failed: {out.error}')
        expect(out.probe['cwd'] == '/root', out.probe['cwd'])

        out = launch(env.init, env.plan(root, cwd='/new/../made/here/'))  # created, as runc does
        expect(out.ok(), f'failed: {out.error}')
        expect(out.probe['cwd'] == '/made/here', out.probe['cwd'])
        expect(os.path.isdir(os.path.join(root, 'new')), 'mkdir -p made every component')

        # Root of a user namespace cannot enter a host-owned 0700 directory: chdir fails.
        plan = env.plan(root, flags=FLAG_SETUP_DEV | FLAG_USERNS_MAPS, cwd='/root',
                        clone_flags=CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS)
        plan['mounts'] = [m for m in plan['mounts'] if m['type'] != 'devpts']
        out = launch(env.init, plan, userns_maps=('0 100000 65536\n', '0 100000 65536\n'))
        expect_error(out, 'chdir', 13, 'chdir to cwd ("/root") set in config.json failed')

        plan = env.plan(root, flags=FLAG_SETUP_DEV | FLAG_USERNS_MAPS, hostname='x',
                        clone_flags=CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID)
        plan['mounts'] = [m for m in plan['mounts'] if m['type'] != 'devpts']
        out = launch(env.init, plan, userns_maps=('0 100000 65536\n', '0 100000 65536\n'))
        expect_error(out, 'sethostname', 1, 'sethostname "x"')
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_fds(env):
    """Preserved fds pass at 3, 4; everything else (sync, console, fifo, stray) is closed."""
    d, root = env.rootfs()
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    try:
        out = launch(env.init, env.plan(root), preserve=[r1, w2])
        expect(out.ok(), f'failed: {out.error}')
        fds = out.probe['fds']
        expect(sorted(fds) == ['0', '1', '2', '3', '4'], f'fds {fds}')
        expect(fds['3'].startswith('pipe:') and fds['4'].startswith('pipe:'), fds)
    finally:
        for fd in (r1, w1, r2, w2):
            os.close(fd)
        shutil.rmtree(d, ignore_errors=True)


def sc_userns(env):
    """A new user namespace: NEED_MAPS, maps written by us, root inside, files owned by nobody."""
    d, root = env.rootfs()
    try:
        plan = env.plan(root, flags=FLAG_SETUP_DEV | FLAG_USERNS_MAPS,
                        clone_flags=CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC,
                        args=['/bin/sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; hostname; '
                              'stat -c %u /probe; grep _ses /proc/keys'])
        plan['mounts'] = [m for m in plan['mounts'] if m['type'] != 'devpts']
        out = launch(env.init, plan, userns_maps=('0 100000 65536\n', '0 100000 65536\n'))
        expect(out.ok(), f'failed: {out.error} {out.stderr!r}')
        expect(out.messages == ['NEED_MAPS', 'INIT_PID', 'RUN_HOOKS', 'READY'], f'messages {out.messages}')
        lines = out.stdout.decode().split('\n')
        expect(lines[0].split() == ['0', '100000', '65536'], lines)
        expect(lines[1].split() == ['0', '100000', '65536'], lines)
        expect(lines[2] == '0' and lines[3] == 'hako-test' and lines[4] == '65534', lines)
        perm = int(lines[5].split()[4], 16)  # in a user namespace: search for "other"
        expect(f"_ses.{plan['container_id']}" in lines[5] and perm & 0x08, lines[5])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_join(env):
    """Join the uts namespace of a running process by path."""
    d, root = env.rootfs()
    holder = subprocess.Popen(['unshare', '--uts', 'sh', '-c', 'hostname joined-uts; echo up; exec sleep 60'],
                              stdout=subprocess.PIPE)
    try:
        expect(holder.stdout.readline() == b'up\n', 'holder did not start')
        path = f'/proc/{holder.pid}/ns/uts'
        plan = env.plan(root, clone_flags=CLONE_NEWNS | CLONE_NEWPID, join_ns=[(CLONE_NEWUTS, path)])
        del plan['hostname']
        out = launch(env.init, plan)
        expect(out.ok(), f'failed: {out.error}')
        expect(out.probe['hostname'] == 'joined-uts', out.probe['hostname'])
        expect(out.probe['namespaces']['uts'] == os.stat(path).st_ino, 'uts ns inode')
    finally:
        holder.kill()
        holder.wait()
        shutil.rmtree(d, ignore_errors=True)


def sc_join_userns(env):
    """Join the user and uts namespaces of a running process; become root in it."""
    d, root = env.rootfs()
    holder = subprocess.Popen(['unshare', '--user', '--map-root-user', '--uts', 'sh', '-c',
                               'hostname in-userns; echo up; exec sleep 60'], stdout=subprocess.PIPE)
    try:
        expect(holder.stdout.readline() == b'up\n', 'holder did not start')
        plan = env.plan(root, clone_flags=CLONE_NEWNS | CLONE_NEWPID,
                        join_ns=[(CLONE_NEWUSER, f'/proc/{holder.pid}/ns/user'),
                                 (CLONE_NEWUTS, f'/proc/{holder.pid}/ns/uts')])
        del plan['hostname']
        plan['mounts'] = [m for m in plan['mounts'] if m['type'] != 'devpts']
        out = launch(env.init, plan)
        expect(out.ok(), f'failed: {out.error}')
        p = out.probe
        expect(p['hostname'] == 'in-userns', p['hostname'])
        expect(p['namespaces']['user'] == os.stat(f'/proc/{holder.pid}/ns/user').st_ino, 'user ns inode')
        expect(p['uid']['effective'] == 0, p['uid'])
    finally:
        holder.kill()
        holder.wait()
        shutil.rmtree(d, ignore_errors=True)


def sc_timens(env):
    """A new time namespace with offsets, written before the init exists."""
    d, root = env.rootfs()
    try:
        plan = env.plan(root, clone_flags=CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWTIME,
                        time_offsets=[(1, 864000, 0), (7, -3600 if False else 3600, 500)],
                        args=['/bin/cat', '/proc/self/timens_offsets', '/proc/uptime'])
        del plan['hostname']
        out = launch(env.init, plan)
        expect(out.ok(), f'failed: {out.error}')
        lines = out.stdout.decode().split('\n')
        offsets = {l.split()[0]: l.split()[1:] for l in lines[:2]}
        expect(offsets == {'monotonic': ['864000', '0'], 'boottime': ['3600', '500']}, lines)
        with open('/proc/uptime') as f:
            host_up = float(f.read().split()[0])
        up = float(lines[2].split()[0])
        expect(3590 < up - host_up < 3700, f'uptime {up} vs host {host_up}')
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_console(env):
    """The pty master arrives over the console socket, sized; the process has a tty."""
    d, root = env.rootfs()
    try:
        plan = env.plan(root, flags=FLAG_SETUP_DEV | FLAG_TERMINAL, console_size=(40, 100))
        out = launch(env.init, plan, console=True)
        expect(out.ok(), f'failed: {out.error}')
        expect(out.console_name == b'/dev/ptmx', out.console_name)
        expect(out.console_winsize == (40, 100), out.console_winsize)
        p = json.loads(out.stdout.replace(b'\r\n', b'\n'))
        expect(p['tty'] == {'stdin': True, 'stdout': True, 'stderr': True}, p['tty'])
        expect(p['sid'] == 1, f"sid {p['sid']}")
        expect(p['fds']['0'].startswith('/dev/pts/'), p['fds'])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_keyring(env):
    """A session keyring named after the container, searchable by its possessor's uid."""
    d, root = env.rootfs()
    try:
        plan = env.plan(root, args=['/bin/cat', '/proc/keys'])
        out = launch(env.init, plan)
        expect(out.ok(), f'failed: {out.error}')
        ses = [l for l in out.stdout.decode().split('\n') if f"_ses.{plan['container_id']}" in l]
        expect(len(ses) == 1, out.stdout)
        perm = int(ses[0].split()[4], 16)
        expect(perm & 0x080000, f'perm {perm:08x} lacks KEY_USR_SEARCH')
        plan = env.plan(root, args=['/bin/cat', '/proc/keys'], flags=FLAG_SETUP_DEV | FLAG_NO_NEW_KEYRING)
        out = launch(env.init, plan)
        expect(out.ok(), f'failed: {out.error}')
        expect(f"_ses.{plan['container_id']}".encode() not in out.stdout, out.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_stdio_signals(env):
    """FLAG_CHOWN_STDIO chowns our pipes; inherited ignored/blocked signals are reset."""
    d, root = env.rootfs()
    try:
        plan = env.plan(root, uid=1000, gid=1000, flags=FLAG_SETUP_DEV | FLAG_CHOWN_STDIO)
        old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        try:
            out = launch(env.init, plan, restore_signals=False)  # SIGPIPE stays ignored
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        expect(out.ok(), f'failed: {out.error}')
        p = out.probe
        expect(p['signals']['blocked'] == '0000000000000000', p['signals'])
        expect(p['signals']['ignored'] == '0000000000000000', p['signals'])
        expect(p['uid']['effective'] == 1000, p['uid'])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sc_hooks_order(env):
    """At MSG_RUN_HOOKS the init exists, is in its namespaces, and has not pivoted."""
    d, root = env.rootfs()
    seen = {}

    def hook(out):
        seen['root'] = os.readlink(f'/proc/{out.init_pid}/root')
        seen['uts'] = os.stat(f'/proc/{out.init_pid}/ns/uts').st_ino
    try:
        out = launch(env.init, env.plan(root), on_hooks=hook)
        expect(out.ok(), f'failed: {out.error}')
        expect(seen['root'] == '/', f"root at hooks {seen['root']}")
        expect(seen['uts'] == out.probe['namespaces']['uts'], 'uts at hooks')
    finally:
        shutil.rmtree(d, ignore_errors=True)


def cgroup2_mount():
    """(mount point, root within the hierarchy) of the first cgroup2 mount, or None."""
    with open('/proc/self/mountinfo') as f:
        for line in f:
            fields = line.split()
            dash = fields.index('-')
            if fields[dash + 1] == 'cgroup2':
                return fields[4], fields[3]
    return None


def sc_cgroup2(env):
    """CGROUP2_DIR: the init is born in that cgroup2 directory, by clone3(CLONE_INTO_CGROUP)
    or, where clone3 fails with ENOSYS, E2BIG or EINVAL, by stage 0 writing cgroup.procs;
    with CLONE_NEWCGROUP the namespace's root is that cgroup; any other clone3 error is
    reported with the directory named."""
    mount = cgroup2_mount()
    expect(mount is not None, 'no cgroup2 mount on this host')
    mount_point, mount_root = mount
    for deny in (None, 'clone3:ENOSYS', 'clone3:E2BIG', 'clone3:EINVAL', 'clone3:EPERM'):
        for cgroup_ns in (False, True):
            name = f'init-drv-cg-{os.getpid()}-{env.count}'
            cg = os.path.join(mount_point, name)
            os.mkdir(cg)
            d, root = env.rootfs()
            try:
                base = env.plan(root)
                flags = base['clone_flags'] | (CLONE_NEWCGROUP if cgroup_ns else 0)
                out = launch(env.init, {**base, 'clone_flags': flags, 'cgroup2_dir': cg}, deny=deny)
                what = f'{deny or "clone3 allowed"}, {"a" if cgroup_ns else "no"} cgroup namespace'
                if deny == 'clone3:EPERM':
                    ns = 'pid, cgroup' if cgroup_ns else 'pid'
                    expect_error(out, 'clone3', errno.EPERM, f'clone the container\'s init ({ns}) into cgroup "{cg}"')
                    continue
                expect(out.ok(), f'{what}: failed: {out.error} {out.stderr!r}')
                p = out.probe
                expect(p is not None, f'{what}: no probe report: {out.stdout[:300]!r} {out.stderr!r}')
                line = [c['path'] for c in p['cgroup'] if c['controllers'] == []]
                want = '/' if cgroup_ns else os.path.join(mount_root, name)
                expect(line == [want], f'{what}: the init read 0::{line}, not 0::{want}')
            finally:
                shutil.rmtree(d, ignore_errors=True)
                for _ in range(100):
                    try:
                        os.rmdir(cg)
                        break
                    except OSError:
                        time.sleep(0.02)


def sc_decode(env):
    """--decode-plan prints the plan as JSON; garbage exits 1; bad usage exits 2."""
    plan = env.plan('/r', hostname='h', capabilities={'bounding': 1, 'effective': 1, 'permitted': 1,
                                                       'inheritable': 0, 'ambient': 0})
    r = subprocess.run([env.init, '--decode-plan'], input=encode_plan(plan), capture_output=True)
    expect(r.returncode == 0, r.stderr)
    j = json.loads(r.stdout)
    expect(j['rootfs'] == '/r' and j['hostname'] == 'h' and j['args'] == ['/probe'], j)
    r = subprocess.run([env.init, '--decode-plan'], input=b'nope', capture_output=True)
    expect(r.returncode == 1 and b'bad magic' in r.stderr, r)
    r = subprocess.run([env.init, '--frobnicate'], capture_output=True)
    expect(r.returncode == 2, r)


SCENARIOS = {name[3:]: fn for name, fn in sorted(globals().items()) if name.startswith('sc_')}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--init', default=os.path.join(here, '..', '..', 'build', 'Release', 'hako-init'))
    ap.add_argument('--rootfs', default=None, help='a built test rootfs (default: newest cached one)')
    ap.add_argument('scenarios', nargs='*', help=f"default: all of {', '.join(SCENARIOS)}")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print('init-driver: needs root', file=sys.stderr)
        return 2
    cached = args.rootfs
    if cached is None:
        candidates = [c for c in glob.glob('/tmp/hako-test-cache/rootfs-*') if os.path.exists(c + '/probe')]
        if not candidates:
            print('init-driver: no cached rootfs; run the integration tests once', file=sys.stderr)
            return 2
        cached = max(candidates, key=os.path.getmtime)
    env = Env(os.path.abspath(args.init), cached)
    failed = 0
    for name in args.scenarios or SCENARIOS:
        try:
            SCENARIOS[name](env)
            print(f'ok   {name}')
        except Exception:  # noqa: BLE001 -- report and go on
            failed += 1
            print(f'FAIL {name}')
            traceback.print_exc()
    print(f'{len(args.scenarios or SCENARIOS) - failed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
