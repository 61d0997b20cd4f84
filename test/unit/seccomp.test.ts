// linux.seccomp -> rules (src/plan/seccomp.ts), the compile cache (src/plan/seccomp-cache.ts)
// with a fake compiler, and the real compile through the addon and libseccomp: the BPF it
// exports is run here by a small classic-BPF interpreter against made-up syscalls, so
// actions, errno values and every operator are checked without root or a container.
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HakoError } from '../../src/errors.js';
import type { LinuxSeccomp, LinuxSyscall } from '../../src/oci/types.js';
import { SECCOMP_FILTER_FLAG, exactArgValues, hasRoundedArgValues, seccompProfile } from '../../src/plan/seccomp.js';
import { type SeccompCompiler, compileSeccomp, planSeccomp, seccompCacheFile, seccompCacheKey } from '../../src/plan/seccomp-cache.js';
import { sha256Hex } from '../../src/engine.js';
import { devBuildDir, native } from '../../src/native.js';
import { FIXTURES_DIR } from '../helpers/paths.js';

const ALLOW = 0x7fff0000;
const errno = (n: number) => (0x00050000 | n) >>> 0;

function pointerOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof HakoError) return err.where.pointer;
    throw err;
  }
  return 'accepted';
}

// ---------------------------------------------------------------- profile -> rules

