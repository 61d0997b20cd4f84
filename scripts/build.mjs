#!/usr/bin/env node
// npm run build: validators, native code, the JavaScript bundle (esbuild, CommonJS), and
// the two executables, side by side under DIST (default dist/):
//   DIST/hako                        the front (static C++, cpp/front): the hot verbs itself,
//                                    everything else handed to the brain with execve;
//   DIST/libexec/hako/hako-brain     the brain: the bundle, the addon and hako-init in one
//                                    executable;
//   DIST/libexec/hako/hako-<hash>.node,  the addon and hako-init again, as files beside the
//   DIST/libexec/hako/hako-init-<hash>   brain, named by a hash of their content: what it
//                                    loads and copies from (cheaper than from its embedded
//                                    copies, which serve a brain installed alone).
// The front finds the brain at <its dir>/../libexec/hako/hako-brain, <its dir>/libexec/hako/
// hako-brain, or the libexec path CMake's HAKO_BRAIN_FALLBACK names.
//   node scripts/build.mjs                the brain a Bun single-file executable (bun build
//                                         --compile --bytecode; Bun from @oven/bun-linux-<arch>)
//   node scripts/build.mjs --engine=node  the fallback: the brain a Node 24 single-executable
//                                         application (node-linux-<arch>) with its code cache
//   node scripts/build.mjs --js           validators + bundle only (quick iteration with bin/hako)
//   node scripts/build.mjs --engine=node --no-strip  keep the symbols of the embedded node binary
//   node scripts/build.mjs --dist=DIR     both executables under DIR instead of dist/ (CI builds
//                                         the Node fallback so, beside the shipped build)
// The Bun executable is never stripped: its program lives in a section strip drops.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));
const engineArg = process.argv.slice(2).find((a) => a.startsWith('--engine='));
const ENGINE = engineArg ? engineArg.slice('--engine='.length) : 'bun';
if (ENGINE !== 'bun' && ENGINE !== 'node') throw new Error(`--engine: bun or node, not ${ENGINE}`);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const release = join(root, 'build', 'Release');
const dist = join(root, 'dist');
const distArg = process.argv.slice(2).find((a) => a.startsWith('--dist='));
const DIST = distArg ? resolve(distArg.slice('--dist='.length)) : dist;
/** Where the brain is written (the front looks for it there, relative to itself). */
const BRAIN_OUT = join(DIST, 'libexec', 'hako', 'hako-brain');
/** The front. */
const FRONT = join(DIST, 'hako');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function run(cmd, argv, opts = {}) {
  execFileSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
}

function step(name, fn) {
  const t0 = performance.now();
  fn();
  console.log(`build: ${name} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function node24() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  const candidates = [];
  if (arch) {
    try {
      candidates.push(join(dirname(require.resolve(`node-linux-${arch}/package.json`)), 'bin', 'node'));
    } catch {}
  }
  if (process.versions.node.split('.')[0] === '24') candidates.push(process.execPath);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Node 24 binary: install the optional dependency node-linux-${process.arch} (npm ci)`);
  return found;
}

// Bun from the optional dependency @oven/bun-linux-<arch> (npm ci installs the one for this machine).
function bunBinary() {
  const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch];
  const candidates = [];
  if (arch) {
    try {
      candidates.push(join(dirname(require.resolve(`@oven/bun-linux-${arch}/package.json`)), 'bin', 'bun'));
    } catch {}
  }
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Bun binary: install the optional dependency @oven/bun-linux-${arch ?? process.arch} (npm ci)`);
  return found;
}

// The names the addon and hako-init get beside the brain carry a hash of their content,
// which the bundle is built with: a brain finds only the files built with it, never a
// stale pair left by another build or an upgrade that replaced the brain alone (it then
// uses its embedded copies).
function besideName(file, stem, ext) {
  const path = join(release, file);
  if (!existsSync(path)) return file;
  return `${stem}-${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}${ext}`;
}
const BESIDE = () => ({ 'hako.node': besideName('hako.node', 'hako', '.node'), 'hako-init': besideName('hako-init', 'hako-init', '') });

async function bundle() {
  const beside = BESIDE();
  const esbuild = await import('esbuild');
  mkdirSync(dist, { recursive: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['src/entry.ts'],
    outfile: join(dist, 'hako.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    define: {
      'import.meta.url': '__import_meta.url',
      HAKO_VERSION: JSON.stringify(pkg.version),
      HAKO_COMMIT: JSON.stringify(gitCommit()),
      HAKO_ADDON_FILE: JSON.stringify(beside['hako.node']),
      HAKO_INIT_FILE: JSON.stringify(beside['hako-init']),
    },
    // Computed only where it is read (a development fallback): node:url costs every call
    // of the brain 0.2-0.3 ms to load.
    banner: { js: "const __import_meta={get url(){return require('url').pathToFileURL(__filename).href}};" },
    logLevel: 'warning',
  });
}

function singleExecutable() {
  const node = node24();
  const blob = join(root, 'build', 'sea.blob');
  const config = join(root, 'build', 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      main: join(dist, 'hako.cjs'),
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      useSnapshot: false,
      assets: { 'hako.node': join(release, 'hako.node'), 'hako-init': join(release, 'hako-init') },
    }),
  );
  run(node, ['--experimental-sea-config', config]);
  const tmp = `${BRAIN_OUT}.tmp`;
  mkdirSync(dirname(BRAIN_OUT), { recursive: true });
  rmSync(tmp, { force: true });
  copyFileSync(node, tmp);
  chmodSync(tmp, 0o755);
  // Symbols and debug info only: the dynamic symbol table stays, addons link against it.
  if (!args.has('--no-strip')) run('strip', ['--strip-debug', '--strip-unneeded', tmp]);
  // postject warns once per note section it cannot name ("Can't find string offset for
  // section name '.note…'"): harmless, so only other lines are shown.
  const res = spawnSync(process.execPath, [require.resolve('postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
    cwd: root,
    encoding: 'utf8',
  });
  const noise = /^(warning: Can't find string offset for section name '\.note[^']*'|Start injection of NODE_SEA_BLOB.*|💉.*)$/u;
  const plain = `${res.stdout}\n${res.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  const shown = plain.split('\n').filter((l) => l.trim() && !noise.test(l));
  if (shown.length) console.log(shown.join('\n'));
  if (res.status !== 0) throw new Error(`postject failed with status ${res.status}`);
  renameSync(tmp, BRAIN_OUT);
  console.log(`build: ${relative(root, BRAIN_OUT)} is ${(statSync(BRAIN_OUT).size / 1048576).toFixed(1)} MiB (Node)`);
}

