// What the input limits (src/input-limits.ts) cost on create's path: reading and parsing
// each config of ../shared/fixtures/configs (or the files given) as before (readFileSync
// + JSON.parse) and as now (readInputFile: stat, open, fstat, bounded read; then the
// depth scan and JSON.parse), and the depth scan alone. Medians of --runs (2000) calls,
// in microseconds, after a warm-up, the two ways alternating.
//   node bench/input-limits.mjs [--runs N] [config.json ...]
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let runs = 2000;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else files.push(args[i]);
}
if (files.length === 0) {
  const dir = join(repo, '..', '..', 'shared', 'fixtures', 'configs');
  const shared = [dir, '/work/shared/fixtures/configs'].find((d) => {
    try {
      return readdirSync(d).length > 0;
    } catch {
      return false;
    }
  });
  for (const f of readdirSync(shared).filter((f) => f.endsWith('.json')).sort()) files.push(join(shared, f));
}

// The module under test, bundled on the fly (it imports ./errors.js).
const tmp = mkdtempSync(join(tmpdir(), 'hako-bench-limits-'));
const out = join(tmp, 'input-limits.mjs');
await esbuild.build({ entryPoints: [join(repo, 'src', 'input-limits.ts')], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'error' });
const { readInputFile, parseJsonInput, excessDepthAt } = await import(pathToFileURL(out).href);
rmSync(tmp, { recursive: true, force: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const time = (fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1000;
};

console.log(`${runs} runs each; microseconds, medians`);
console.log(['config', 'bytes', 'before', 'now', 'now-before', 'depth scan'].join('\t'));
for (const file of files) {
  const before = () => JSON.parse(readFileSync(file, 'utf8'));
  const now = () => parseJsonInput(readInputFile(file, 'config.json'), 'config.json', file);
  const text = readFileSync(file, 'utf8');
  const scan = () => excessDepthAt(text);
  for (let i = 0; i < 200; i++) {
    before();
    now();
    scan();
  }
  const a = [];
  const b = [];
  const c = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2) {
      a.push(time(before));
      b.push(time(now));
    } else {
      b.push(time(now));
      a.push(time(before));
    }
    c.push(time(scan));
  }
  const ma = median(a);
  const mb = median(b);
  console.log([basename(file), Buffer.byteLength(text), ma.toFixed(1), mb.toFixed(1), (mb - ma).toFixed(1), median(c).toFixed(1)].join('\t'));
}
