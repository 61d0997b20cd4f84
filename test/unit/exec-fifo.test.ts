// releaseExecFifo: `start` waits for the init's byte on exec.fifo while checking that the
// init lives. The init writes its byte, execs and may exit before the next check: a short
// process on a busy machine. The byte decides, not the init's death (seen as a flaky
// "cannot start a container that has stopped" under six concurrent runs).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { releaseExecFifo } from '../../src/container/exec-fifo.js';
import { EXEC_FIFO } from '../../src/container/state-store.js';

function fifoDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'hako-fifo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('mkfifo', [join(dir, EXEC_FIFO)]);
  return dir;
}

t.test('the init wrote its byte and exited between the read and the liveness check: released', async (t) => {
  const dir = fifoDir(t);
  let checks = 0;
  // The "init" runs to completion inside the first check: it opens the fifo (our reader is
  // open, so it does not block), writes its byte and is gone when the check answers.
  const initAlive = (): boolean => {
    if (checks++ === 0) spawnSync('sh', ['-c', `printf 0 > ${join(dir, EXEC_FIFO)}`]);
    return false;
  };
  t.doesNotThrow(() => releaseExecFifo(dir, initAlive), 'released');
  t.equal(checks, 1, 'after one check');
  t.notOk(existsSync(join(dir, EXEC_FIFO)), 'the fifo is removed');
});

t.test('the init is gone and wrote nothing: the container has stopped', async (t) => {
  const dir = fifoDir(t);
  t.throws(() => releaseExecFifo(dir, () => false), { message: 'cannot start a container that has stopped' });
});

t.test('the byte comes while the init lives: released', async (t) => {
  const dir = fifoDir(t);
  let checks = 0;
  const initAlive = (): boolean => {
    if (checks++ === 2) spawnSync('sh', ['-c', `printf 0 > ${join(dir, EXEC_FIFO)}`]);
    return true;
  };
  t.doesNotThrow(() => releaseExecFifo(dir, initAlive), 'released');
  t.equal(checks, 3, 'after three checks');
});