t.test('actions, errno values and the default action', async (t) => {
  const p = seccompProfile({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    syscalls: [
      { names: ['a'], action: 'SCMP_ACT_ALLOW' },
      { names: ['b'], action: 'SCMP_ACT_ERRNO' },
      { names: ['c'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['d'], action: 'SCMP_ACT_KILL' },
      { names: ['e'], action: 'SCMP_ACT_KILL_THREAD' },
      { names: ['f'], action: 'SCMP_ACT_KILL_PROCESS' },
      { names: ['g'], action: 'SCMP_ACT_TRAP' },
      { names: ['h'], action: 'SCMP_ACT_TRACE' },
      { names: ['i'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
      { names: ['j'], action: 'SCMP_ACT_LOG' },
      { names: ['k'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ],
  });
  t.equal(p.request.defaultAction, errno(38), 'defaultErrnoRet');
  t.same(
    p.request.rules.map((r) => [r.name, r.action]),
    [
      ['a', ALLOW],
      ['b', errno(1)],
      ['c', errno(13)],
      ['d', 0],
      ['e', 0],
      ['f', 0x80000000],
      ['g', 0x00030000],
      ['h', 0x7ff00001],
      ['i', 0x7ff00007],
      ['j', 0x7ffc0000],
    ],
    'ERRNO and TRACE default to EPERM; KILL is KILL_THREAD; a rule equal to the default action (k) is left out',
  );
  t.same(p.rulePointers.slice(0, 2), ['/linux/seccomp/syscalls/0/names/0', '/linux/seccomp/syscalls/1/names/0']);
  t.equal(seccompProfile({ defaultAction: 'SCMP_ACT_ALLOW' }).request.defaultAction, ALLOW);
});

t.test('arguments: one rule with every condition, or one rule per condition when an index repeats', async (t) => {
  const p = seccompProfile({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {
        names: ['x', 'y'],
        action: 'SCMP_ACT_ERRNO',
        args: [
          { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 2, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' },
        ],
      },
      {
        names: ['z'],
        action: 'SCMP_ACT_ERRNO',
        args: [
          { index: 0, value: 1, op: 'SCMP_CMP_EQ' },
          { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
        ],
      },
    ],
  });
  t.same(
    p.request.rules.map((r) => [r.name, r.args.map((a) => [a.index, a.op, a.value, a.valueTwo])]),
    [
      ['x', [[0, 4, 1n, 0n], [1, 7, 2n, 3n]]],
      ['y', [[0, 4, 1n, 0n], [1, 7, 2n, 3n]]],
      ['z', [[0, 4, 1n, 0n]]],
      ['z', [[0, 4, 2n, 0n]]],
    ],
  );
  t.same(p.rulePointers, ['/linux/seccomp/syscalls/0/names/0', '/linux/seccomp/syscalls/0/names/1', '/linux/seccomp/syscalls/1/names/0', '/linux/seccomp/syscalls/1/names/0']);
});

t.test('architectures, flags and the binary tree above 32 names', async (t) => {
  const p = seccompProfile({
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64'],
    flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
  });
  t.same(p.request.arches, ['x86_64', 'x86', 'x32', 'aarch64'], "libseccomp's names");
  t.equal(p.flags, SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW, 'TSYNC ignored; WAIT_KILLABLE_RECV dropped without a listener');
  t.equal(p.notify, false);
  t.equal(p.request.optimize, false);
  const names = Array.from({ length: 33 }, (_, i) => `call${i}`);
  t.equal(seccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names, action: 'SCMP_ACT_ERRNO' }] }).request.optimize, true, '33 names');
  const n = seccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_NOTIFY' }] });
  t.equal(n.notify, true);
  t.equal(n.flags, SECCOMP_FILTER_FLAG.NEW_LISTENER | SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV, 'a NOTIFY rule asks for a listener');
});

t.test('what hako does not know is refused with its JSON pointer', async (t) => {
  const call = (c: Partial<LinuxSyscall>): LinuxSeccomp => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read', 'mkdir'], action: 'SCMP_ACT_ERRNO', ...c }] });
  const bad: Array<[string, LinuxSeccomp]> = [
    ['/linux/seccomp/defaultAction', { defaultAction: 'SCMP_ACT_BOGUS' as never }],
    ['/linux/seccomp/syscalls/0/action', call({ action: 'SCMP_ACT_MAYBE' as never })],
    ['/linux/seccomp/syscalls/0/args/1/op', call({ args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 1, op: 'SCMP_CMP_APPROX' as never }] })],
    ['/linux/seccomp/syscalls/0/args/0/index', call({ args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] })],
    ['/linux/seccomp/syscalls/0/args/0/value', call({ args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] })],
    ['/linux/seccomp/syscalls/0/args/0/valueTwo', call({ args: [{ index: 0, value: 1, valueTwo: 0.5, op: 'SCMP_CMP_MASKED_EQ' }] })],
    ['/linux/seccomp/syscalls/0/errnoRet', call({ errnoRet: 65536 })],
    ['/linux/seccomp/defaultErrnoRet', { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 70000 }],
    ['/linux/seccomp/architectures/1', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_VAX' as never] }],
    ['/linux/seccomp/flags/0', { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_FAST' as never] }],
  ];
  for (const [pointer, sc] of bad) t.equal(pointerOf(() => seccompProfile(sc)), pointer, pointer);
});

t.test('argument values above 2^53 are read exactly from the config text', async (t) => {
  const text = `{"process":{"args":["x","12345678901234567890"]},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW",
    "syscalls":[{"names":["mmap"],"action":"SCMP_ACT_ERRNO","args":[
      {"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"},
      {"index":1,"value":9007199254740993,"valueTwo":4294967295,"op":"SCMP_CMP_MASKED_EQ"},
      {"index":2,"value":12,"op":"SCMP_CMP_EQ"}]}]}}}`;
  const exact = exactArgValues(text);
  t.same(
    [...exact.entries()],
    [
      ['/linux/seccomp/syscalls/0/args/0/value', 18446744073709551615n],
      ['/linux/seccomp/syscalls/0/args/1/value', 9007199254740993n],
    ],
    'only the rounded ones; digits inside strings untouched',
  );
  const sc = (JSON.parse(text) as { linux: { seccomp: LinuxSeccomp } }).linux.seccomp;
  t.equal(hasRoundedArgValues(sc), true);
  t.equal(hasRoundedArgValues({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: 2 ** 53 - 1, op: 'SCMP_CMP_EQ' }] }] }), false);
  const args = seccompProfile(sc, exact).request.rules[0]!.args;
  t.same(args.map((a) => a.value), [18446744073709551615n, 9007199254740993n, 12n], 'exact values used');
  const rounded = seccompProfile(sc).request.rules[0]!.args;
  t.same(rounded.map((a) => a.value), [18446744073709551615n, 9007199254740992n, 12n], 'without the text: rounded (2^64 clamped to 2^64-1)');
  t.same(exactArgValues('not json'), new Map(), 'a text that does not parse gives nothing');
});

