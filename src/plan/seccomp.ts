// linux.seccomp -> what the addon hands to libseccomp (a SeccompRequest: numbers only,
// one entry per rule) and the flags of the seccomp(2) call the init makes. Pure: the
// compiling and the cache are in seccomp-cache.ts, libseccomp in cpp/addon/seccomp.cc.
//
// runc's choices, kept:
// - SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD; ERRNO and TRACE return EPERM unless errnoRet
//   (defaultErrnoRet for the default action) says otherwise.
// - A rule whose action (with its errno) is the default action is left out: libseccomp
//   refuses it, and it changes nothing.
// - A syscall name libseccomp does not know is skipped (an older library or another
//   architecture's call), not an error. compile() reports which were.
// - When two conditions of one rule test the same argument, each condition becomes a rule
//   of its own (libseccomp cannot AND two tests of one argument); otherwise a rule holds
//   all its conditions, ANDed.
// - More than 32 syscall names: libseccomp's binary-tree layout (SCMP_FLTATR_CTL_OPTIMIZE 2).
// - SECCOMP_FILTER_FLAG_TSYNC is accepted and ignored: the init is single-threaded.
// - The ENOSYS stub (runc >= 1.0.2): a syscall newer than every syscall the profile names
//   (its number above the highest of them, per architecture listed in the profile) gets
//   ENOSYS instead of the default action, so that libc falls back (clone3 to clone,
//   faccessat2 to faccessat). Not when the default action lets calls through (ALLOW, LOG,
//   TRACE) or already answers ENOSYS, nor without architectures in the profile. The
//   addon puts it in front of libseccomp's program.
// hako's own:
// - SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only means something with a listener: the
//   kernel refuses it without SECCOMP_FILTER_FLAG_NEW_LISTENER, so it is dropped when no
//   rule uses SCMP_ACT_NOTIFY.
// - An errnoRet above 65535 is refused (the filter has 16 bits for it; runc truncates).
// - SCMP_ACT_NOTIFY on sendmsg is refused: the init hands the listener to the parent with
//   sendmsg, so the agent could never answer it (runc refuses write for the same reason;
//   the spec checks refuse write too).
//
// Argument values are uint64. JSON.parse rounds integers above 2^53; exactArgValues()
// reads the exact ones from config.json's text for the caller to pass in.
import { HakoError } from '../errors.js';
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArch, LinuxSeccompFlag, LinuxSeccompOperator } from '../oci/types.js';

/** libseccomp's action values (the kernel's SECCOMP_RET_*); ERRNO and TRACE carry 16 bits of data. */
export const SECCOMP_ACTIONS: Readonly<Record<LinuxSeccompAction, number>> = {
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
};

/** enum scmp_compare */
export const SECCOMP_OPERATORS: Readonly<Record<LinuxSeccompOperator, number>> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** The spec's architecture names -> libseccomp's (seccomp_arch_resolve_name). */
export const SECCOMP_ARCHES: Readonly<Record<LinuxSeccompArch, string>> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
  SCMP_ARCH_M68K: 'm68k',
  SCMP_ARCH_SH: 'sh',
  SCMP_ARCH_SHEB: 'sheb',
};

/** <linux/seccomp.h> SECCOMP_FILTER_FLAG_* */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  TSYNC_ESRCH: 1 << 4,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

/** The spec's flags and the bits they set (TSYNC: none, see the top of this file). */
export const SECCOMP_FLAGS: Readonly<Record<LinuxSeccompFlag, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 0,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

const EPERM = 1;
const ENOSYS = 38;
/** Default actions that let an unknown syscall through: no ENOSYS stub (as runc). */
const PERMISSIVE: ReadonlySet<string> = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']);
const U64_MAX = (1n << 64n) - 1n;
const OPTIMIZE_ABOVE = 32;

export interface SeccompArg {
  index: number;
  /** SECCOMP_OPERATORS value */
  op: number;
  value: bigint;
  valueTwo: bigint;
}

export interface SeccompRule {
  name: string;
  /** SECCOMP_ACTIONS value, with the errno or trace data in the low 16 bits */
  action: number;
  args: SeccompArg[];
}

