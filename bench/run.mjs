#!/usr/bin/env node
// npm run bench [-- --runs N --only NAME --hako PATH]
// Side-by-side start-up comparisons: whole processes, A and B alternating in each pair,
// medians of each side and the median of the per-pair ratios (the machine is shared and noisy).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const opts = parseOptions(process.argv.slice(2));
const hako = opts.hako ?? join(root, 'dist', 'hako');
const runc = opts.runc ?? '/usr/bin/runc';
const node24 = join(dirname(require.resolve(`node-linux-${process.arch}/package.json`)), 'bin', 'node');
const stateRoot = mkdtempSync(join(tmpdir(), 'hako-bench-'));

function parseOptions(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(runs|only|hako|runc)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unknown option ${argv[i]}`);
    o[m[1]] = m[2] ?? argv[++i];
  }
  return o;
}

function timeOnce([cmd, ...args], expectStatus) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  if (expectStatus !== undefined && r.status !== expectStatus) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function compare(name, a, b, runs) {
  for (let i = 0; i < 3; i++) {
    timeOnce(a.argv, a.status);
    timeOnce(b.argv, b.status);
  }
  const ta = [];
  const tb = [];
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    let xa, xb;
    if (i % 2 === 0) {
      xa = timeOnce(a.argv, a.status);
      xb = timeOnce(b.argv, b.status);
    } else {
      xb = timeOnce(b.argv, b.status);
      xa = timeOnce(a.argv, a.status);
    }
    ta.push(xa);
    tb.push(xb);
    ratios.push(xa / xb);
  }
  const row = { name, a: a.label, b: b.label, runs, aMs: median(ta), bMs: median(tb), ratio: median(ratios) };
  console.log(
    `${name.padEnd(26)} ${a.label.padEnd(26)} ${row.aMs.toFixed(2).padStart(7)} ms   ${b.label.padEnd(24)} ${row.bMs
      .toFixed(2)
      .padStart(7)} ms   ratio ${row.ratio.toFixed(3)}`,
  );
  return row;
}

const runs = Number(opts.runs ?? 40);
const cases = [
  {
    name: 'state-missing-vs-node',
    a: { label: 'hako state <missing>', argv: [hako, '--root', stateRoot, 'state', 'missing'], status: 1 },
    b: { label: 'node24 -e 0', argv: [node24, '-e', '0'], status: 0 },
  },
  {
    name: 'state-missing-vs-runc',
    a: { label: 'hako state <missing>', argv: [hako, '--root', stateRoot, 'state', 'missing'], status: 1 },
    b: { label: 'runc state <missing>', argv: [runc, '--root', stateRoot, 'state', 'missing'], status: 1 },
  },
  {
    name: 'version-vs-runc',
    a: { label: 'hako --version', argv: [hako, '--version'], status: 0 },
    b: { label: 'runc --version', argv: [runc, '--version'], status: 0 },
  },
  {
    name: 'features-vs-runc',
    a: { label: 'hako features', argv: [hako, 'features'], status: 0 },
    b: { label: 'runc features', argv: [runc, 'features'], status: 0 },
  },
];

if (!existsSync(hako)) throw new Error(`${hako} is missing: npm run build`);
console.log(`hako: ${hako}\nrunc: ${runc}\nnode: ${node24}\nruns: ${runs} alternating pairs; times are medians, ratio is the median of per-pair ratios\n`);
try {
  for (const c of cases) {
    if (opts.only && !c.name.includes(opts.only)) continue;
    if (c.b.argv[0] === runc && !existsSync(runc)) {
      console.log(`${c.name}: skipped (no runc at ${runc})`);
      continue;
    }
    compare(c.name, c.a, c.b, runs);
  }
} finally {
  rmSync(stateRoot, { recursive: true, force: true });
}
