// The addon's long waits run on threads of their own, on both engines: with nine waits
// pending, a read through fs.promises (the engine's worker pool) still finishes first.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { devBuildDir } from '../../src/native.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { longWaits, type LongWaitsReport } from '../helpers/long-waits.js';

const addonSkip = existsSync(join(devBuildDir(), 'hako.node')) ? false : 'addon not built (npm run build)';
const arch = process.arch === 'arm64' ? 'aarch64' : 'x64';
const BUN = join(REPO_ROOT, 'node_modules', '@oven', `bun-linux-${arch}`, 'bin', 'bun');
const bunSkip = addonSkip || (existsSync(BUN) ? false : `no ${BUN} (npm ci installs it)`);

const EXPECTED = ['recvFd EBADMSG', 'recvFd EBADMSG', 'recvFd EBADMSG', 'notifyRecv READY=0', 'notifyRecv READY=1', 'notifyRecv READY=2', 'eventfdWait 1', 'eventfdWait 2', 'eventfdWait 3'];

function check(t: Test, r: LongWaitsReport): void {
  t.equal(r.order[0], 'read', 'the file read finished while all nine waits were pending');
  t.equal(r.order.length, 10);
  t.same(r.results, EXPECTED, 'each wait got what was sent after the read (none timed out)');
}

t.test('under Node (this process)', { skip: addonSkip }, async (t) => {
  check(t, await longWaits(join(REPO_ROOT, 'package.json')));
});

t.test('under Bun', { skip: bunSkip }, async (t) => {
  const r = spawnSync(BUN, [join(REPO_ROOT, 'test', 'helpers', 'long-waits.ts'), '--run', join(REPO_ROOT, 'package.json')], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  check(t, JSON.parse(r.stdout) as LongWaitsReport);
});
