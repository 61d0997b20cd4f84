// The cgroup v2 device program the addon builds, run by a small eBPF interpreter written
// here (the instructions it uses, nothing else) and compared, over every access of a grid
// of devices, with what the v1 devices controller answers for the same state. Also a
// golden program, and which states the v2 driver hands over when.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceProgram } from '../../src/cgroups/device-program.js';
import { applyDeviceRules, containerDeviceRules, type DeviceRule, type DeviceState } from '../../src/cgroups/devices.js';
import { V2Cgroup } from '../../src/cgroups/v2.js';
import { defaultSpec } from '../../src/oci/default-spec.js';

const TYPE = { b: 1, c: 2 } as const;
const ACC = { m: 1, r: 2, w: 4 } as const;
const MASK64 = (1n << 64n) - 1n;
const MASK32 = (1n << 32n) - 1n;

/** Run a BPF_PROG_TYPE_CGROUP_DEVICE program on one access; throws on anything unexpected. */
function run(prog: Buffer, ctx: { type: number; access: number; major: number; minor: number }): number {
  const n = prog.length / 8;
  const r: (bigint | undefined)[] = new Array(11).fill(undefined);
  const mem = [BigInt((ctx.access << 16) | ctx.type), BigInt(ctx.major), BigInt(ctx.minor)];
  r[1] = -1n; // the context pointer: only loads at 0, 4, 8 from it are expected
  let ctxPtr = true;
  for (let pc = 0, steps = 0; pc < n; pc++, steps++) {
    if (steps > 10_000) throw new Error('runaway');
    const code = prog[pc * 8]!;
    const regs = prog[pc * 8 + 1]!;
    const dst = regs & 0xf;
    const src = regs >> 4;
    const off = prog.readInt16LE(pc * 8 + 2);
    const imm = prog.readInt32LE(pc * 8 + 4);
    const get = (i: number): bigint => {
      const v = r[i];
      if (v === undefined) throw new Error(`pc ${pc}: r${i} read before it is set`);
      return v;
    };
    const jump = (taken: boolean): void => {
      if (off < 0) throw new Error(`pc ${pc}: backward jump`);
      if (taken) pc += off;
    };
    switch (code) {
      case 0x61: // ldx w dst = *(u32 *)(src + off)
        if (src !== 1 || !ctxPtr || off % 4 !== 0 || off < 0 || off > 8) throw new Error(`pc ${pc}: load from r${src}+${off}`);
        r[dst] = mem[off / 4]!;
        break;
      case 0x54: // alu32 and k
        r[dst] = get(dst) & MASK32 & (BigInt(imm) & MASK32);
        break;
      case 0x74: // alu32 rsh k
        r[dst] = (get(dst) & MASK32) >> BigInt(imm);
        break;
      case 0xb4: // alu32 mov k
        r[dst] = BigInt(imm) & MASK32;
        break;
      case 0xbf: // alu64 mov x
        r[dst] = get(src) & MASK64;
        break;
      case 0x56: // jmp32 jne k
        jump((get(dst) & MASK32) !== (BigInt(imm) & MASK32));
        break;
      case 0x16: // jmp32 jeq k
        jump((get(dst) & MASK32) === (BigInt(imm) & MASK32));
        break;
      case 0x95: // exit
        return Number(get(0));
      default:
        throw new Error(`pc ${pc}: unexpected opcode 0x${code.toString(16)}`);
    }
    if (dst === 1) ctxPtr = false;
  }
  throw new Error('fell off the end');
}

/** What the v1 devices controller answers for a state. */
function v1Answer(s: DeviceState, type: 'b' | 'c', access: number, major: number, minor: number): number {
  const matches = (e: DeviceRule): boolean => (e.type === 'a' || e.type === type) && (e.major < 0 || e.major === major) && (e.minor < 0 || e.minor === minor);
  const bits = (e: DeviceRule): number => [...e.access].reduce((b, c) => b | ACC[c as 'r' | 'w' | 'm'], 0);
  if (s.defaultAllow) return s.exceptions.some((e) => matches(e) && (access & bits(e)) !== 0) ? 0 : 1;
  return s.exceptions.some((e) => matches(e) && (access & ~bits(e)) === 0) ? 1 : 0;
}

const rule = (allow: boolean, type: 'a' | 'b' | 'c', major: number, minor: number, access = 'rwm'): DeviceRule => ({ allow, type, major, minor, access });

const cases: [string, DeviceState][] = [
  ['the default spec (deny all, then runc\'s nodes)', applyDeviceRules(containerDeviceRules(defaultSpec().linux?.resources?.devices))],
  ['allow everything', applyDeviceRules(containerDeviceRules([rule(true, 'a', -1, -1)]))],
  ['allow all, deny /dev/null', applyDeviceRules([rule(false, 'c', 1, 3)])],
  ['allow all, deny reads of block 8:*', applyDeviceRules([rule(false, 'b', 8, -1, 'r')])],
  ['deny all, allow c 10:229 rw and c *:5 r', applyDeviceRules([rule(false, 'a', -1, -1), rule(true, 'c', 10, 229, 'rw'), rule(true, 'c', -1, 5, 'r')])],
  ['deny all, then an allow narrowed by a deny', applyDeviceRules([rule(false, 'a', -1, -1), rule(true, 'c', 1, -1, 'rwm'), rule(false, 'c', 1, -1, 'w')])],
  ['deny all, nothing else', applyDeviceRules([rule(false, 'a', -1, -1)])],
];

