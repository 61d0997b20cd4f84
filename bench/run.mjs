#!/usr/bin/env node
// npm run bench [-- --runs N --only NAME --hako PATH --gap MS]
// Side-by-side start-up comparisons: whole processes, A and B alternating in each pair,
// medians of each side and the median of the per-pair ratios (the machine is shared and noisy).
// --gap MS: an idle pause before each timed run (see README.md, "Back to back or apart").
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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
// The engine dist/hako ships on (see scripts/build.mjs), bare, beside Node's bare start.
const bun = join(dirname(require.resolve(`@oven/bun-linux-${process.arch === 'arm64' ? 'aarch64' : 'x64'}/package.json`)), 'bin', 'bun');
const stateRoot = mkdtempSync(join(tmpdir(), 'hako-bench-'));

function parseOptions(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(runs|only|hako|runc|gap)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unknown option ${argv[i]}`);
    o[m[1]] = m[2] ?? argv[++i];
  }
  return o;
}

const gapMs = Number(opts.gap ?? 0);
const idle = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// A side is { argv: [...] | () => [...], status } (one process) or { run: () => void } (several).
function timeOnce(side) {
  if (gapMs > 0) idle(gapMs);
  const t0 = process.hrtime.bigint();
  if (side.run) {
    side.run();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const [cmd, ...args] = typeof side.argv === 'function' ? side.argv() : side.argv;
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  if (side.status !== undefined && r.status !== side.status) {
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
    timeOnce(a);
    timeOnce(b);
  }
  const ta = [];
  const tb = [];
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    let xa, xb;
    if (i % 2 === 0) {
      xa = timeOnce(a);
      xb = timeOnce(b);
    } else {
      xb = timeOnce(b);
      xa = timeOnce(a);
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
    name: 'engine-bun-vs-node',
    a: { label: 'bun -e 0', argv: [bun, '-e', '0'], status: 0 },
    b: { label: 'node24 -e 0', argv: [node24, '-e', '0'], status: 0 },
  },
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
    name: 'handover-features',
    a: { label: 'hako features', argv: [hako, 'features'], status: 0 },
    b: { label: 'hako-brain features', argv: [join(dirname(hako), 'libexec', 'hako', 'hako-brain'), 'features'], status: 0 },
  },
  {
    name: 'features-vs-runc',
    a: { label: 'hako features', argv: [hako, 'features'], status: 0 },
    b: { label: 'runc features', argv: [runc, 'features'], status: 0 },
  },
];

/** A bundle for the container cases: busybox-static, `true`, hako spec's config with terminal off. */
function trivialBundle() {
  const dir = mkdtempSync(join(tmpdir(), 'hako-bench-bundle-'));
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['true', 'sh', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
  spawnSync(hako, ['spec', '--bundle', dir]);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['true'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

let seq = 0;
function lifecycle(runtime, root, bundle) {
  return () => {
    const id = `b${process.pid}-${seq++}`;
    // The container inherits the runtime's stdio: a pipe here would stay open after create.
    const run = (args) => {
      const r = spawnSync(runtime, ['--root', root, ...args], { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${runtime} ${args.join(' ')} exited ${r.status}`);
    };
    run(['create', '--bundle', bundle, id]);
    run(['start', id]);
    run(['delete', '-f', id]);
  };
}

