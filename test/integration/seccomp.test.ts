// linux.seccomp enforced under dist/hako, seen from inside real containers: errno and kill
// actions, argument conditions, Docker's default profile (a shell works, unshare does not),
// the probe's seccomp mode and no_new_privs, bad profiles refused before anything exists,
// and the compiled-program cache in the state root (warm, and under concurrent creates).
// Compared with runc where runc is the reference. Needs root, dist/hako and the probe.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeReport } from '../helpers/probe.js';
import { containerId, makeStateRoot, runContainer, runtimeAvailable } from '../helpers/runtime.js';
import {
  asContainerTests,
  checkNothingLeft,
  HAKO,
  hakoSkip,
  scratchDir,
  spawnRuntime,
} from '../helpers/lifecycle.js';
import type { LinuxSeccomp, LinuxSyscall, Spec } from '../../src/oci/types.js';
import { FIXTURES_DIR } from '../helpers/paths.js';
import { seccompProfile } from '../../src/plan/seccomp.js';
import { seccompCacheFile, seccompCacheKey } from '../../src/plan/seccomp-cache.js';

const skip = asContainerTests(hakoSkip());

const SIGSYS_EXIT = 128 + 31;
const FIXTURES = FIXTURES_DIR;
const DOCKER_FIXTURE = path.join(FIXTURES, 'docker-plain-1.json');
const RUNC = '/usr/bin/runc';

/** The state root holds nothing but the seccomp cache's files. */
const notCache = (names: string[]): string[] => names.filter((n) => !n.startsWith('.seccomp-'));

function withSeccomp(seccomp: LinuxSeccomp, edit?: (spec: Spec) => void): (spec: Spec) => void {
  return (spec) => {
    spec.linux!.seccomp = seccomp;
    spec.root!.readonly = false;
    edit?.(spec);
  };
}

async function run(t: Test, bundle: Bundle, runtime = HAKO) {
  const res = await runContainer(runtime, bundle, containerId('seccomp'), { timeoutMs: 30_000 });
  t.same(notCache(res.leftInStateRoot), [], `${path.basename(runtime)} removed its state after run`);
  return res;
}

const sh = (script: string) => ['/bin/sh', '-c', script];

t.test('SCMP_ACT_ERRNO: mkdir fails with EPERM, or with errnoRet 38 (ENOSYS)', { skip }, async (t) => {
  const script = 'mkdir /tmp/d; echo "mkdir=$?"; touch /tmp/f && echo touch-ok';
  for (const [errnoRet, message] of [
    [undefined, 'Operation not permitted'],
    [38, 'Function not implemented'],
  ] as const) {
    const bundle = await makeBundle(t, {
      args: sh(script),
      edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', ...(errnoRet ? { errnoRet } : {}) }] }),
    });
    const res = await run(t, bundle);
    t.equal(res.code, 0, `errnoRet ${errnoRet ?? '(default)'}: exit 0`, { stderr: res.stderr });
    t.match(res.stdout, /mkdir=1\ntouch-ok/, 'mkdir failed, other calls work');
    t.match(res.stderr, new RegExp(`can't create directory '/tmp/d': ${message}`), message);
    t.equal(existsSync(path.join(bundle.rootfs, 'tmp/d')), false, 'no directory was made');
  }
});

t.test('kill actions: the process dies by SIGSYS (exit 159)', { skip }, async (t) => {
  for (const action of ['SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP'] as const) {
    const bundle = await makeBundle(t, {
      args: ['/bin/unshare', '-m', 'true'],
      edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['unshare'], action }] }),
    });
    const res = await run(t, bundle);
    t.equal(res.code, SIGSYS_EXIT, `${action}: unshare kills the process with SIGSYS`, { stderr: res.stderr });
  }
  const bundle = await makeBundle(t, {
    args: sh('/bin/unshare -m true; echo "unshare status $?"'),
    edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['unshare'], action: 'SCMP_ACT_KILL_PROCESS' }] }),
  });
  const res = await run(t, bundle);
  t.equal(res.code, 0, 'the shell around it lives on');
  t.match(res.stdout, /unshare status 159/, 'its child was killed by SIGSYS');
});

