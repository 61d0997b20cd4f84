// The systemd cgroup driver's cost, side by side (whole processes, A and B alternating in
// each pair, medians and the median of the per-pair ratios; the machine is shared and noisy):
//   1. on this host, `create` without --systemd-cgroup: this build against a base build
//      (--base PATH, e.g. main's dist/hako): the driver must not slow it down;
//   2. in a private systemd (test/helpers/private-systemd.ts, hybrid), `--systemd-cgroup
//      create` and `delete`: hako against runc 1.1.5, and hako against itself without the
//      driver (what the scope costs).
// Run as root:
//   node --import=./node_modules/@tapjs/typescript/dist/esm/import.mjs bench/systemd.ts [--runs N] [--base PATH]
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { bootPrivateSystemd, type PrivateSystemd } from '../test/helpers/private-systemd.js';
import { makeBundle } from '../test/helpers/rootfs.js';
import { REPO_ROOT } from '../test/helpers/paths.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt('runs') ?? 20);
const HAKO = path.join(REPO_ROOT, 'dist', 'hako');
const BASE = opt('base');
const base = `/var/lib/hako-bench-systemd-${process.pid}`;
mkdirSync(base, { recursive: true });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// stderr on a file: a created container keeps the runtime's stdio open.
function run(argv: string[]): number {
  const file = path.join(base, 'stderr');
  const fd = openSync(file, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', fd] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(fd);
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${readFileSync(file, 'utf8')}`);
  return ms;
}
const timed = run;
const must = (argv: string[]): void => void run(argv);

interface Side {
  name: string;
  create: (id: string) => string[];
  remove: (id: string) => string[];
  /** between create and remove, not timed (a container that exits: systemd lets its unit go) */
  settle?: () => void;
}

function compare(title: string, a: Side, b: Side): void {
  const ca: number[] = [];
  const cb: number[] = [];
  const da: number[] = [];
  const db: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const order = i % 2 ? [b, a] : [a, b];
    const times = new Map<Side, [number, number]>();
    for (const side of order) {
      const id = `bench-${i}`;
      const c = timed(side.create(id));
      side.settle?.();
      const d = timed(side.remove(id));
      times.set(side, [c, d]);
    }
    if (i < 2) continue; // warm-up
    ca.push(times.get(a)![0]);
    cb.push(times.get(b)![0]);
    da.push(times.get(a)![1]);
    db.push(times.get(b)![1]);
  }
  const ratio = (x: number[], y: number[]): string => median(x.map((v, i) => v / y[i]!)).toFixed(2);
  console.log(`\n${title} (${RUNS} pairs, ms, medians)`);
  console.log(`  create: ${a.name} ${median(ca).toFixed(1)}  ${b.name} ${median(cb).toFixed(1)}  ratio ${a.name}/${b.name} ${ratio(ca, cb)}`);
  console.log(`  delete: ${a.name} ${median(da).toFixed(1)}  ${b.name} ${median(db).toFixed(1)}  ratio ${a.name}/${b.name} ${ratio(da, db)}`);
}

const teardown: (() => Promise<void> | void)[] = [() => rmSync(base, { recursive: true, force: true })];
try {
  const t = { teardown: (fn: () => unknown) => teardown.unshift(() => void fn()) };
  const bundle = await makeBundle(t, { parent: base, args: ['sleep', '1000'], edit: (s) => delete s.linux!.cgroupsPath });
  const state = (label: string): string => mkdtempSync(path.join(base, `${label}-`));

  if (BASE) {
    const rNew = state('new');
    const rBase = state('base');
    compare(
      'this host, create without --systemd-cgroup: this build against the base',
      { name: 'new', create: (id) => [HAKO, '--root', rNew, 'create', '-b', bundle.dir, id], remove: (id) => [HAKO, '--root', rNew, 'delete', '-f', id] },
      { name: 'base', create: (id) => [BASE, '--root', rBase, 'create', '-b', bundle.dir, id], remove: (id) => [BASE, '--root', rBase, 'delete', '-f', id] },
    );
  }

  const sd: PrivateSystemd = await bootPrivateSystemd('hybrid');
  teardown.unshift(() => sd.stop());
  const inWorld = (argv: string[]): string[] => sd.argv(argv[0]!, argv.slice(1));
  const side = (name: string, bin: string, systemd: boolean): Side => {
    const root = state(name);
    const flag = systemd ? ['--systemd-cgroup'] : [];
    return {
      name,
      create: (id) => inWorld([bin, '--root', root, ...flag, 'create', '-b', bundle.dir, id]),
      remove: (id) => inWorld([bin, '--root', root, ...flag, 'delete', '-f', id]),
    };
  };
  must(inWorld(['systemctl', 'start', 'dbus.socket']));
  compare('private systemd, --systemd-cgroup: hako against runc', side('hako', HAKO, true), side('runc', 'runc', true));
  compare('private systemd: hako with the systemd driver against hako with cgroupfs', side('hako-systemd', HAKO, true), side('hako-cgroupfs', HAKO, false));
  // The manager's usual delete: of a container that has exited (the front alone once the unit is gone).
  const exited = await makeBundle(t, { parent: base, args: ['true'], edit: (s) => delete s.linux!.cgroupsPath });
  const settle = (): void => void spawnSync('sleep', ['0.3']);
  const exitedSide = (name: string, bin: string, systemd: boolean): Side => {
    const root = state(name);
    const flag = systemd ? ['--systemd-cgroup'] : [];
    return {
      name,
      create: (id) => inWorld([bin, '--root', root, ...flag, 'run', '-d', '-b', exited.dir, id]),
      remove: (id) => inWorld([bin, '--root', root, 'delete', id]),
      settle,
    };
  };
  compare(
    'private systemd, run -d of `true`, then delete once it exited: hako against runc',
    exitedSide('hako', HAKO, true),
    exitedSide('runc', 'runc', true),
  );
  compare(
    'private systemd, the same: hako with the systemd driver against hako with cgroupfs',
    exitedSide('hako-systemd', HAKO, true),
    exitedSide('hako-cgroupfs', HAKO, false),
  );
} finally {
  for (const fn of teardown) await fn();
}