// ---------------------------------------------------------------- the cache, with a fake compiler

function fakeCompiler(version = '2.5.4', path?: string) {
  const calls = { library: 0, compile: 0 };
  const compiler: SeccompCompiler = {
    library: () => {
      calls.library++;
      return { version, ...(path ? { path } : {}) };
    },
    compile: (req) => {
      calls.compile++;
      return { program: Buffer.alloc(8 * (req.rules.length + 1), calls.compile), skipped: [] };
    },
  };
  return { compiler, calls };
}

t.test('cache: compiled once, then read back without loading libseccomp', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-seccomp-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lib = join(dir, 'libseccomp.so.2');
  writeFileSync(lib, 'pretend');
  const cacheDir = join(dir, 'root');
  const { request } = seccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  const { compiler, calls } = fakeCompiler('2.5.4', lib);

  const first = compileSeccomp(request, compiler, cacheDir);
  t.same([first.cached, calls.library, calls.compile], [false, 1, 1], 'cold: compiled');
  const second = compileSeccomp(request, compiler, cacheDir);
  t.same([second.cached, calls.library, calls.compile], [true, 1, 1], 'warm: read back, libseccomp not asked');
  t.same(second.program, first.program);
  const files = readdirSync(cacheDir).sort();
  t.same(files, [`.seccomp-${seccompCacheKey(request, process.arch, '2.5.4')}.bpf`, '.seccomp-libseccomp.json'], 'one program and the stamp (files, no directory), no temp files');

  const other = seccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['rmdir'], action: 'SCMP_ACT_ERRNO' }] }).request;
  t.equal(compileSeccomp(other, compiler, cacheDir).cached, false, 'another profile: another entry');
  t.not(seccompCacheKey(request, 'x64', '2.5.4'), seccompCacheKey(request, 'arm64', '2.5.4'), 'the architecture is in the key');

  // A new library file (an upgrade): the stamp no longer matches, libseccomp is asked again.
  utimesSync(lib, new Date(2001, 1, 1), new Date(2001, 1, 1));
  const upgraded = fakeCompiler('2.6.0', lib);
  t.equal(compileSeccomp(request, upgraded.compiler, cacheDir).cached, false, 'new libseccomp version: compiled again');
  t.same([upgraded.calls.library, upgraded.calls.compile], [1, 1]);
  t.equal(compileSeccomp(request, upgraded.compiler, cacheDir).cached, true);
  t.equal(upgraded.calls.library, 1, 'and the new stamp spares the next load');

  // A damaged entry is compiled again and replaced.
  const entry = seccompCacheFile(cacheDir, seccompCacheKey(request, process.arch, '2.6.0'));
  writeFileSync(entry, 'short');
  t.equal(compileSeccomp(request, upgraded.compiler, cacheDir).cached, false, 'a program that is not whole instructions is not used');
  t.equal(compileSeccomp(request, upgraded.compiler, cacheDir).cached, true, 'and was rewritten');

  // A program cached before the ENOSYS stub (format 1, no stub in the request) is not
  // taken for today's: the key is another.
  const deny = seccompProfile({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }).request;
  const { enosys: _stub, ...before } = deny;
  const oldText = JSON.stringify(before, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  const oldKey = createHash('sha256').update(`hako-seccomp 1\0${process.arch}\0${'2.6.0'}\0${oldText}`).digest('hex');
  writeFileSync(seccompCacheFile(cacheDir, oldKey), Buffer.alloc(8));
  t.not(seccompCacheKey(deny, process.arch, '2.6.0'), oldKey, 'the key of a profile with the stub is not the old one');
  t.equal(compileSeccomp(deny, upgraded.compiler, cacheDir).cached, false, 'the old program is not used');

  // No cache directory: always compiled; a cache that cannot be written is not an error.
  t.equal(compileSeccomp(request, compiler).cached, false);
  writeFileSync(join(dir, 'file'), '');
  t.equal(compileSeccomp(request, compiler, join(dir, 'file', 'sub')).cached, false, 'unwritable cache dir: compiled, no error');
});