t.test('SCMP_ACT_LOG allows; SCMP_ACT_TRACE without a tracer fails the call with ENOSYS', { skip }, async (t) => {
  const log = await makeBundle(t, {
    args: sh('mkdir /tmp/d && echo made'),
    edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_LOG' }] }),
  });
  const r1 = await run(t, log);
  t.equal(r1.code, 0, 'LOG: exit 0', { stderr: r1.stderr });
  t.match(r1.stdout, /made/);
  const trace = await makeBundle(t, {
    args: sh('mkdir /tmp/d; echo "mkdir=$?"'),
    edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_TRACE' }] }),
  });
  const r2 = await run(t, trace);
  t.match(r2.stdout, /mkdir=1/);
  t.match(r2.stderr, /Function not implemented/, 'TRACE: ENOSYS');
});

t.test('argument conditions: every operator, one index twice (either), two indexes (both)', { skip }, async (t) => {
  // kill(pid, sig) from the shell (pid 1, which ignores these signals): sig is argument 1.
  const script = 'for s in CHLD URG WINCH; do kill -s $s 1 2>/dev/null; echo "$s=$?"; done';
  const sig = (op: string, value: number, valueTwo?: number) => ({ index: 1, value, op: op as 'SCMP_CMP_EQ', ...(valueTwo !== undefined ? { valueTwo } : {}) });
  // SIGCHLD 17, SIGURG 23, SIGWINCH 28; 1: refused (EPERM), 0: sent
  const cases: Array<[string, NonNullable<LinuxSyscall['args']>, string]> = [
    ['EQ 23', [sig('SCMP_CMP_EQ', 23)], '0 1 0'],
    ['NE 17', [sig('SCMP_CMP_NE', 17)], '0 1 1'],
    ['LT 23', [sig('SCMP_CMP_LT', 23)], '1 0 0'],
    ['LE 23', [sig('SCMP_CMP_LE', 23)], '1 1 0'],
    ['GT 23', [sig('SCMP_CMP_GT', 23)], '0 0 1'],
    ['GE 23', [sig('SCMP_CMP_GE', 23)], '0 1 1'],
    ['MASKED_EQ 7/7', [sig('SCMP_CMP_MASKED_EQ', 7, 7)], '0 1 0'],
    ['EQ 17 or EQ 28 (one index twice)', [sig('SCMP_CMP_EQ', 17), sig('SCMP_CMP_EQ', 28)], '1 0 1'],
    ['pid EQ 1 and sig EQ 28 (two indexes)', [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, sig('SCMP_CMP_EQ', 28)], '0 0 1'],
    ['pid EQ 2 and sig EQ 28 (two indexes)', [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }, sig('SCMP_CMP_EQ', 28)], '0 0 0'],
  ];
  for (const [name, args, want] of cases) {
    const bundle = await makeBundle(t, { args: sh(script), edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args }] }) });
    const res = await run(t, bundle);
    const got = res.stdout.trim().split('\n').map((l) => (l.endsWith('=0') ? '0' : '1')).join(' ');
    t.equal(got, want, name, { stdout: res.stdout, stderr: res.stderr });
  }
});

