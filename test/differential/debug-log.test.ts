// --debug, side by side with runc 1.1.5: debug lines in logrus's format, to stderr
// (text: time="..." level=debug msg="...") or, with --log, to the log only (json: one
// object per line, keys level, msg, time) and nothing on stderr. runc relays its nsexec
// stages' lines; hako relays hako-init's (stage 0, the init, an exec'd process). hako
// also logs the steps of start, kill and delete (the front's verbs), where runc 1.1.5
// logs none. Without --debug there is no debug line anywhere. Needs root, runc and
// dist/hako.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, differentialSkip, HAKO, readIfExists, scratchDir, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(differentialSkip());

const TEXT = /^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" level=(\w+) msg="((?:[^"\\]|\\.)*)"/;

/** stderr's lines, each checked as a logrus text line: [level, msg]. */
function textLines(t: Test, what: string, stderr: string): Array<[string, string]> {
  const lines = stderr.split('\n').filter((l) => l !== '');
  return lines.map((l) => {
    const m = TEXT.exec(l);
    t.ok(m, `${what}: a logrus text line`, { line: l });
    return m ? [m[1]!, JSON.parse(`"${m[2]}"`) as string] : ['?', l];
  });
}

/** The log file's lines, each checked as a logrus json line (keys sorted, level, msg and time among them): [level, msg]. */
function jsonLines(t: Test, what: string, text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const o = JSON.parse(l) as Record<string, string>;
      const keys = Object.keys(o);
      t.same(keys, [...keys].sort(), `${what}: keys sorted`, { line: l });
      t.ok(['level', 'msg', 'time'].every((k) => keys.includes(k)), `${what}: level, msg, time`, { line: l });
      t.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${what}: the time`);
      return [o.level!, o.msg!];
    });
}

interface Seen {
  create: Array<[string, string]>;
  exec: Array<[string, string]>;
  start: Array<[string, string]>;
  kill: Array<[string, string]>;
  delete: Array<[string, string]>;
}

/** create, start, exec, kill, delete with the global flags; each verb's log lines (stderr, or the --log file's new lines). */
async function lifecycle(t: Test, runtime: string, global: string[], logFile?: string): Promise<Seen> {
  const bundle = await makeBundle(t, { args: ['/bin/sleep', '1000'] });
  const root = await makeStateRoot(t, runtime);
  const dir = await scratchDir(t, 'debuglog');
  const id = containerId('dbg');
  let logged = 0;
  const lines = (what: string, stderr: string): Array<[string, string]> => {
    if (!logFile) return textLines(t, `${runtime} ${what}`, stderr);
    t.equal(stderr, '', `${runtime} ${what}: nothing on stderr with --log`);
    const all = readIfExists(logFile);
    const fresh = all.slice(logged);
    logged = all.length;
    return jsonLines(t, `${runtime} ${what}`, fresh);
  };
  const create = await spawnRuntime(runtime, root, [...global, 'create', '--bundle', bundle.dir, id], {
    stdoutFile: path.join(dir, 'out'),
    stderrFile: path.join(dir, 'err'),
  });
  t.equal(create.code, 0, `${runtime}: create`, { stderr: create.stderr });
  const seen: Partial<Seen> = { create: lines('create', create.stderr) };
  const pid = Number(JSON.parse((await runtimeCommand(runtime, root, ['state', id])).stdout).pid);
  for (const [verb, args] of [
    ['start', ['start', id]],
    ['exec', ['exec', id, '/bin/true']],
    ['kill', ['kill', id, 'KILL']],
  ] as const) {
    const r = await runtimeCommand(runtime, root, [...global, ...args]);
    t.equal(r.code, 0, `${runtime}: ${verb}`, { stderr: r.stderr });
    seen[verb] = lines(verb, r.stderr);
  }
  for (let i = 0; i < 100 && JSON.parse((await runtimeCommand(runtime, root, ['state', id])).stdout).status !== 'stopped'; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const del = await runtimeCommand(runtime, root, [...global, 'delete', id]);
  t.equal(del.code, 0, `${runtime}: delete`, { stderr: del.stderr });
  seen.delete = lines('delete', del.stderr);
  await checkNothingLeft(t, { stateRoot: root, pids: [pid], bundleDir: bundle.dir });
  return seen as Seen;
}

const debugOnly = (lines: Array<[string, string]>) => lines.filter(([level]) => level === 'debug').map(([, msg]) => msg);

for (const format of ['text', 'json'] as const) {
  t.test(`--debug${format === 'json' ? ' --log FILE --log-format json' : ''}: runc's format, the init's stages relayed`, { skip }, async (t) => {
    const dir = await scratchDir(t, 'debuglog');
    const run = async (runtime: string, name: string) => {
      const logFile = format === 'json' ? path.join(dir, `${name}.log`) : undefined;
      const global = ['--debug', ...(logFile ? ['--log', logFile, '--log-format', 'json'] : [])];
      return lifecycle(t, runtime, global, logFile);
    };
    const runc = await run('runc', 'runc');
    const hako = await run(HAKO, 'hako');
    // The reference: where runc writes debug lines, and that it relays its init's stages.
    t.ok(debugOnly(runc.create).some((m) => /^nsexec-0\[\d+\]: /.test(m)), 'runc create: its stage 0, relayed');
    t.ok(debugOnly(runc.exec).some((m) => /^nsexec-0\[\d+\]: /.test(m)), 'runc exec: its stage 0, relayed');
    for (const verb of ['create', 'exec'] as const) {
      t.same(runc[verb].filter(([level]) => level !== 'debug'), [], `runc ${verb}: debug lines only`);
      t.same(hako[verb].filter(([level]) => level !== 'debug'), [], `hako ${verb}: debug lines only`);
    }
    const create = debugOnly(hako.create);
    t.ok(create.some((m) => /^hako-init-0\[\d+\]: /.test(m)), 'hako create: hako-init\'s stage 0, relayed', { create });
    t.ok(create.some((m) => /^hako-init-init\[1\]: /.test(m)), 'hako create: the init (pid 1 in its namespace), relayed', { create });
    t.ok(create.some((m) => /^hako-init-init\[1\]: .*closing the log pipe/.test(m)), 'hako create: the init\'s last line, before it waits for start');
    t.ok(create.some((m) => m.startsWith('created ')), 'hako create: its own steps');
    const exec = debugOnly(hako.exec);
    t.ok(exec.some((m) => /^hako-init-exec\[\d+\]: /.test(m)), 'hako exec: the exec\'d process\'s stage, relayed', { exec });
    t.ok(exec.includes('process exited'), 'hako exec: the exit, as runc\'s "process exited"');
    for (const verb of ['start', 'kill', 'delete'] as const) {
      t.same(runc[verb], [], `runc ${verb}: nothing (runc 1.1.5 logs no step of it)`);
      t.ok(debugOnly(hako[verb]).length > 0, `hako ${verb}: its steps at debug level`, { lines: hako[verb] });
      t.equal(hako[verb].length, debugOnly(hako[verb]).length, `hako ${verb}: debug lines only`);
    }
  });
}

t.test('without --debug: no debug line anywhere', { skip }, async (t) => {
  const dir = await scratchDir(t, 'debuglog');
  for (const [runtime, name] of [['runc', 'runc'], [HAKO, 'hako']] as const) {
    const logFile = path.join(dir, `${name}.log`);
    const seen = await lifecycle(t, runtime, ['--log', logFile, '--log-format', 'json'], logFile);
    for (const [verb, lines] of Object.entries(seen)) t.same(lines, [], `${name} ${verb}: nothing logged`);
    t.equal(readFileSync(logFile, 'utf8'), '', `${name}: the log stays empty`);
  }
});

t.test('a --log file that cannot be opened: runc\'s message, the path as given', { skip }, async (t) => {
  const dir = await scratchDir(t, 'debuglog');
  const root = await makeStateRoot(t, HAKO);
  const seen: Record<string, string> = {};
  for (const [runtime, name] of [['runc', 'runc'], [HAKO, 'hako']] as const) {
    for (const verb of [['state', 'nope'], ['kill', 'nope', 'KILL'], ['list']]) {
      const r = await runtimeCommand(runtime, root, ['--log', 'missing/dir/x.log', ...verb], { cwd: dir });
      t.equal(r.code, 1, `${name} ${verb[0]}: exit 1`);
      const lines = textLines(t, `${name} ${verb[0]}`, r.stderr);
      t.equal(lines.length, 1, `${name} ${verb[0]}: one line`);
      seen[`${name} ${verb[0]}`] = lines.map(([level, msg]) => `${level} ${msg}`).join('\n');
    }
  }
  for (const verb of ['state', 'kill', 'list']) {
    t.equal(seen[`hako ${verb}`], seen[`runc ${verb}`], `${verb}: the same line as runc's`);
  }
  t.equal(seen['runc state'], 'error open missing/dir/x.log: no such file or directory', 'the path as given');
});
