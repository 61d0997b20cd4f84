// The launch plan's wire format, as cpp/common/plan.h defines it (that header is the
// definition; this file follows it):
//   header:  "HAKOPLAN", u32 version, u32 record count
//   record:  u16 tag, u16 0, u32 payload length, payload      (all little-endian)
// A STR payload is the string's bytes; a string inside a STRUCT is u32 length + bytes.
// Lists are repeated records, in list order. Optional fields are left out when absent;
// every other scalar is always written, so the decoder never falls back to a default.
//
// planToJson() prints a plan the way plan_to_json() in cpp/common/plan.cc does (same
// keys, same order, 64-bit values as decimal strings): the round-trip test compares
// it with `hako-init --decode-plan`.
import { HakoError } from '../errors.js';
import { type LaunchPlan, PLAN_MAGIC, PLAN_VERSION, type PlanScheduler, PlanTag } from './launch-plan.js';

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function unfit(field: string, value: number | bigint, kind: string): HakoError {
  return new HakoError(`launch plan: ${field} = ${value} does not fit in ${kind}`);
}

// The whole plan is written into one growing buffer: a record's header is reserved when
// its payload starts and filled in by add() (a Buffer per field cost ~0.5 ms a plan).
class Writer {
  buf = Buffer.allocUnsafe(4096);
  view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  pos = 0;
  records = 0;

  /** Room for n more bytes: their offset. May replace buf and view, so read them only after it. */
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
}

/** One record's payload, written in place; every put checks its range and names the field on failure. */
class Payload {
  readonly start: number;

  constructor(private readonly w: Writer) {
    this.start = w.reserve(8) + 8;
  }

  u32(field: string, v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw unfit(field, v, 'u32');
    const at = this.w.reserve(4);
    this.w.view.setUint32(at, v, true);
    return this;
  }

  i32(field: string, v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw unfit(field, v, 'i32');
    const at = this.w.reserve(4);
    this.w.view.setInt32(at, v, true);
    return this;
  }

  u64(field: string, v: bigint): this {
    if (v < 0n || v > U64_MAX) throw unfit(field, v, 'u64');
    const at = this.w.reserve(8);
    this.w.view.setBigUint64(at, v, true);
    return this;
  }

  i64(field: string, v: bigint): this {
    if (v < I64_MIN || v > I64_MAX) throw unfit(field, v, 'i64');
    const at = this.w.reserve(8);
    this.w.view.setBigInt64(at, v, true);
    return this;
  }

  /** A whole-payload string (STR). */
  bytes(field: string, s: string): this {
    checkString(field, s);
    const n = Buffer.byteLength(s, 'utf8');
    const at = this.w.reserve(n);
    this.w.buf.write(s, at, n, 'utf8');
    return this;
  }

  /** Binary bytes inside a STRUCT: u32 length + bytes (NULs allowed). */
  blob(field: string, b: Uint8Array): this {
    this.u32(`${field} length`, b.length);
    const at = this.w.reserve(b.length);
    this.w.buf.set(b, at);
    return this;
  }

  /** A string inside a STRUCT: u32 length + bytes. */
  str(field: string, s: string): this {
    checkString(field, s);
    const n = Buffer.byteLength(s, 'utf8');
    this.u32(`${field} length`, n);
    const at = this.w.reserve(n);
    this.w.buf.write(s, at, n, 'utf8');
    return this;
  }
}

// Every plan string ends up as a C string in a system call: a NUL would cut it short.
function checkString(field: string, s: string): void {
  if (s.includes('\0')) throw new HakoError(`launch plan: ${field} contains a NUL byte: ${JSON.stringify(s)}`);
}