/** What the addon's seccompCompile takes; also what the cache key is made of. */
export interface SeccompRequest {
  defaultAction: number;
  /** libseccomp's names; the native architecture is always in the filter */
  arches: string[];
  optimize: boolean;
  rules: SeccompRule[];
  /** the ENOSYS stub: above the highest number of `names` on each of `arches` (libseccomp's names) */
  enosys?: { arches: string[]; names: string[] };
}

export interface SeccompProfile {
  request: SeccompRequest;
  /** SECCOMP_FILTER_FLAG_* for the init's seccomp(2) call */
  flags: number;
  /** some rule uses SCMP_ACT_NOTIFY */
  notify: boolean;
  /** the JSON pointer of each rule's syscall name (rules[i] -> pointers[i]) */
  rulePointers: string[];
  /** the JSON pointer of each architecture */
  archPointers: string[];
}

/** Pointer -> exact value, for argument values JSON.parse rounded (see exactArgValues). */
export type ExactValues = ReadonlyMap<string, bigint>;

const AT = '/linux/seccomp';

function actionValue(action: string, errnoRet: number | undefined, at: string, errnoAt: string): number {
  const base = (SECCOMP_ACTIONS as Record<string, number>)[action];
  if (base === undefined) throw new HakoError(`seccomp: unknown action ${JSON.stringify(action)}`, { pointer: at });
  if (action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') return base;
  const data = errnoRet ?? EPERM;
  if (!Number.isInteger(data) || data < 0 || data > 0xffff) {
    throw new HakoError(`seccomp: errnoRet ${data} does not fit in the filter's 16 bits`, { pointer: errnoAt });
  }
  return (base | data) >>> 0;
}

function argValue(v: number | undefined, at: string, exact: ExactValues | undefined): bigint {
  if (v === undefined) return 0n;
  const precise = exact?.get(at);
  if (precise !== undefined && Number(precise) === v) return precise;
  if (!Number.isInteger(v) || v < 0) throw new HakoError(`seccomp: argument value ${v} is not a uint64`, { pointer: at });
  const b = BigInt(v);
  // 18446744073709551615 parses as 2^64: the only uint64 that rounds past the top.
  return b > U64_MAX ? U64_MAX : b;
}

/**
 * The profile as libseccomp rules and seccomp(2) flags. Throws a HakoError naming the
 * JSON pointer for an action, operator, architecture or flag hako does not know.
 */
export function seccompProfile(sc: LinuxSeccomp, exact?: ExactValues): SeccompProfile {
  const defaultAction = actionValue(sc.defaultAction, sc.defaultErrnoRet, `${AT}/defaultAction`, `${AT}/defaultErrnoRet`);
  const arches: string[] = [];
  const archPointers: string[] = [];
  (sc.architectures ?? []).forEach((arch, i) => {
    const name = (SECCOMP_ARCHES as Record<string, string>)[arch];
    if (name === undefined) throw new HakoError(`seccomp: unknown architecture ${JSON.stringify(arch)}`, { pointer: `${AT}/architectures/${i}` });
    arches.push(name);
    archPointers.push(`${AT}/architectures/${i}`);
  });

  const rules: SeccompRule[] = [];
  const rulePointers: string[] = [];
  // A rule the same as one before it (name, action, arguments) is left out: libseccomp's
  // filter is the same without it, and it costs libseccomp time that grows with the rules
  // for the syscall, with their square (1,000 copies of a 28-name group: 15 s; a fuzz
  // mutant had 10,000).
  const seen = new Set<string>();
  let notify = false;
  let names = 0;
  (sc.syscalls ?? []).forEach((call, i) => {
    const at = `${AT}/syscalls/${i}`;
    const action = actionValue(call.action, call.errnoRet, `${at}/action`, `${at}/errnoRet`);
    const args = (call.args ?? []).map((a, k): SeccompArg => {
      const op = (SECCOMP_OPERATORS as Record<string, number>)[a.op];
      if (op === undefined) throw new HakoError(`seccomp: unknown operator ${JSON.stringify(a.op)}`, { pointer: `${at}/args/${k}/op` });
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
        throw new HakoError(`seccomp: argument index ${a.index} is not 0 to 5`, { pointer: `${at}/args/${k}/index` });
      }
      return { index: a.index, op, value: argValue(a.value, `${at}/args/${k}/value`, exact), valueTwo: argValue(a.valueTwo, `${at}/args/${k}/valueTwo`, exact) };
    });
    names += call.names.length;
    if (action === defaultAction) return;
    if (call.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      const k = call.names.indexOf('sendmsg');
      if (k >= 0) throw new HakoError('seccomp: SCMP_ACT_NOTIFY cannot be used for sendmsg (hako-init hands the listener over with it)', { pointer: `${at}/names/${k}` });
    }
    const indexes = args.map((a) => a.index);
    const sharedIndex = new Set(indexes).size !== indexes.length;
    const groups = sharedIndex ? args.map((a) => [a]) : [args];
    call.names.forEach((name, k) => {
      for (const group of groups) {
        const key = `${name}\0${action}\0${group.map((a) => `${a.index} ${a.op} ${a.value} ${a.valueTwo}`).join(',')}`;
        if (seen.has(key)) continue;
        seen.add(key);
        rules.push({ name, action, args: group });
        rulePointers.push(`${at}/names/${k}`);
      }
    });
  });

  let flags = notify ? SECCOMP_FILTER_FLAG.NEW_LISTENER : 0;
  (sc.flags ?? []).forEach((flag, i) => {
    const bit = (SECCOMP_FLAGS as Record<string, number>)[flag];
    if (bit === undefined) throw new HakoError(`seccomp: unknown flag ${JSON.stringify(flag)}`, { pointer: `${AT}/flags/${i}` });
    if (bit === SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV && !notify) return;
    flags |= bit;
  });

  const request: SeccompRequest = { defaultAction, arches, optimize: names > OPTIMIZE_ABOVE, rules };
  const named = [...new Set((sc.syscalls ?? []).flatMap((call) => call.names))];
  if (!PERMISSIVE.has(sc.defaultAction) && sc.defaultErrnoRet !== ENOSYS && arches.length > 0 && named.length > 0) {
    request.enosys = { arches: [...new Set(arches)], names: named };
  }
  return { request, flags, notify, rulePointers, archPointers };
}

