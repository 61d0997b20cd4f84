import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, formatLine, logTime } from '../../src/cli/log.js';

const at = new Date('2026-11-26T21:13:46.123Z');

t.test('time is RFC 3339 to the second, UTC', async (t) => {
  t.equal(logTime(at), '2026-11-26T21:13:46Z');
});

t.test('json lines have sorted keys level, msg, time', async (t) => {
  const line = formatLine('json', 'error', 'container does not exist', undefined, at);
  t.equal(line, '{"level":"error","msg":"container does not exist","time":"2026-11-26T21:13:46Z"}');
  const withFields = formatLine('json', 'info', 'x', { pid: 5, error: 'e' }, at);
  t.same(Object.keys(JSON.parse(withFields)), ['error', 'level', 'msg', 'pid', 'time']);
});

t.test('text lines quote as logrus does', async (t) => {
  t.equal(
    formatLine('text', 'error', 'container does not exist', undefined, at),
    'time="2026-11-26T21:13:46Z" level=error msg="container does not exist"',
  );
  t.equal(formatLine('text', 'error', 'say "hi"\n', undefined, at), 'time="2026-11-26T21:13:46Z" level=error msg="say \\"hi\\"\\n"');
  t.equal(formatLine('text', 'info', 'plain', { pid: 7 }, at), 'time="2026-11-26T21:13:46Z" level=info msg=plain pid=7');
});

t.test('--log appends to the file, created 0644', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'log.json');
  for (const msg of ['one', 'two']) {
    const log = new Logger({ path: file, format: 'json' });
    log.error(msg);
    log.close();
  }
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  t.same(lines.map((l) => l.msg), ['one', 'two']);
  t.equal(statSync(file).mode & 0o777, 0o644 & ~process.umask());
});

t.test('an unknown format is refused as runc words it', async (t) => {
  t.throws(() => new Logger({ format: 'xml' }), { message: 'invalid log-format: xml' });
});

t.test('debug lines only with --debug', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'log');
  const quiet = new Logger({ path: file, format: 'json' });
  quiet.debug('hidden');
  quiet.close();
  const loud = new Logger({ path: file, format: 'json', debug: true });
  loud.debug('shown');
  loud.close();
  t.same(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).msg), ['shown']);
});