// A running container (its init sleeps) for the exec case; deleted with the others at the end.
const running = [];
const cleanups = [];
function runningContainer(runtime, root, bundle) {
  const id = `x${process.pid}-${seq++}`;
  for (const args of [['create', '--bundle', bundle, id], ['start', id]]) {
    const r = spawnSync(runtime, ['--root', root, ...args], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${runtime} ${args.join(' ')} exited ${r.status}`);
  }
  running.push(() => spawnSync(runtime, ['--root', root, 'delete', '-f', id], { stdio: 'ignore' }));
  return id;
}

function sleepingBundle() {
  const dir = trivialBundle();
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.process.args = ['sleep', '1000000'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

// Private memory (RssAnon) of a created container's init while it waits on the exec fifo.
function createdInitMemory(runtime, root, bundle) {
  const id = `m${process.pid}-${seq++}`;
  const pidFile = join(root, `${id}.pid`);
  spawnSync(runtime, ['--root', root, 'create', '--bundle', bundle, '--pid-file', pidFile, id], { stdio: 'ignore' });
  try {
    const pid = readFileSync(pidFile, 'utf8').trim();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { kib: Number(/RssAnon:\s+(\d+)/.exec(status)[1]), comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() };
  } finally {
    spawnSync(runtime, ['--root', root, 'delete', '-f', id], { stdio: 'ignore' });
  }
}

// Docker's default seccomp profile (from the shared fixtures) on the trivial bundle.
function dockerSeccompBundle() {
  const fixtures = [process.env.HAKO_FIXTURES_DIR, join(root, '..', 'shared', 'fixtures', 'configs'), '/work/shared/fixtures/configs'].find(
    (d) => d && existsSync(join(d, 'docker-plain-1.json')),
  );
  if (!fixtures) return undefined;
  const dir = trivialBundle();
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.linux.seccomp = JSON.parse(readFileSync(join(fixtures, 'docker-plain-1.json'), 'utf8')).linux.seccomp;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** hako's compiled seccomp programs under the state root, removed: the next create compiles again. */
function dropSeccompCache(root) {
  for (const f of readdirSync(root)) if (f.startsWith('.seccomp-')) rmSync(join(root, f), { force: true });
}

function runOnce(runtime, root, bundle, before) {
  return () => {
    before?.();
    const r = spawnSync(runtime, ['--root', root, 'run', '--bundle', bundle, `s${seq++}`], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${runtime} run exited ${r.status}`);
  };
}

