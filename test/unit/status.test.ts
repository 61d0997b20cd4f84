import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProcStat, readProcStat, liveStatus } from '../../src/container/status.js';
import { readContainer, type ContainerRecord } from '../../src/container/state-store.js';
import { isValidContainerId } from '../../src/container/id.js';

t.test('container ids follow runc', async (t) => {
  for (const ok of ['a', 'abc-1', 'A_b.c+d', '...', 'x'.repeat(1024)]) t.ok(isValidContainerId(ok), ok);
  for (const bad of ['', '.', '..', 'a b', 'a/b', 'a:b', 'é', 'a\n']) t.notOk(isValidContainerId(bad), JSON.stringify(bad));
});

t.test('/proc/<pid>/stat with spaces and parentheses in comm', async (t) => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  const line = `123 (a) b (c)) ${fields.join(' ')}\n`;
  t.same(parseProcStat(line), { state: 'S', startTime: '22' });
  t.equal(parseProcStat('garbage'), undefined);
  t.ok(readProcStat(process.pid));
});

t.test('status: running, created (fifo), stopped (gone, reused pid)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hako-status-'));
  const child = spawn('sleep', ['100'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  await new Promise((r) => child.once('spawn', r));
  const dir = join(root, 'c1');
  mkdirSync(dir);
  const rec: ContainerRecord = {
    version: 1,
    ociVersion: '1.3.0',
    id: 'c1',
    pid: child.pid!,
    initStartTime: readProcStat(child.pid!)!.startTime,
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(rec));
  t.same(readContainer(root, 'c1'), rec);
  t.equal(liveStatus(rec, dir), 'running');
  writeFileSync(join(dir, 'exec.fifo'), '');
  t.equal(liveStatus(rec, dir), 'created');
  t.equal(liveStatus({ ...rec, initStartTime: '1' }, dir), 'stopped', 'a different process at the pid');
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid!, 'SIGSTOP');
  t.equal(liveStatus(rec, dir), 'created', 'a stopped (T) process still counts');
  child.kill('SIGKILL');
  await exited;
  t.equal(liveStatus(rec, dir), 'stopped');
});

t.test('status: a zombie init counts as stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hako-status-'));
  // The shell starts a short sleep, then execs a long one that never reaps it: a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 100'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    parent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const pid = Number(await new Promise<string>((r) => parent.stdout!.once('data', (d) => r(String(d)))));
  const rec: ContainerRecord = {
    version: 1,
    ociVersion: '1.3.0',
    id: 'z',
    pid,
    initStartTime: readProcStat(pid)!.startTime,
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: new Date().toISOString(),
  };
  t.equal(liveStatus(rec, dir), 'running');
  for (let i = 0; i < 100 && readProcStat(pid)?.state !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(readProcStat(pid)?.state, 'Z');
  t.equal(liveStatus(rec, dir), 'stopped');
});

t.test('a missing container, a bad id, a corrupt state file', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'hako-status-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.throws(() => readContainer(root, 'nope'), { message: 'container does not exist' });
  t.throws(() => readContainer(join(root, 'no-root'), 'nope'), { message: 'container does not exist' });
  t.throws(() => readContainer(root, 'a/b'), { message: 'invalid container ID format' });
  mkdirSync(join(root, 'bad'));
  writeFileSync(join(root, 'bad', 'state.json'), '{');
  t.throws(() => readContainer(root, 'bad'), /corrupt state/);
});
