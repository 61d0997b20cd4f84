#!/usr/bin/env node
// npm run build:gyp: builds the addon with node-gyp from binding.gyp (for environments that
// use it), in a scratch directory so it cannot clobber cmake-js's build/, then loads it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const scratch = mkdtempSync(join(tmpdir(), 'hako-gyp-'));
try {
  cpSync(join(root, 'binding.gyp'), join(scratch, 'binding.gyp'));
  cpSync(join(root, 'cpp'), join(scratch, 'cpp'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
  const gyp = require.resolve('node-gyp/bin/node-gyp.js');
  execFileSync(process.execPath, [gyp, 'rebuild'], { cwd: scratch, stdio: ['ignore', 'ignore', 'inherit'] });
  const out = join(root, 'build', 'gyp');
  mkdirSync(out, { recursive: true });
  copyFileSync(join(scratch, 'build', 'Release', 'hako.node'), join(out, 'hako.node'));
  const mod = { exports: {} };
  process.dlopen(mod, join(out, 'hako.node'));
  if (typeof mod.exports.flock !== 'function') throw new Error('node-gyp addon lacks flock');
  console.log(`build:gyp: build/gyp/hako.node loads (version ${mod.exports.version})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