t.test('planSeccomp: NOTIFY asks for a listener, but not on sendmsg; addon errors get a pointer', async (t) => {
  const { compiler } = fakeCompiler();
  const notify = planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_NOTIFY' }] }, { compiler });
  t.equal(notify.notify, true);
  t.equal(notify.flags, SECCOMP_FILTER_FLAG.NEW_LISTENER);
  t.equal(
    pointerOf(() => planSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG' }, { names: ['ioctl', 'sendmsg'], action: 'SCMP_ACT_NOTIFY' }] }, { compiler })),
    '/linux/seccomp/syscalls/1/names/1',
    'sendmsg: the init hands the listener over with it',
  );
  const failing: SeccompCompiler = {
    library: () => ({ version: '1' }),
    compile: () => {
      throw Object.assign(new Error('seccomp_rule_add(mkdir): Invalid argument'), { rule: 1, code: 'EINVAL' });
    },
  };
  const sc: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG' }, { names: ['rmdir', 'mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  try {
    planSeccomp(sc, { compiler: failing });
    t.fail('accepted');
  } catch (err) {
    t.ok(err instanceof HakoError);
    t.equal((err as HakoError).message, 'seccomp: seccomp_rule_add(mkdir): Invalid argument');
    t.same((err as HakoError).where, { pointer: '/linux/seccomp/syscalls/1/names/0', errno: 'EINVAL' });
  }
  let read = 0;
  planSeccomp(sc, { compiler, configText: () => String(++read) });
  t.equal(read, 0, 'config.json is read again only when a value needs its exact digits');
});

// ---------------------------------------------------------------- the real compile

const ADDON = join(devBuildDir(), 'hako.node');
const addonSkip = existsSync(ADDON) ? false : `${ADDON} not built`;

const realCompiler: SeccompCompiler = { library: () => native().seccompLibrary(), compile: (r) => native().seccompCompile(r) };

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const NR = { getpid: 39, mkdir: 83, personality: 135, mkdirat: 258 } as const;

/**
 * Runs a classic BPF seccomp program over struct seccomp_data {int nr; u32 arch; u64 ip;
 * u64 args[6]} (little-endian) and returns what it returns. Knows the instructions
 * libseccomp emits: loads (absolute, immediate, scratch), stores, ALU with constants,
 * conditional and unconditional jumps, returns.
 */
function runFilter(bytes: Uint8Array, nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64): number {
  const program = Buffer.from(bytes);
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(a, 16 + 8 * i));
  const mem = new Uint32Array(16);
  let A = 0;
  let X = 0;
  for (let pc = 0, steps = 0; pc < program.length / 8 && steps < 100_000; pc++, steps++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    const cls = code & 0x07;
    const src = code & 0x08 ? X : k;
    switch (cls) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20) A = data.readUInt32LE(k);
        else if ((code & 0xe0) === 0x00) A = k;
        else if ((code & 0xe0) === 0x60) A = mem[k]!;
        else throw new Error(`ld mode ${code.toString(16)}`);
        break;
      case 0x01: // LDX
        X = (code & 0xe0) === 0x60 ? mem[k]! : k;
        break;
      case 0x02: // ST
        mem[k] = A;
        break;
      case 0x03: // STX
        mem[k] = X;
        break;
      case 0x04: {
        // ALU
        const op = code & 0xf0;
        if (op === 0x50) A = (A & src) >>> 0;
        else if (op === 0x40) A = (A | src) >>> 0;
        else if (op === 0x00) A = (A + src) >>> 0;
        else if (op === 0x10) A = (A - src) >>> 0;
        else throw new Error(`alu op ${op.toString(16)}`);
        break;
      }
      case 0x05: {
        // JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const cond = op === 0x10 ? A === src : op === 0x20 ? A > src : op === 0x30 ? A >= src : op === 0x40 ? (A & src) !== 0 : undefined;
        if (cond === undefined) throw new Error(`jmp op ${op.toString(16)}`);
        pc += cond ? jt : jf;
        break;
      }
      case 0x06: // RET
        return (code & 0x18) === 0x10 ? A : k;
      case 0x07: // MISC
        if (code & 0x80) A = X;
        else X = A;
        break;
    }
  }
  throw new Error('the program ran off its end');
}