/** The plan in plan.h's binary format. Throws HakoError for a value that does not fit. */
export function encodePlan(plan: LaunchPlan): Buffer {
  const w = new Writer();
  w.buf.write(PLAN_MAGIC, w.reserve(16), 'latin1'); // the first 4096 bytes: never grown here
  w.buf.writeUInt32LE(PLAN_VERSION, 8);
  // A record's payload is the bytes written since its P(): one payload at a time.
  const add = (tag: number, p: Payload) => {
    const head = p.start - 8;
    w.view.setUint16(head, tag, true);
    w.view.setUint16(head + 2, 0, true);
    w.view.setUint32(head + 4, w.pos - p.start, true);
    w.records++;
  };
  const P = () => new Payload(w);

  add(PlanTag.CONTAINER_ID, P().bytes('containerId', plan.containerId));
  add(PlanTag.ROOTFS, P().bytes('rootfs', plan.rootfs));
  add(PlanTag.FLAGS, P().u64('flags', plan.flags));
  add(PlanTag.CLONE_FLAGS, P().u64('cloneFlags', plan.cloneFlags));
  plan.joinNamespaces.forEach((j, i) => {
    const at = `joinNamespaces[${i}]`;
    add(PlanTag.JOIN_NS, P().u64(`${at}.cloneFlag`, j.cloneFlag).str(`${at}.path`, j.path));
  });
  add(PlanTag.ROOT_PROPAGATION, P().u64('rootPropagation', plan.rootPropagation));
  plan.mounts.forEach((m, i) => {
    const at = `mounts[${i}]`;
    add(
      PlanTag.MOUNT,
      P()
        .u64(`${at}.flags`, m.flags)
        .u64(`${at}.propagation`, m.propagation)
        .u64(`${at}.attrSet`, m.attrSet)
        .u64(`${at}.attrClr`, m.attrClr)
        .u32(`${at}.ext`, m.ext)
        .str(`${at}.source`, m.source)
        .str(`${at}.destination`, m.destination)
        .str(`${at}.type`, m.type)
        .str(`${at}.data`, m.data),
    );
    if (m.idmap) {
      add(
        PlanTag.MOUNT_IDMAP,
        P()
          .u32(`${at}.idmap.flags`, m.idmap.flags)
          .str(`${at}.idmap.uidMap`, m.idmap.uidMap)
          .str(`${at}.idmap.gidMap`, m.idmap.gidMap)
          .str(`${at}.idmap.usernsPath`, m.idmap.usernsPath)
          .str(`${at}.idmap.pointer`, m.idmap.pointer),
      );
    }
  });
  plan.devices.forEach((d, i) => {
    const at = `devices[${i}]`;
    add(
      PlanTag.DEVICE,
      P()
        .u32(`${at}.type`, d.type)
        .u32(`${at}.major`, d.major)
        .u32(`${at}.minor`, d.minor)
        .u32(`${at}.mode`, d.mode)
        .u32(`${at}.uid`, d.uid)
        .u32(`${at}.gid`, d.gid)
        .u32(`${at}.bind`, d.bind)
        .str(`${at}.path`, d.path),
    );
  });
  plan.symlinks.forEach((s, i) => {
    add(PlanTag.SYMLINK, P().str(`symlinks[${i}].target`, s.target).str(`symlinks[${i}].link`, s.link));
  });
  plan.maskedPaths.forEach((p, i) => add(PlanTag.MASKED_PATH, P().bytes(`maskedPaths[${i}]`, p)));
  plan.readonlyPaths.forEach((p, i) => add(PlanTag.READONLY_PATH, P().bytes(`readonlyPaths[${i}]`, p)));
  if (plan.hostname !== undefined) add(PlanTag.HOSTNAME, P().bytes('hostname', plan.hostname));
  if (plan.domainname !== undefined) add(PlanTag.DOMAINNAME, P().bytes('domainname', plan.domainname));
  plan.timeOffsets.forEach((t, i) => {
    const at = `timeOffsets[${i}]`;
    add(PlanTag.TIME_OFFSET, P().u32(`${at}.clock`, t.clock).i64(`${at}.secs`, t.secs).u32(`${at}.nanos`, t.nanos));
  });
  plan.sysctls.forEach((s, i) => {
    add(PlanTag.SYSCTL, P().str(`sysctls[${i}].key`, s.key).str(`sysctls[${i}].value`, s.value));
  });
  plan.args.forEach((a, i) => add(PlanTag.ARG, P().bytes(`args[${i}]`, a)));
  plan.env.forEach((e, i) => add(PlanTag.ENV, P().bytes(`env[${i}]`, e)));
  add(PlanTag.CWD, P().bytes('cwd', plan.cwd));
  add(PlanTag.USER, P().u32('uid', plan.uid).u32('gid', plan.gid).u32('umask', plan.umask));
  plan.additionalGids.forEach((g, i) => add(PlanTag.ADDITIONAL_GID, P().u32(`additionalGids[${i}]`, g)));
  plan.rlimits.forEach((l, i) => {
    const at = `rlimits[${i}]`;
    add(PlanTag.RLIMIT, P().u32(`${at}.resource`, l.resource).u64(`${at}.soft`, l.soft).u64(`${at}.hard`, l.hard));
  });
  if (plan.oomScoreAdj !== undefined) add(PlanTag.OOM_SCORE_ADJ, P().i64('oomScoreAdj', plan.oomScoreAdj));
  if (plan.consoleSize !== undefined) {
    add(PlanTag.CONSOLE_SIZE, P().u32('consoleSize.rows', plan.consoleSize.rows).u32('consoleSize.cols', plan.consoleSize.cols));
  }
  if (plan.capabilities !== undefined) {
    const c = plan.capabilities;
    add(
      PlanTag.CAPABILITIES,
      P()
        .u64('capabilities.bounding', c.bounding)
        .u64('capabilities.effective', c.effective)
        .u64('capabilities.permitted', c.permitted)
        .u64('capabilities.inheritable', c.inheritable)
        .u64('capabilities.ambient', c.ambient),
    );
  }
  add(
    PlanTag.FDS,
    P()
      .i32('fds.consoleSocket', plan.fds.consoleSocket)
      .i32('fds.execFifo', plan.fds.execFifo)
      .u32('fds.preserved', plan.fds.preserved),
  );
  if (plan.seccomp !== undefined) {
    add(PlanTag.SECCOMP, P().u32('seccomp.flags', plan.seccomp.flags).i32('seccomp.listenerSocket', plan.seccomp.listenerSocket).blob('seccomp.program', plan.seccomp.program));
  }
  (plan.hooks ?? []).forEach((h, i) => {
    const at = `hooks[${i}]`;
    const p = P().u32(`${at}.kind`, h.kind).u32(`${at}.timeout`, h.timeout).u32(`${at}.hasEnv`, h.hasEnv).str(`${at}.path`, h.path);
    p.u32(`${at}.args count`, h.args.length);
    h.args.forEach((a, j) => p.str(`${at}.args[${j}]`, a));
    p.u32(`${at}.env count`, h.env.length);
    h.env.forEach((e, j) => p.str(`${at}.env[${j}]`, e));
    add(PlanTag.HOOK, p);
  });
  (plan.hookStates ?? []).forEach((s, i) => {
    const at = `hookStates[${i}]`;
    add(PlanTag.HOOK_STATE, P().u32(`${at}.kind`, s.kind).str(`${at}.head`, s.head).str(`${at}.tail`, s.tail));
  });
  if (plan.scheduler !== undefined) {
    const s = plan.scheduler;
    add(
      PlanTag.SCHEDULER,
      P()
        .u32('scheduler.policy', s.policy)
        .u64('scheduler.flags', s.flags)
        .i32('scheduler.nice', s.nice)
        .u32('scheduler.priority', s.priority)
        .u64('scheduler.runtime', s.runtime)
        .u64('scheduler.deadline', s.deadline)
        .u64('scheduler.period', s.period),
    );
  }
  if (plan.ioPriority !== undefined) {
    add(PlanTag.IO_PRIORITY, P().u32('ioPriority.class', plan.ioPriority.class).u32('ioPriority.priority', plan.ioPriority.priority));
  }
  if (plan.cpuAffinity !== undefined) {
    const p = P().u32('cpuAffinity count', plan.cpuAffinity.length);
    plan.cpuAffinity.forEach((cpu, i) => p.u32(`cpuAffinity[${i}]`, cpu));
    add(PlanTag.CPU_AFFINITY, p);
  }
  if (plan.personality !== undefined) add(PlanTag.PERSONALITY, P().u32('personality', plan.personality));
  if (plan.memoryPolicy !== undefined) {
    const m = plan.memoryPolicy;
    const p = P().u32('memoryPolicy.mode', m.mode).u32('memoryPolicy.flags', m.flags).u32('memoryPolicy.nodes count', m.nodes.length);
    m.nodes.forEach((n, i) => p.u32(`memoryPolicy.nodes[${i}]`, n));
    add(PlanTag.MEMORY_POLICY, p);
  }
  if (plan.cgroup2Dir !== undefined) add(PlanTag.CGROUP2_DIR, P().bytes('cgroup2Dir', plan.cgroup2Dir));

  w.buf.writeUInt32LE(w.records, 12);
  return w.buf.subarray(0, w.pos);
}

