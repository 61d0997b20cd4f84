// What the build makes, beyond what the executable does: the bundle both engines compile,
// and an addon that needs no C++ runtime from the host.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileFunction } from 'node:vm';
import { REPO_ROOT } from '../helpers/paths.js';

const BUNDLE = join(REPO_ROOT, 'dist', 'hako.cjs');
const ADDON = join(REPO_ROOT, 'build', 'Release', 'hako.node');

t.test('the bundle is CommonJS with no import.meta left (yargs calls import.meta.resolve; Bun would keep it)', { skip: existsSync(BUNDLE) ? false : 'no dist/hako.cjs (npm run build)' }, async (t) => {
  const text = readFileSync(BUNDLE, 'utf8');
  t.notMatch(text, /\bimport\.meta\b/, 'no import.meta');
  t.doesNotThrow(() => compileFunction(text, ['exports', 'require', 'module', '__filename', '__dirname']), 'compiles as a CommonJS module body');
  t.notMatch(text, /require\(["']node:sea["']\)/, 'node:sea is not required at load (Bun has none)');
});

t.test('the addon links no libstdc++ or libgcc_s (Bun brings neither; a host may lack them)', { skip: existsSync(ADDON) ? false : 'addon not built' }, async (t) => {
  const r = spawnSync('readelf', ['-d', ADDON], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const needed = [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  t.ok(needed.length > 0, `NEEDED: ${needed.join(', ')}`);
  for (const lib of needed) t.match(lib, /^(libc|libm|ld-linux[^.]*)\.so/, `${lib} is part of glibc`);
});

t.test('the addon exports only its module entry points (the static C++ runtime and our templates stay inside)', { skip: existsSync(ADDON) ? false : 'addon not built' }, async (t) => {
  const r = spawnSync('readelf', ['--dyn-syms', '-W', ADDON], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const defined = r.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && /^\d+:$/.test(f[0]!) && f[6] !== 'UND' && f[4] !== 'LOCAL')
    .map((f) => f[7]!)
    .sort();
  t.same(defined, ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
});