t.test('the probe: seccomp mode 2 (filter) and no_new_privs as configured', { skip }, async (t) => {
  for (const nnp of [true, false]) {
    const bundle = await makeBundle(t, {
      args: ['/probe'],
      edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }, (s) => void (s.process!.noNewPrivileges = nnp)),
    });
    const res = await run(t, bundle);
    t.equal(res.code, 0, `noNewPrivileges ${nnp}: exit 0`, { stderr: res.stderr });
    const report: ProbeReport = parseProbeReport(res.stdout.trim());
    t.equal(report.seccomp.mode, 2, 'seccomp mode 2');
    t.equal(report.seccomp.mode_name, 'filter');
    if (report.seccomp.filters !== null) t.equal(report.seccomp.filters, 1, 'one filter');
    t.equal(report.no_new_privs, nnp ? 1 : 0, `no_new_privs ${nnp ? 1 : 0}`);
  }
  const none = await makeBundle(t, { args: ['/probe'] });
  const res = await run(t, none);
  t.equal(parseProbeReport(res.stdout.trim()).seccomp.mode, 0, 'without linux.seccomp: no filter');
});

const dockerSkip = skip || (existsSync(DOCKER_FIXTURE) ? false : `${DOCKER_FIXTURE} not found`);

/** Docker's default profile and capabilities (docker-plain-1.json) on a test bundle. */
function dockerEdit(args: string[]): (spec: Spec) => void {
  const docker = JSON.parse(readFileSync(DOCKER_FIXTURE, 'utf8')) as Spec;
  return (spec) => {
    spec.linux!.seccomp = docker.linux!.seccomp;
    spec.process!.capabilities = docker.process!.capabilities;
    delete spec.process!.noNewPrivileges;
    spec.process!.args = args;
    spec.root!.readonly = false;
  };
}

const DOCKER_SCRIPT = [
  'echo start',
  'ls / >/dev/null && echo ls-ok',
  'mkdir /tmp/x && echo mkdir-ok',
  'cat /etc/passwd | wc -l',
  '(sleep 0; echo subshell-ok) &',
  'wait',
  'unshare -m true 2>/dev/null; echo "unshare=$?"',
  'mount -t tmpfs t /mnt 2>/dev/null; echo "mount=$?"',
  'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -s "\\t" " "',
].join('\n');

t.test("Docker's default profile: a busybox shell works, unshare and mount do not; as under runc", { skip: dockerSkip }, async (t) => {
  const bundle = await makeBundle(t, { args: [], edit: dockerEdit(sh(DOCKER_SCRIPT)) });
  const res = await run(t, bundle);
  t.equal(res.code, 0, 'exit 0', { stderr: res.stderr });
  const want = ['start', 'ls-ok', 'mkdir-ok', '3', 'subshell-ok', 'unshare=1', 'mount=1', 'NoNewPrivs: 0', 'Seccomp: 2'];
  t.same(res.stdout.trim().split('\n'), want, 'the script under hako');
  if (!runtimeAvailable(RUNC)) return t.comment('runc not found: no comparison');
  const ref = await makeBundle(t, { args: [], edit: dockerEdit(sh(DOCKER_SCRIPT)) });
  const rr = await run(t, ref, RUNC);
  t.equal(rr.code, 0, 'runc: exit 0', { stderr: rr.stderr });
  t.same(res.stdout.trim().split('\n'), rr.stdout.trim().split('\n'), 'the same output as under runc');
});