// ---------------------------------------------------------------- JSON

/** The JSON value plan_to_json prints: 64-bit fields as decimal strings. */
export interface PlanJson {
  containerId: string;
  rootfs: string;
  flags: string;
  cloneFlags: string;
  joinNamespaces: Array<{ cloneFlag: string; path: string }>;
  rootPropagation: string;
  mounts: Array<{
    flags: string;
    propagation: string;
    attrSet: string;
    attrClr: string;
    ext: number;
    source: string;
    destination: string;
    type: string;
    data: string;
    idmap?: { flags: number; uidMap: string; gidMap: string; usernsPath: string; pointer: string };
  }>;
  devices: Array<{ type: number; major: number; minor: number; mode: number; uid: number; gid: number; bind: number; path: string }>;
  symlinks: Array<{ target: string; link: string }>;
  maskedPaths: string[];
  readonlyPaths: string[];
  hostname?: string;
  domainname?: string;
  timeOffsets: Array<{ clock: number; secs: string; nanos: number }>;
  sysctls: Array<{ key: string; value: string }>;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  umask: number;
  additionalGids: number[];
  rlimits: Array<{ resource: number; soft: string; hard: string }>;
  /** plan_to_json prints this int64 as a number (it is small) */
  oomScoreAdj?: number;
  consoleSize?: { rows: number; cols: number };
  capabilities?: { bounding: string; effective: string; permitted: string; inheritable: string; ambient: string };
  /** the program as lowercase hex */
  seccomp?: { flags: number; listenerSocket: number; program: string };
  fds: { consoleSocket: number; execFifo: number; preserved: number };
  hooks: Array<{ kind: number; timeout: number; hasEnv: number; path: string; args: string[]; env: string[] }>;
  hookStates: Array<{ kind: number; head: string; tail: string }>;
  scheduler?: { policy: number; flags: string; nice: number; priority: number; runtime: string; deadline: string; period: string };
  ioPriority?: { class: number; priority: number };
  cpuAffinity?: number[];
  personality?: number;
  memoryPolicy?: { mode: number; flags: number; nodes: number[] };
  cgroup2Dir?: string;
}