function compile(sc: LinuxSeccomp) {
  return planSeccomp(sc, { compiler: realCompiler });
}

t.test('libseccomp: a profile compiles to a program that does what it says', { skip: addonSkip }, async (t) => {
  const lib = native().seccompLibrary();
  t.match(lib.version, /^\d+\.\d+\.\d+$/, `libseccomp ${lib.version}`);
  const c = compile({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['mkdir', 'mkdirat', 'no_such_syscall_at_all'], action: 'SCMP_ACT_ERRNO' },
      { names: ['getpid'], action: 'SCMP_ACT_KILL_PROCESS' },
    ],
  });
  t.ok(c.program.length > 0 && c.program.length % 8 === 0, `${c.program.length / 8} instructions`);
  t.same(c.skipped, ['no_such_syscall_at_all'], 'the unknown name is skipped, not an error');
  t.equal(runFilter(c.program, NR.mkdir), errno(1), 'mkdir: EPERM');
  t.equal(runFilter(c.program, NR.mkdirat), errno(1), 'mkdirat: EPERM');
  t.equal(runFilter(c.program, NR.getpid), 0x80000000, 'getpid: KILL_PROCESS');
  t.equal(runFilter(c.program, 0), ALLOW, 'read: the default');
  t.equal(runFilter(c.program, NR.mkdir, [], AUDIT_ARCH_I386), 0, 'an architecture not in the filter: killed');

  const enosys = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] });
  t.equal(runFilter(enosys.program, NR.mkdir), errno(38), 'errnoRet 38: ENOSYS');
  const x86 = compile({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] });
  t.equal(runFilter(x86.program, 20, [], AUDIT_ARCH_I386), ALLOW, 'getpid on i386 (20) allowed: the extra architecture is in');
  t.equal(runFilter(x86.program, NR.getpid), ALLOW);
  t.equal(runFilter(x86.program, 0 /* read */), errno(1), 'a syscall older than getpid: the default');
});

const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const X32 = 0x40000000;

