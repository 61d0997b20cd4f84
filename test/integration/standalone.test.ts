// dist/hako runs where no Node is installed: inside a busybox container that holds only
// the front (static), the brain beside it as installed (<dir>/../libexec/hako/hako-brain)
// and the shared libraries the brain links (glibc, libstdc++), run under runc: first the
// brain alone (its embedded addon and hako-init), then with both installed beside it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { hakoBin } from '../helpers/hako.js';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, integrationSkip, runContainer } from '../helpers/runtime.js';

const skip = integrationSkip('runc') || (existsSync(join(dirname(hakoBin()), 'hako')) ? false : 'dist/hako not built');

/** The files the dynamic loader needs for `bin`, from ldd. */
function sharedLibraries(bin: string): string[] {
  const out = execFileSync('ldd', [bin], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /(?:=>\s+)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

t.test('dist/hako runs in a root filesystem without node', { skip }, async (t) => {
  const bin = hakoBin();
  // A writable root: /dev/shm in the container is noexec, so the addon's anonymous file goes to /tmp.
  const bundle = await makeBundle(t, { args: ['/hako', 'self-test'], edit: (s) => void (s.root!.readonly = false) });
  const brain = join(dirname(bin), 'libexec', 'hako', 'hako-brain');
  const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
  t.match(ldd.stdout + ldd.stderr, /not a dynamic executable/, 'the front is static');
  copyFileSync(bin, join(bundle.rootfs, 'hako'));
  // /hako's directory is /: the brain is found at /../libexec/hako/hako-brain
  mkdirSync(join(bundle.rootfs, 'libexec', 'hako'), { recursive: true });
  copyFileSync(brain, join(bundle.rootfs, 'libexec', 'hako', 'hako-brain'));
  // Another build's pair (here junk under the unhashed names and a hash of its own) is never taken.
  for (const stale of ['hako.node', 'hako-init', 'hako-0123456789abcdef.node', 'hako-init-0123456789abcdef']) {
    writeFileSync(join(bundle.rootfs, 'libexec', 'hako', stale), 'not this build\n', { mode: 0o755 });
  }
  for (const lib of sharedLibraries(brain)) {
    mkdirSync(join(bundle.rootfs, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(bundle.rootfs, lib));
  }
  t.notOk(existsSync(join(bundle.rootfs, 'usr/bin/node')) || existsSync(join(bundle.rootfs, 'bin/node')), 'no node in the rootfs');

  const selfTest = await runContainer('runc', bundle, containerId('standalone'));
  t.equal(selfTest.code, 0, selfTest.stderr);
  const report = JSON.parse(selfTest.stdout);
  t.match(report.init, /^hako-init /, 'hako-init ran from its sealed copy');
  t.match(report, { addonFrom: 'embedded', initFrom: 'embedded' }, 'the brain alone (and another build\'s files): the addon and hako-init from its embedded copies');

  // Installed as the README says: the addon and hako-init beside the brain, used from there.
  const beside = readdirSync(dirname(brain)).filter((f) => f !== 'hako-brain');
  t.equal(beside.length, 2, `the addon and hako-init beside the brain: ${beside.join(', ')}`);
  for (const name of beside) copyFileSync(join(dirname(brain), name), join(bundle.rootfs, 'libexec', 'hako', name));
  const installed = await runContainer('runc', bundle, containerId('standalone'));
  t.equal(installed.code, 0, installed.stderr);
  const besides = JSON.parse(installed.stdout);
  t.match(besides.init, /^hako-init /, 'hako-init ran from its sealed copy');
  t.match(besides, { addonFrom: /^\/libexec\/hako\/hako-[0-9a-f]{16}\.node$/, initFrom: /^\/libexec\/hako\/hako-init-[0-9a-f]{16}$/, seals: report.seals }, 'the files beside the brain, sealed as before');

  for (const [args, expect] of [
    [['/hako', '--version'], /^hako version \d+\.\d+\.\d+\ncommit: /],
    [['/hako', 'features'], /"ociVersionMax": "1\.3\.0"/],
  ] as const) {
    bundle.spec.process!.args = [...args];
    await bundle.writeConfig();
    const r = await runContainer('runc', bundle, containerId('standalone'));
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, expect, args.join(' '));
  }
});
