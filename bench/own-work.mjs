#!/usr/bin/env node
// node bench/own-work.mjs [--rounds N] [--only CASE] NAME=PATH... [--bare NAME=CMD...]
// Whole processes of several runtimes (runc's command line: hako builds, runc) and bare
// engine start-ups (e.g. --bare 'node=node -e 0' --bare 'bun=bun -e 0'), one run of each
// per round in an order rotated round by round; prints the median wall time of each.
// A runtime's own work is its time minus its engine's bare start (three for
// create+start+delete). As root: the cases run containers from a busybox bundle.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runtimes = {};
const bare = {};
let rounds = 30;
let only;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--rounds') rounds = Number(argv[++i]);
  else if (argv[i] === '--only') only = argv[++i];
  else if (argv[i] === '--bare') {
    const [name, cmd] = split(argv[++i]);
    bare[name] = cmd.split(' ');
  } else {
    const [name, path] = split(argv[i]);
    runtimes[name] = path;
  }
}
function split(s) {
  const k = s.indexOf('=');
  if (k <= 0) throw new Error(`expected NAME=VALUE, got ${s}`);
  return [s.slice(0, k), s.slice(k + 1)];
}

const root = mkdtempSync(join(tmpdir(), 'hako-own-work-'));
function bundle(args) {
  const dir = mkdtempSync(join(tmpdir(), 'hako-own-work-bundle-'));
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['true', 'sh', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
  spawnSync(Object.values(runtimes)[0], ['spec', '--bundle', dir]);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = args;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}
const trueBundle = bundle(['true']);
const sleepBundle = bundle(['sleep', '1000000']);

let seq = 0;
function time(cmd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const rt = (path, ...args) => [path, '--root', root, ...args];
for (const [name, path] of Object.entries(runtimes)) {
  time(rt(path, 'create', '--bundle', sleepBundle, `x-${name}`));
  time(rt(path, 'start', `x-${name}`));
}
const cases = {
  'run-true': (name, path) => time(rt(path, 'run', '--bundle', trueBundle, `r${seq++}`)),
  'exec-true': (name, path) => time(rt(path, 'exec', `x-${name}`, 'true')),
  'exec-d-true': (name, path) => time(rt(path, 'exec', '-d', `x-${name}`, 'true')),
  'create-start-delete': (name, path) => {
    const id = `c${seq++}`;
    return time(rt(path, 'create', '--bundle', trueBundle, id)) + time(rt(path, 'start', id)) + time(rt(path, 'delete', '-f', id));
  },
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
try {
  for (const [c, run] of Object.entries(cases)) {
    if (only && !c.includes(only)) continue;
    const sides = [...Object.keys(bare).map((n) => [n, () => time(bare[n])]), ...Object.entries(runtimes).map(([n, p]) => [n, () => run(n, p)])];
    const times = Object.fromEntries(sides.map(([n]) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < sides.length; i++) {
        const [n, f] = sides[(i + r) % sides.length];
        times[n].push(f());
      }
    }
    console.log(`${c.padEnd(20)} ${sides.map(([n]) => `${n} ${median(times[n]).toFixed(1)}`).join('   ')}`);
  }
} finally {
  for (const [name, path] of Object.entries(runtimes)) spawnSync(path, ['--root', root, 'delete', '-f', `x-${name}`], { stdio: 'ignore' });
  rmSync(root, { recursive: true, force: true });
  rmSync(trueBundle, { recursive: true, force: true });
  rmSync(sleepBundle, { recursive: true, force: true });
}
