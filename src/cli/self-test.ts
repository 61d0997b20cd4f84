// hako self-test (hidden): the addon loads, and hako-init runs from a sealed copy; it says
// where each came from (the file beside the brain, or the copy embedded in it).
import { writeStdout } from '../output.js';
import { closeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SEALS, loadedFrom, native, sealedInit } from '../native.js';
import { HakoError } from '../errors.js';

export function run(): number {
  const addon = native();
  const fd = sealedInit();
  try {
    const seals = addon.seals(fd);
    const wanted = SEALS.SEAL | SEALS.SHRINK | SEALS.GROW | SEALS.WRITE;
    if ((seals & wanted) !== wanted) throw new HakoError(`hako-init copy is not sealed: seals=0x${seals.toString(16)}`);
    const res = spawnSync(`/proc/self/fd/${fd}`, ['--version'], { encoding: 'utf8' });
    if (res.error) throw new HakoError(`exec hako-init from its sealed copy: ${res.error.message}`);
    if (res.status !== 0) throw new HakoError(`hako-init --version exited with ${res.status}: ${res.stderr.trim()}`);
    const report = { addon: addon.version, init: res.stdout.trim(), seals: `0x${seals.toString(16)}`, addonFrom: loadedFrom.addon, initFrom: loadedFrom.init };
    writeStdout(JSON.stringify(report) + '\n');
    return 0;
  } finally {
    closeSync(fd);
  }
}