t.test('bad profiles are refused before anything is created; unknown syscall names are skipped', { skip }, async (t) => {
  const cases: Array<[string, LinuxSeccomp, RegExp]> = [
    ['unknown action', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_BOGUS' as never }] }, /\/linux\/seccomp\/syscalls\/0\/action/],
    ['unknown operator', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_SOON' as never }] }] }, /\/linux\/seccomp\/syscalls\/0\/args\/0\/op/],
    ['NOTIFY with no agent listening', { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/hako-no-such-agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /send the seccomp listener to \/run\/hako-no-such-agent\.sock: connect .*no such file or directory/i],
    ['NOTIFY on sendmsg', { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/none.sock', syscalls: [{ names: ['sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }, /sendmsg/],
    // libseccomp 2.5 does not know loongarch64 (2.6 does: then there is nothing to refuse)
    ['an architecture libseccomp does not know', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_LOONGARCH64'] }, /loongarch64/],
  ];
  for (const [name, seccomp, error] of cases) {
    const marker = `marker-${containerId('bad')}`;
    const bundle = await makeBundle(t, { args: ['/probe', '--stat', `/${marker}`], edit: withSeccomp(seccomp) });
    const root = await makeStateRoot(t, HAKO);
    const scratch = await scratchDir(t, 'seccomp-bad');
    const res = await spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, containerId('bad')], {
      stdoutFile: path.join(scratch, 'out'),
      stderrFile: path.join(scratch, 'err'),
    });
    if (name.startsWith('an architecture') && res.code === 0) {
      t.comment('this libseccomp knows loongarch64: nothing to refuse');
      continue;
    }
    t.equal(res.code, 1, `${name}: exit 1`);
    t.match(res.stderr, error, `${name}: ${res.stderr.trim()}`);
    t.equal(res.stdout, '', 'the process never ran');
    // A profile that compiled (the agent case) leaves its program in the cache, and only that.
    t.same(notCache(readdirSync(root)), [], 'no container state left');
    await checkNothingLeft(t, { bundleDir: bundle.dir, markers: [marker] });
  }
  const unknown = await makeBundle(t, {
    args: sh('mkdir /tmp/d; echo "mkdir=$?"'),
    edit: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_syscall', 'mkdir', 'another_made_up_one'], action: 'SCMP_ACT_ERRNO' }] }),
  });
  const res = await run(t, unknown);
  t.equal(res.code, 0, 'unknown names: the container runs', { stderr: res.stderr });
  t.match(res.stdout, /mkdir=1/, 'and the known name is still filtered');
});

t.test('the cache: one program file in the state root, reused, and whole under concurrent creates', { skip: dockerSkip }, async (t) => {
  const root = await makeStateRoot(t, HAKO);
  const scratch = await scratchDir(t, 'seccomp-cache');
  const bundle = await makeBundle(t, { args: [], edit: dockerEdit(sh('echo ok')) });
  const runOnce = (i: number) =>
    spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, containerId(`cache${i}`)], {
      stdoutFile: path.join(scratch, `out${i}`),
      stderrFile: path.join(scratch, `err${i}`),
    });
  const results = await Promise.all([0, 1, 2, 3, 4, 5].map(runOnce));
  for (const [i, r] of results.entries()) t.equal(r.code === 0 && r.stdout.trim(), 'ok', `concurrent run ${i}`, { stderr: r.stderr });
  const files = readdirSync(root).sort();
  t.equal(files.filter((f) => f.endsWith('.bpf')).length, 1, 'one compiled program');
  t.ok(files.includes('.seccomp-libseccomp.json'), 'the libseccomp stamp');
  t.same(files.filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
  t.same(notCache(files), [], 'nothing else: every container is gone');
  const bpf = files.find((f) => f.endsWith('.bpf'))!;
  // dist/hako hashes the key with its engine's own hasher: the same name as node:crypto gives.
  const stamp = JSON.parse(readFileSync(path.join(root, '.seccomp-libseccomp.json'), 'utf8')) as { version: string };
  const spec = JSON.parse(readFileSync(path.join(bundle.dir, 'config.json'), 'utf8')) as Spec;
  t.equal(bpf, path.basename(seccompCacheFile(root, seccompCacheKey(seccompProfile(spec.linux!.seccomp!).request, process.arch, stamp.version))), 'the key node:crypto computes');
  const before = readFileSync(path.join(root, bpf));
  const again = await runOnce(9);
  t.equal(again.stdout.trim(), 'ok', 'a warm run');
  t.same(readFileSync(path.join(root, bpf)), before, 'the same program');
  t.ok(before.length > 0 && before.length % 8 === 0, `${before.length / 8} instructions`);
});

// A seccomp agent: takes one connection on argv[1], writes what came (the state and the
// number of fds) to argv[2], then answers every notification with EACCES until the
// container's processes are gone (POLLHUP on the listener).
const AGENT_PY = String.raw`
import array, fcntl, json, select, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept()
msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16))
fds = array.array("i")
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - len(data) % 4])
seen = []
report = {"state": json.loads(msg), "nfds": len(fds), "syscalls": seen}
def save():
    with open(out, "w") as f:
        json.dump(report, f)
save()
listener = fds[0]
poller = select.poll()
poller.register(listener, select.POLLIN)
while True:
    events = poller.poll(20000)
    if not events or any(e & (select.POLLHUP | select.POLLERR) for _, e in events):
        break
    req = bytearray(80)
    try:
        fcntl.ioctl(listener, 0xC0502100, req)  # SECCOMP_IOCTL_NOTIF_RECV
    except OSError:
        continue
    nid, pid, _, nr = struct.unpack_from("<QIIi", req, 0)
    seen.append(nr)
    save()
    resp = bytearray(struct.pack("<QqiI", nid, 0, -13, 0))  # error -EACCES
    try:
        fcntl.ioctl(listener, 0xC0182101, resp)  # SECCOMP_IOCTL_NOTIF_SEND
    except OSError:
        pass
save()
`;

t.test('SCMP_ACT_NOTIFY: the listener and the state go to the agent at listenerPath, which answers the calls', { skip }, async (t) => {
  for (const nnp of [true, false]) {
    const scratch = await scratchDir(t, 'seccomp-agent');
    const socketPath = path.join(scratch, 'agent.sock');
    const reportFile = path.join(scratch, 'agent.json');
    const agent = spawn('python3', ['-c', AGENT_PY, socketPath, reportFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => void agent.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      agent.stdout.once('data', () => resolve());
      agent.once('exit', (code) => reject(new Error(`the agent exited (${code})`)));
    });
    const bundle = await makeBundle(t, {
      args: sh('mkdir /tmp/d; echo "mkdir=$?"; mkdir -p /tmp/e 2>/dev/null; rmdir /tmp 2>/dev/null; echo done'),
      edit: withSeccomp(
        {
          defaultAction: 'SCMP_ACT_ALLOW',
          listenerPath: socketPath,
          listenerMetadata: 'hello agent',
          flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
        },
        (s) => {
          s.process!.noNewPrivileges = nnp;
          s.annotations = { 'org.example.key': 'value' };
        },
      ),
    });
    const id = containerId('notify');
    const root = await makeStateRoot(t, HAKO);
    const res = await spawnRuntime(HAKO, root, ['run', '--bundle', bundle.dir, id], {
      stdoutFile: path.join(scratch, 'out'),
      stderrFile: path.join(scratch, 'err'),
    });
    t.equal(res.code, 0, `noNewPrivileges ${nnp}: exit 0`, { stderr: res.stderr });
    t.match(res.stdout, /mkdir=1\ndone/, 'mkdir failed');
    t.match(res.stderr, /can't create directory '\/tmp\/d': Permission denied/, 'with the agent\'s answer: EACCES');
    await new Promise((resolve) => (agent.exitCode !== null ? resolve(null) : agent.once('exit', resolve)));
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { state: Record<string, unknown>; nfds: number; syscalls: number[] };
    t.equal(report.nfds, 1, 'one fd came with the state');
    t.match(report.state, { ociVersion: /^1\./, fds: ['seccompFd'], metadata: 'hello agent' }, 'the container process state');
    t.match(report.state.state, { id, status: 'creating', bundle: bundle.dir, annotations: { 'org.example.key': 'value' } }, 'the container state inside it');
    t.ok(typeof report.state.pid === 'number' && report.state.pid > 0 && (report.state.state as { pid: number }).pid === report.state.pid, 'the init\'s pid');
    t.ok(report.syscalls.includes(83), 'the agent saw mkdir (83)');
    await checkNothingLeft(t, { bundleDir: bundle.dir });
  }
});
