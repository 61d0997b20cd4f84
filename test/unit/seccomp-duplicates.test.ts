// A seccomp profile whose rules repeat (found by the fuzzer: a group of 28 names copied
// 10,000 times kept create busy in libseccomp for longer than its callers wait): a rule the
// same as one before it is left out, and the filter is the one without the copies.
import t from 'tap';
import { existsSync } from 'node:fs';
import type { LinuxSeccomp, LinuxSyscall } from '../../src/oci/types.js';
import { seccompProfile } from '../../src/plan/seccomp.js';
import { devBuildDir, native } from '../../src/native.js';

const group: LinuxSyscall = { names: ['kexec_load', 'swapon', 'swapoff', 'vmsplice'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 };
const rest: LinuxSyscall[] = [
  { names: ['read', 'write', 'swapon'], action: 'SCMP_ACT_ALLOW' },
  { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
  { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
  { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
];
const profile = (copies: number): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [...Array.from({ length: copies }, () => structuredClone(group)), ...rest],
});

t.test('a rule repeated 10,000 times is one rule', async (t) => {
  const p = seccompProfile(profile(10_000));
  const rules = p.request.rules.map((r) => `${r.name} ${r.action} ${r.args.map((a) => a.value).join(',')}`);
  t.same(
    rules,
    ['kexec_load 327681 ', 'swapon 327681 ', 'swapoff 327681 ', 'vmsplice 327681 ', 'read 2147418112 ', 'write 2147418112 ', 'swapon 2147418112 ', 'ptrace 327681 1', 'ptrace 327681 2'],
    'each distinct rule once, in order (a name with another action, or other arguments, is another rule)',
  );
  t.same(p.rulePointers, ['/linux/seccomp/syscalls/0/names/0', '/linux/seccomp/syscalls/0/names/1', '/linux/seccomp/syscalls/0/names/2', '/linux/seccomp/syscalls/0/names/3', '/linux/seccomp/syscalls/10000/names/0', '/linux/seccomp/syscalls/10000/names/1', '/linux/seccomp/syscalls/10000/names/2', '/linux/seccomp/syscalls/10001/names/0', '/linux/seccomp/syscalls/10002/names/0'], 'each rule keeps the pointer of its first copy');
});

const addonSkip = !existsSync(devBuildDir()) && 'the addon is not built';
t.test('libseccomp: the filter with the copies is the filter without them', { skip: addonSkip }, async (t) => {
  // Both above runc's 32 names for the binary tree (counted with the copies, as runc does).
  const few = seccompProfile(profile(10)).request;
  const many = seccompProfile(profile(10_000)).request;
  t.ok(few.optimize && many.optimize, 'both optimized');
  t.same(Buffer.from(native().seccompCompile(many).program), Buffer.from(native().seccompCompile(few).program), 'the same program');
});