/** The plan as the JSON value plan_to_json produces (keys in the same order). */
export function planJson(p: LaunchPlan): PlanJson {
  const s = (v: bigint) => v.toString();
  const caps = p.capabilities;
  return {
    containerId: p.containerId,
    rootfs: p.rootfs,
    flags: s(p.flags),
    cloneFlags: s(p.cloneFlags),
    joinNamespaces: p.joinNamespaces.map((j) => ({ cloneFlag: s(j.cloneFlag), path: j.path })),
    rootPropagation: s(p.rootPropagation),
    mounts: p.mounts.map((m) => ({
      flags: s(m.flags),
      propagation: s(m.propagation),
      attrSet: s(m.attrSet),
      attrClr: s(m.attrClr),
      ext: m.ext,
      source: m.source,
      destination: m.destination,
      type: m.type,
      data: m.data,
      ...(m.idmap ? { idmap: { flags: m.idmap.flags, uidMap: m.idmap.uidMap, gidMap: m.idmap.gidMap, usernsPath: m.idmap.usernsPath, pointer: m.idmap.pointer } } : {}),
    })),
    devices: p.devices.map((d) => ({
      type: d.type,
      major: d.major,
      minor: d.minor,
      mode: d.mode,
      uid: d.uid,
      gid: d.gid,
      bind: d.bind,
      path: d.path,
    })),
    symlinks: p.symlinks.map((l) => ({ target: l.target, link: l.link })),
    maskedPaths: [...p.maskedPaths],
    readonlyPaths: [...p.readonlyPaths],
    ...(p.hostname !== undefined ? { hostname: p.hostname } : {}),
    ...(p.domainname !== undefined ? { domainname: p.domainname } : {}),
    timeOffsets: p.timeOffsets.map((t) => ({ clock: t.clock, secs: s(t.secs), nanos: t.nanos })),
    sysctls: p.sysctls.map((x) => ({ key: x.key, value: x.value })),
    args: [...p.args],
    env: [...p.env],
    cwd: p.cwd,
    uid: p.uid,
    gid: p.gid,
    umask: p.umask,
    additionalGids: [...p.additionalGids],
    rlimits: p.rlimits.map((l) => ({ resource: l.resource, soft: s(l.soft), hard: s(l.hard) })),
    ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: Number(p.oomScoreAdj) } : {}),
    ...(p.consoleSize !== undefined ? { consoleSize: { rows: p.consoleSize.rows, cols: p.consoleSize.cols } } : {}),
    ...(caps !== undefined
      ? {
          capabilities: {
            bounding: s(caps.bounding),
            effective: s(caps.effective),
            permitted: s(caps.permitted),
            inheritable: s(caps.inheritable),
            ambient: s(caps.ambient),
          },
        }
      : {}),
    ...(p.seccomp !== undefined ? { seccomp: { flags: p.seccomp.flags, listenerSocket: p.seccomp.listenerSocket, program: Buffer.from(p.seccomp.program).toString('hex') } } : {}),
    fds: { consoleSocket: p.fds.consoleSocket, execFifo: p.fds.execFifo, preserved: p.fds.preserved },
    hooks: (p.hooks ?? []).map((h) => ({ kind: h.kind, timeout: h.timeout, hasEnv: h.hasEnv, path: h.path, args: [...h.args], env: [...h.env] })),
    hookStates: (p.hookStates ?? []).map((s) => ({ kind: s.kind, head: s.head, tail: s.tail })),
    ...(p.scheduler !== undefined ? { scheduler: schedulerJson(p.scheduler) } : {}),
    ...(p.ioPriority !== undefined ? { ioPriority: { class: p.ioPriority.class, priority: p.ioPriority.priority } } : {}),
    ...(p.cpuAffinity !== undefined ? { cpuAffinity: [...p.cpuAffinity] } : {}),
    ...(p.personality !== undefined ? { personality: p.personality } : {}),
    ...(p.memoryPolicy !== undefined ? { memoryPolicy: { mode: p.memoryPolicy.mode, flags: p.memoryPolicy.flags, nodes: [...p.memoryPolicy.nodes] } } : {}),
    ...(p.cgroup2Dir !== undefined ? { cgroup2Dir: p.cgroup2Dir } : {}),
  };
}

function schedulerJson(s: PlanScheduler): NonNullable<PlanJson['scheduler']> {
  return {
    policy: s.policy,
    flags: s.flags.toString(),
    nice: s.nice,
    priority: s.priority,
    runtime: s.runtime.toString(),
    deadline: s.deadline.toString(),
    period: s.period.toString(),
  };
}

/** plan_to_json's text: planJson() as compact JSON. */
export function planToJson(p: LaunchPlan): string {
  return JSON.stringify(planJson(p));
}