if (!existsSync(hako)) throw new Error(`${hako} is missing: npm run build`);
const hakoVersion = spawnSync(hako, ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n');
console.log(`hako: ${hako} (${hakoVersion[1]}, ${hakoVersion[3]})\nrunc: ${runc}\nnode: ${node24}\nbun: ${bun}\nruns: ${runs} alternating pairs${gapMs > 0 ? `, ${gapMs} ms idle before each run` : ', back to back'}; times are medians, ratio is the median of per-pair ratios\n`);
const asRoot = process.getuid() === 0;
const bundle = asRoot ? trivialBundle() : undefined;
// The verbs on a running container (the front's): state, kill 0, pause+resume, ps, list, exec.
const VERB_CASES = ['exec-true-vs-runc', 'state-running-vs-runc', 'kill0-vs-runc', 'pause-resume-vs-runc', 'ps-json-vs-runc', 'list-vs-runc', 'list-json-vs-runc'];
const execBundle = asRoot && (!opts.only || VERB_CASES.some((n) => n.includes(opts.only))) ? sleepingBundle() : undefined;
if (asRoot) {
  if (execBundle) {
    // Each runtime under a root of its own, so that list sees only its own one container.
    const hRoot = join(stateRoot, 'hako');
    const rRoot = join(stateRoot, 'runc');
    const h = runningContainer(hako, hRoot, execBundle);
    const r = existsSync(runc) ? runningContainer(runc, rRoot, execBundle) : 'none';
    const rootOf = (rt) => (rt === hako ? hRoot : rRoot);
    const both = (name, label, argsOf, status = 0) => ({
      name,
      a: { label: `hako ${label}`, argv: [hako, '--root', hRoot, ...argsOf(h)], status },
      b: { label: `runc ${label}`, argv: [runc, '--root', rRoot, ...argsOf(r)], status },
    });
    const pauseResume = (rt, id) => ({
      run: () => {
        for (const verb of ['pause', 'resume']) {
          const x = spawnSync(rt, ['--root', rootOf(rt), verb, id], { stdio: 'ignore' });
          if (x.status !== 0) throw new Error(`${rt} ${verb} exited ${x.status}`);
        }
      },
    });
    cases.push(
      both('exec-true-vs-runc', 'exec (true)', (id) => ['exec', id, 'true']),
      both('state-running-vs-runc', 'state <running>', (id) => ['state', id]),
      both('kill0-vs-runc', 'kill <running> 0', (id) => ['kill', id, '0']),
      { name: 'pause-resume-vs-runc', a: { label: 'hako pause+resume', ...pauseResume(hako, h) }, b: { label: 'runc pause+resume', ...pauseResume(runc, r) } },
      both('ps-json-vs-runc', 'ps -f json', (id) => ['ps', '-f', 'json', id]),
      both('list-vs-runc', 'list (1 container)', () => ['list']),
      both('list-json-vs-runc', 'list -f json', () => ['list', '-f', 'json']),
    );
  }
  const wanted = (name) => !opts.only || name.includes(opts.only);
  const seccompBundle = ['run-docker-seccomp-warm-vs-runc', 'run-docker-seccomp-cold-vs-runc'].some(wanted) ? dockerSeccompBundle() : undefined;
  if (seccompBundle) {
    cleanups.push(() => rmSync(seccompBundle, { recursive: true, force: true }));
    cases.push(
      {
        name: 'run-docker-seccomp-warm-vs-runc',
        a: { label: 'hako run (true), Docker profile, cache warm', run: runOnce(hako, stateRoot, seccompBundle) },
        b: { label: 'runc run (true), Docker profile', run: runOnce(runc, stateRoot, seccompBundle) },
      },
      {
        name: 'run-docker-seccomp-cold-vs-runc',
        a: { label: 'hako run (true), Docker profile, cache removed', run: runOnce(hako, stateRoot, seccompBundle, () => dropSeccompCache(stateRoot)) },
        b: { label: 'runc run (true), Docker profile', run: runOnce(runc, stateRoot, seccompBundle) },
      },
    );
  }
  cases.push(
    {
      name: 'run-true-vs-runc',
      a: { label: 'hako run (true)', argv: () => [hako, '--root', stateRoot, 'run', '--bundle', bundle, `r${seq++}`], status: 0 },
      b: { label: 'runc run (true)', argv: () => [runc, '--root', stateRoot, 'run', '--bundle', bundle, `r${seq++}`], status: 0 },
    },
    {
      name: 'create-start-delete-vs-runc',
      a: { label: 'hako create+start+delete', run: lifecycle(hako, stateRoot, bundle) },
      b: { label: 'runc create+start+delete', run: lifecycle(runc, stateRoot, bundle) },
    },
  );
}
try {
  for (const c of cases) {
    if (opts.only && !c.name.includes(opts.only)) continue;
    if (c.b.label.startsWith('runc') && !existsSync(runc)) {
      console.log(`${c.name}: skipped (no runc at ${runc})`);
      continue;
    }
    compare(c.name, c.a, c.b, runs);
  }
  if (!opts.only || 'rss'.includes(opts.only)) {
    const rss = (argv) => {
      // GNU time's %M (the child's ru_maxrss): its own pre-exec copy is smaller (about
      // 1 MiB, /bin/true reads 1080 KiB) than what is measured.
      const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8' });
      return Number(r.stderr.trim().split('\n').pop());
    };
    if (existsSync('/usr/bin/time')) {
      const h = median(Array.from({ length: 9 }, () => rss([hako, '--root', stateRoot, 'state', 'missing'])));
      const r = existsSync(runc) ? median(Array.from({ length: 9 }, () => rss([runc, '--root', stateRoot, 'state', 'missing']))) : undefined;
      console.log(`state-peak-rss             hako ${h} KiB${r !== undefined ? `   runc ${r} KiB` : ''} (state <missing>, /usr/bin/time %M)`);
    }
    console.log(`front-size                 ${(statSync(hako).size / 1024).toFixed(0)} KiB (${hako})`);
  }
  if (asRoot && (!opts.only || 'memory'.includes(opts.only))) {
    const h = createdInitMemory(hako, stateRoot, bundle);
    const r = existsSync(runc) ? createdInitMemory(runc, stateRoot, bundle) : undefined;
    console.log(`created-init-memory        hako (${h.comm}) RssAnon ${h.kib} KiB${r ? `   runc (${r.comm}) RssAnon ${r.kib} KiB` : ''}`);
  }
} finally {
  for (const stop of running) stop();
  for (const clean of cleanups) clean();
  if (execBundle) rmSync(execBundle, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
  if (bundle) rmSync(bundle, { recursive: true, force: true });
}
