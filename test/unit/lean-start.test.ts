// The hot path stays lean: from the entry point, following only static imports (what runs
// on every call), neither yargs, nor the validators, nor the addon loader is reached. They
// may only be reached through a dynamic import() in a command module that needs them.
import t from 'tap';
import { build, type Metafile } from 'esbuild';
import { join } from 'node:path';
import { REPO_ROOT as repoRoot } from '../helpers/paths.js';

async function metafile(): Promise<Metafile> {
  const res = await build({
    absWorkingDir: repoRoot,
    entryPoints: ['src/entry.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    outdir: join(repoRoot, 'build', 'lean-check'),
    logLevel: 'silent',
  });
  return res.metafile;
}

function staticallyReached(meta: Metafile, from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (imp.kind === 'import-statement' || imp.kind === 'require-call') todo.push(imp.path);
    }
  }
  return seen;
}

t.test('every call pays only for the parser, the logger and the error types', async (t) => {
  const meta = await metafile();
  const reached = [...staticallyReached(meta, 'src/entry.ts')];
  t.ok(reached.includes('src/cli/argv.ts'), 'the lean parser is on the path');
  t.same(reached.filter((f) => f.includes('node_modules/yargs')), [], 'no yargs');
  t.same(reached.filter((f) => f.includes('node_modules/ajv') || f.includes('src/oci/generated')), [], 'no validators');
  t.same(reached.filter((f) => f === 'src/native.ts'), [], 'no addon loader');
  t.same(reached.filter((f) => f.startsWith('src/cli/') && !['src/cli/argv.ts', 'src/cli/table.ts', 'src/cli/log.ts', 'src/cli/report.ts', 'src/output.ts'].includes(f)), [], 'no command module');
});

t.test('state reaches neither yargs nor the validators', async (t) => {
  const meta = await metafile();
  const reached = [...staticallyReached(meta, 'src/cli/state.ts')];
  // src/oci/json-syntax.ts (no dependencies) describes a corrupt record's syntax error.
  t.same(reached.filter((f) => f.includes('yargs') || f.includes('ajv') || (f.startsWith('src/oci/') && f !== 'src/oci/json-syntax.ts')), []);
});

t.test('start without NOTIFY_SOCKET pays nothing for it: the notify code is a dynamic import', async (t) => {
  const meta = await metafile();
  const reached = [...staticallyReached(meta, 'src/cli/start.ts')];
  t.same(reached.filter((f) => f === 'src/container/notify-socket.ts'), []);
  t.ok(meta.inputs['src/cli/start.ts']?.imports.some((i) => i.kind === 'dynamic-import' && i.path === 'src/container/notify-socket.ts'), 'reached only by import()');
});

// Built-in modules a container's create and exec do not need unless asked: loading
// node:crypto took 5-13 ms under Node, node:tty and node:net together ~3 ms in a Bun
// executable. Only a seccomp profile (crypto), a console socket (net), a terminal (tty)
// or a failure's message (util) loads them, at that point.
t.test('create and exec load no crypto, net, tty or util until they need them', async (t) => {
  const meta = await metafile();
  const builtins = (from: string): string[] => {
    const out = new Set<string>();
    for (const file of staticallyReached(meta, from)) {
      for (const imp of meta.inputs[file]?.imports ?? []) {
        if (imp.external && (imp.kind === 'import-statement' || imp.kind === 'require-call')) out.add(imp.path);
      }
    }
    return [...out].sort();
  };
  for (const from of ['src/container/create.ts', 'src/container/exec.ts']) {
    const reached = builtins(from);
    t.ok(reached.includes('node:fs'), `${from}: the external built-ins are seen`);
    t.same(reached.filter((m) => ['node:crypto', 'node:net', 'node:tty', 'node:util'].includes(m)), [], from);
  }
});

t.test('exec -d loads no foreground code: cli/exec.ts reaches foreground.ts only by import()', async (t) => {
  const meta = await metafile();
  const reached = [...staticallyReached(meta, 'src/cli/exec.ts')];
  t.same(reached.filter((f) => f === 'src/container/foreground.ts'), []);
  t.ok(meta.inputs['src/cli/exec.ts']?.imports.some((i) => i.kind === 'dynamic-import' && i.path === 'src/container/foreground.ts'), 'reached only by import()');
});

// exec builds no container: the config's validators (200 KB of generated code), the
// semantic checks and create's own modules cost it 0.5 ms to load for nothing. Only -p
// (a process.json to validate) or a record without its config reaches oci/load.ts, by import().
t.test('exec reaches neither create nor the validators: only through import() for -p', async (t) => {
  const meta = await metafile();
  const reached = [...staticallyReached(meta, 'src/cli/exec.ts')];
  t.same(reached.filter((f) => f === 'src/container/create.ts' || f.startsWith('src/oci/generated') || f === 'src/oci/validate.ts'), []);
  t.same(reached.filter((f) => f === 'src/oci/semantic.ts'), [], 'nor the semantic checks (its CPU lists are oci/cpu-list.ts)');
  t.ok(meta.inputs['src/cli/exec.ts']?.imports.some((i) => i.kind === 'dynamic-import' && i.path === 'src/oci/load.ts'), 'oci/load.ts reached only by import()');
});

// A container without a seccomp profile does not load the profile's translation and cache.
t.test('create and exec reach plan/seccomp*.ts only through import(), for a profile', async (t) => {
  const meta = await metafile();
  for (const from of ['src/cli/run.ts', 'src/cli/create.ts', 'src/cli/exec.ts']) {
    t.same([...staticallyReached(meta, from)].filter((f) => f === 'src/plan/seccomp.ts' || f === 'src/plan/seccomp-cache.ts'), [], from);
  }
  t.ok(meta.inputs['src/container/launch.ts']?.imports.some((i) => i.kind === 'dynamic-import' && i.path === 'src/plan/seccomp-cache.ts'), 'reached only by import()');
});