// bun build --compile of the same CommonJS bundle, with bytecode; the addon and hako-init
// are embedded files (Bun.embeddedFiles, read by src/engine.ts), named as they are. Bun's
// executables read .env and bunfig.toml from the working directory by default (into the
// environment, and as Bun's own configuration): hako's caller picks that directory (a
// shim runs the runtime in the bundle), so neither is read, nor tsconfig/package.json.
// The JIT's tier-up thresholds scaled by 10 (--compile-jit-policy): a call of hako runs
// most of its code once, and JavaScriptCore's JIT thread compiled it anyway, 2.4 ms of CPU
// of a `run` of `true` (0.2 ms at 10); a long loop (a large seccomp profile) still tiers up.
const JIT_POLICY = 10;
function bunExecutable() {
  const bun = bunBinary();
  mkdirSync(dirname(BRAIN_OUT), { recursive: true });
  const tmp = `${BRAIN_OUT}.tmp`;
  rmSync(tmp, { force: true });
  const res = spawnSync(
    bun,
    [
      'build',
      '--compile',
      '--bytecode',
      '--format=cjs',
      '--no-compile-autoload-dotenv',
      '--no-compile-autoload-bunfig',
      '--no-compile-autoload-tsconfig',
      '--no-compile-autoload-package-json',
      `--compile-jit-policy=${JIT_POLICY}`,
      '--asset-naming=[name].[ext]',
      '--outfile',
      tmp,
      join(dist, 'hako.cjs'),
      join(release, 'hako.node'),
      join(release, 'hako-init'),
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (res.status !== 0) {
    process.stdout.write(res.stdout);
    process.stderr.write(res.stderr);
    throw new Error(`bun build --compile failed with status ${res.status}`);
  }
  renameSync(tmp, BRAIN_OUT);
  console.log(`build: ${relative(root, BRAIN_OUT)} is ${(statSync(BRAIN_OUT).size / 1048576).toFixed(1)} MiB (Bun ${execFileSync(bun, ['--version'], { encoding: 'utf8' }).trim()})`);
}

// The addon and hako-init beside the brain (src/native.ts loads them from there first),
// under the names the bundle was built with; those of earlier builds removed.
function besideBrain() {
  const dir = dirname(BRAIN_OUT);
  const beside = BESIDE();
  const keep = new Set(Object.values(beside));
  for (const f of readdirSync(dir)) {
    if (!keep.has(f) && /^(hako(-[0-9a-f]{16})?\.node|hako-init(-[0-9a-f]{16})?)$/.test(f)) rmSync(join(dir, f), { force: true });
  }
  for (const [name, as] of Object.entries(beside)) {
    const to = join(dir, as);
    const tmp = `${to}.tmp`;
    copyFileSync(join(release, name), tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, to);
  }
}

function front() {
  mkdirSync(DIST, { recursive: true });
  const tmp = `${FRONT}.tmp`;
  copyFileSync(join(release, 'hako-front'), tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, FRONT);
  console.log(`build: ${relative(root, FRONT)} (the front) is ${(statSync(FRONT).size / 1024).toFixed(0)} KiB`);
}

/** "bun: 1.4.5" or "node: v24.21.0": the brain's engine, as its --version names it. */
function engineLine() {
  if (ENGINE === 'bun') return `bun: ${execFileSync(bunBinary(), ['--version'], { encoding: 'utf8' }).trim()}`;
  return `node: ${execFileSync(node24(), ['--version'], { encoding: 'utf8' }).trim()}`;
}

step('validators', () => run(process.execPath, ['scripts/gen-validators.mjs']));
// cmake-js is chatty: its output is shown only when the build fails (compiler errors are on stdout).
function nativeBuild() {
  // The front's --version: a header rewritten only when it changes (cmake-js does not
  // configure again on every build, so a -D would keep the first value).
  const info = join(root, 'build', 'front-version.h');
  const text = `#define HAKO_VERSION ${JSON.stringify(pkg.version)}\n#define HAKO_COMMIT ${JSON.stringify(gitCommit())}\n#define HAKO_ENGINE ${JSON.stringify(engineLine())}\n`;
  mkdirSync(dirname(info), { recursive: true });
  if (!existsSync(info) || readFileSync(info, 'utf8') !== text) writeFileSync(info, text);
  const r = spawnSync(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'build', '--out', 'build'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    throw new Error(`cmake-js build failed with status ${r.status}`);
  }
}
if (!args.has('--js')) step('native (cmake-js)', nativeBuild);
const t0 = performance.now();
await bundle();
console.log(`build: bundle (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
if (!args.has('--js')) {
  if (ENGINE === 'node') step('single executable (Node)', singleExecutable);
  else step('single executable (Bun)', bunExecutable);
  step('addon and hako-init beside the brain', besideBrain);
  step('front', front);
}