t.test('libseccomp: the ENOSYS stub, per architecture of the profile (runc >= 1.0.2)', { skip: addonSkip }, async (t) => {
  // Highest named: x86_64 mkdirat 258; i386 mkdirat 296; x32 mkdirat 258 | X32.
  const sc: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write', 'mkdirat'], action: 'SCMP_ACT_ALLOW' },
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO' },
    ],
  };
  const c = compile(sc);
  t.equal(runFilter(c.program, NR.mkdirat), ALLOW, 'x86_64: the highest named syscall: its rule');
  t.equal(runFilter(c.program, NR.mkdirat + 1), errno(38), 'x86_64: one above it: ENOSYS');
  t.equal(runFilter(c.program, 1000), errno(38), 'x86_64: 1000: ENOSYS');
  t.equal(runFilter(c.program, NR.mkdir), errno(1), 'x86_64: not named, below the highest: the default (EPERM)');
  t.equal(runFilter(c.program, NR.getpid), errno(1), 'x86_64: named with the default action: EPERM');
  t.equal(runFilter(c.program, 297, [], AUDIT_ARCH_I386), errno(38), 'i386: above mkdirat (296): ENOSYS');
  t.equal(runFilter(c.program, 296, [], AUDIT_ARCH_I386), ALLOW, 'i386: mkdirat: its rule');
  t.equal(runFilter(c.program, 100, [], AUDIT_ARCH_I386), errno(1), 'i386: below: the default');
  t.equal(runFilter(c.program, (X32 | 259) >>> 0), errno(38), 'x32: above mkdirat: ENOSYS');
  t.equal(runFilter(c.program, (X32 | 258) >>> 0), ALLOW, 'x32: mkdirat: its rule');
  t.equal(runFilter(c.program, (X32 | 83) >>> 0), errno(1), 'x32: below: the default');
  t.equal(runFilter(c.program, 1000, [], AUDIT_ARCH_AARCH64), 0, 'an architecture not in the profile: killed, as before');

  const onlyX86_64 = compile({ ...sc, architectures: ['SCMP_ARCH_X86_64'] });
  t.equal(runFilter(onlyX86_64.program, 1000), errno(38), 'x86_64 alone: ENOSYS above');
  t.not(runFilter(onlyX86_64.program, (X32 | 1000) >>> 0), errno(38), 'x86_64 alone: an x32 call is not stubbed');

  t.equal(runFilter(compile({ ...sc, defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }).program, 1000), ALLOW, 'ALLOW by default: no stub');
  t.equal(runFilter(compile({ ...sc, defaultAction: 'SCMP_ACT_LOG', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }).program, 1000), 0x7ffc0000, 'LOG by default: no stub');
  t.equal(runFilter(compile({ ...sc, defaultErrnoRet: 38 }).program, 1000), errno(38), 'defaultErrnoRet ENOSYS: the default says it');
  t.equal(runFilter(compile({ ...sc, architectures: [] }).program, 1000), errno(1), 'no architectures in the profile: no stub (as runc)');
  t.notOk(seccompProfile({ ...sc, architectures: [] }).request.enosys, 'and the request asks for none');
  t.same(seccompProfile(sc).request.enosys, { arches: ['x86_64', 'x86', 'x32'], names: ['read', 'write', 'mkdirat', 'getpid'] }, 'every name, whatever its action');
});