t.test('the program answers as the v1 controller does, for every access on a grid of devices', async (t) => {
  const majors = [0, 1, 4, 5, 8, 10, 136, 254];
  const minors = [0, 1, 2, 3, 5, 7, 8, 9, 200, 229];
  for (const [label, state] of cases) {
    const prog = deviceProgram(state);
    t.equal(prog.length % 8, 0, `${label}: whole instructions`);
    let checked = 0;
    const wrong: string[] = [];
    for (const type of ['b', 'c'] as const)
      for (const major of majors)
        for (const minor of minors)
          for (let access = 1; access < 8; access++) {
            const got = run(prog, { type: TYPE[type], access, major, minor });
            const want = v1Answer(state, type, access, major, minor);
            checked++;
            if (got !== want) wrong.push(`${type} ${major}:${minor} access ${access}: ${got}, v1 says ${want}`);
          }
    t.same(wrong.slice(0, 5), [], `${label}: ${checked} accesses agree`);
  }
});

t.test('spot checks of the default spec\'s program', async (t) => {
  const prog = deviceProgram(cases[0]![1]);
  const ask = (type: 'b' | 'c', major: number, minor: number, access: number): number => run(prog, { type: TYPE[type], access, major, minor });
  t.equal(ask('c', 1, 3, ACC.r | ACC.w), 1, '/dev/null read-write');
  t.equal(ask('c', 136, 7, ACC.r), 1, 'a pts');
  t.equal(ask('c', 10, 229, ACC.r), 0, '/dev/fuse is not among them');
  t.equal(ask('b', 8, 0, ACC.r), 0, 'a disk cannot be read');
  t.equal(ask('b', 8, 0, ACC.m), 1, 'but any node can be made');
});

t.test('golden: deny all but /dev/null', async (t) => {
  const prog = deviceProgram({ defaultAllow: false, exceptions: [rule(true, 'c', 1, 3)] });
  t.equal(
    prog.toString('hex'),
    [
      '6112000000000000', // r2 = ctx->access_type
      '54020000ffff0000', // w2 &= 0xffff (type)
      '6113000000000000', // r3 = ctx->access_type
      '7403000010000000', // w3 >>= 16 (access)
      '6114040000000000', // r4 = ctx->major
      '6115080000000000', // r5 = ctx->minor
      '5602070002000000', // if w2 != char goto next
      '5604060001000000', // if w4 != 1 goto next
      '5605050003000000', // if w5 != 3 goto next
      'bf31000000000000', // r1 = r3
      '54010000f8ff0000', // w1 &= ~rwm
      '5601020000000000', // if w1 != 0 goto next
      'b400000001000000', // w0 = 1
      '9500000000000000', // exit
      'b400000000000000', // next: w0 = 0 (the default)
      '9500000000000000', // exit
    ].join(''),
  );
});

t.test('the v2 driver hands the device state over on create and on an update that has devices', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-v2dev-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cgroup.procs'), '');
  writeFileSync(join(dir, 'pids.max'), 'max');
  const seen: DeviceState[] = [];
  const cg = new V2Cgroup({ '': dir }, (d, s) => {
    t.equal(d, dir);
    seen.push(s);
  });
  cg.setResources({});
  t.equal(seen.length, 1, 'create without rules: a program all the same');
  t.equal(seen[0]!.defaultAllow, false, 'create without rules: deny by default (as runc)');
  t.same(seen[0]!.exceptions.map((e) => `${e.type} ${e.major}:${e.minor} ${e.access}`).sort(), applyDeviceRules(containerDeviceRules([])).exceptions.map((e) => `${e.type} ${e.major}:${e.minor} ${e.access}`).sort(), 'only runc\'s default nodes');
  t.notOk(seen[0]!.exceptions.some((e) => e.type === 'b' && e.access.includes('r')), 'no block device readable');
  cg.setResources({ devices: defaultSpec().linux!.resources!.devices! });
  t.equal(seen.length, 2, 'create with the default spec\'s rules: a program');
  t.equal(seen[1]!.defaultAllow, false, 'deny by default');
  t.ok(seen[1]!.exceptions.some((e) => e.type === 'c' && e.major === 1 && e.minor === 3), 'runc\'s /dev/null among the exceptions');
  cg.setResources({ pids: { limit: 5 } }, { update: true });
  t.equal(seen.length, 2, 'an update without devices leaves the program');
  cg.setResources({ devices: [rule(true, 'a', -1, -1)] }, { update: true });
  t.same(seen[2], { defaultAllow: true, exceptions: [] }, 'an update that allows everything replaces it');
  const before = seen.length;
  cg.setResources({ devices: [rule(true, 'a', -1, -1)] });
  t.equal(seen.length, before, 'create with an explicit allow-all: nothing restricted, no program');
});