/** Whether some argument value of the profile lost precision in JSON.parse. */
export function hasRoundedArgValues(sc: LinuxSeccomp): boolean {
  return (sc.syscalls ?? []).some((call) =>
    (call.args ?? []).some((a) => !Number.isSafeInteger(a.value) || (a.valueTwo !== undefined && !Number.isSafeInteger(a.valueTwo))),
  );
}

const BIG = '\u0000uint64:';

/**
 * The exact seccomp argument values above 2^53 in config.json's text, by JSON pointer
 * (/linux/seccomp/syscalls/i/args/k/value or valueTwo). Integer literals of 16 digits or
 * more become strings before JSON.parse, which then cannot round them; the scan matches
 * whole string literals first, so digits inside strings are never touched.
 */
export function exactArgValues(configText: string): Map<string, bigint> {
  const marked = configText.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (tok) =>
    /^\d{16,}$/.test(tok) ? `"\\u0000uint64:${tok}"` : tok,
  );
  const out = new Map<string, bigint>();
  let doc: unknown;
  try {
    doc = JSON.parse(marked);
  } catch {
    return out;
  }
  const calls = (doc as { linux?: { seccomp?: { syscalls?: unknown } } } | null)?.linux?.seccomp?.syscalls;
  if (!Array.isArray(calls)) return out;
  calls.forEach((call: { args?: unknown }, i) => {
    if (!Array.isArray(call?.args)) return;
    call.args.forEach((arg: Record<string, unknown> | null, k) => {
      for (const key of ['value', 'valueTwo']) {
        const v = arg?.[key];
        if (typeof v === 'string' && v.startsWith(BIG)) out.set(`${AT}/syscalls/${i}/args/${k}/${key}`, BigInt(v.slice(BIG.length)));
      }
    });
  });
  return out;
}