t.test('libseccomp: every operator, on 64-bit values', { skip: addonSkip }, async (t) => {
  const BIG = 0xfedcba9876543210n;
  const cases: Array<[string, bigint, bigint, Array<[bigint, boolean]>]> = [
    ['SCMP_CMP_EQ', BIG, 0n, [[BIG, true], [BIG + 1n, false], [BIG & 0xffffffffn, false]]],
    ['SCMP_CMP_NE', 8n, 0n, [[8n, false], [9n, true], [(1n << 32n) | 8n, true]]],
    ['SCMP_CMP_LT', 1n << 40n, 0n, [[(1n << 40n) - 1n, true], [1n << 40n, false], [1n << 41n, false]]],
    ['SCMP_CMP_LE', 100n, 0n, [[100n, true], [101n, false], [0n, true]]],
    ['SCMP_CMP_GT', 100n, 0n, [[101n, true], [100n, false], [1n << 33n, true]]],
    ['SCMP_CMP_GE', BIG, 0n, [[BIG, true], [BIG - 1n, false], [0xffffffffffffffffn, true]]],
    ['SCMP_CMP_MASKED_EQ', 0xff00n, 0x1200n, [[0x12ffn, true], [0x1300n, false], [(1n << 50n) | 0x1234n, true]]],
  ];
  for (const [op, value, valueTwo, probes] of cases) {
    const c = compile({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: Number(value), valueTwo: Number(valueTwo), op: op as 'SCMP_CMP_EQ' }] }],
    });
    // Number() rounds BIG: compile the exact value as seccompProfile would get it from the text.
    const exact = new Map([['/linux/seccomp/syscalls/0/args/0/value', value], ['/linux/seccomp/syscalls/0/args/0/valueTwo', valueTwo]]);
    const precise = seccompProfile(
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: Number(value), valueTwo: Number(valueTwo), op: op as 'SCMP_CMP_EQ' }] }] },
      exact,
    );
    const program = value > BigInt(Number.MAX_SAFE_INTEGER) ? realCompiler.compile(precise.request).program : c.program;
    for (const [arg, denied] of probes) {
      t.equal(runFilter(program, NR.personality, [arg]), denied ? errno(1) : ALLOW, `${op} ${value.toString(16)}: arg 0x${arg.toString(16)} ${denied ? 'matches' : 'does not match'}`);
    }
  }
  const two = compile({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
      { names: ['mkdirat'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  t.equal(runFilter(two.program, NR.personality, [1n]), errno(1), 'one index twice: either condition (separate rules)');
  t.equal(runFilter(two.program, NR.personality, [2n]), errno(1));
  t.equal(runFilter(two.program, NR.personality, [3n]), ALLOW);
  t.equal(runFilter(two.program, NR.mkdirat, [1n, 2n]), errno(1), 'two indexes: both conditions (one rule)');
  t.equal(runFilter(two.program, NR.mkdirat, [1n, 3n]), ALLOW);
});

const DOCKER = join(FIXTURES_DIR, 'docker-plain-1.json');

t.test("libseccomp: Docker's default profile", { skip: addonSkip || (existsSync(DOCKER) ? false : `${DOCKER} not found`) }, async (t) => {
  const file = DOCKER;
  const sc = (JSON.parse(readFileSync(file, 'utf8')) as { linux: { seccomp: LinuxSeccomp } }).linux.seccomp;
  const t0 = performance.now();
  const c = compile(sc);
  t.comment(`compiled in ${(performance.now() - t0).toFixed(1)} ms: ${c.program.length / 8} instructions, skipped ${c.skipped.join(', ') || 'none'}`);
  t.equal(runFilter(c.program, NR.mkdir), ALLOW, 'mkdir allowed');
  t.equal(runFilter(c.program, 272 /* unshare */), errno(1), 'unshare: EPERM');
  t.equal(runFilter(c.program, 435 /* clone3 */), errno(38), 'clone3: ENOSYS');
  t.equal(runFilter(c.program, 56 /* clone */, [0x11n /* SIGCHLD | ... */]), ALLOW, 'clone without namespace flags');
  t.equal(runFilter(c.program, 56, [0x20000n /* CLONE_NEWNS */]), errno(1), 'clone with CLONE_NEWNS');
  t.equal(runFilter(c.program, NR.personality, [0xffffffffn]), ALLOW, 'personality(0xffffffff) (a query)');
  t.equal(runFilter(c.program, NR.personality, [0x0040000n]), errno(1), 'personality(ADDR_NO_RANDOMIZE)');
  t.equal(runFilter(c.program, 1000), errno(38), 'a syscall above every one the profile names: ENOSYS (the stub)');
  t.equal(runFilter(c.program, 1000, [], AUDIT_ARCH_I386), errno(38), 'on i386 too');
});

t.test('libseccomp: errors name the JSON pointer', { skip: addonSkip }, async (t) => {
  const archKnown = (name: string) => native().seccompArchToken(name) !== 0;
  t.ok(archKnown('x86_64'));
  if (!archKnown('loongarch64')) {
    t.equal(
      pointerOf(() => compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_LOONGARCH64'] })),
      '/linux/seccomp/architectures/1',
      'an architecture this libseccomp does not know',
    );
  }
  t.ok(native().seccompFlagSupported(SECCOMP_FILTER_FLAG.LOG), 'the kernel takes SECCOMP_FILTER_FLAG_LOG');
  t.notOk(native().seccompFlagSupported(1 << 30), 'and not a made-up flag');
});

// The key is hashed by engine.ts (Bun's own hasher in the shipped build: node:crypto cost
// Bun 3-12 ms to load on every warm create): the same digest as node:crypto's, so a cache
// written by either build is read by the other.
t.test('the cache key is the SHA-256 of its text, whichever engine hashes it', async (t) => {
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'the FIPS 180-2 vector');
  t.equal(sha256Hex('h\u00e9\0x'), createHash('sha256').update('h\u00e9\0x', 'utf8').digest('hex'), 'UTF-8 bytes, a NUL kept');
  const { request } = seccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  const text = JSON.stringify(request, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  t.equal(seccompCacheKey(request, 'x64', '2.5.4'), createHash('sha256').update(`hako-seccomp 2\0x64\0${'2.5.4'}\0${text}`).digest('hex'), 'the key as before');
});
