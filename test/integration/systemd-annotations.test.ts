// org.systemd.property.* annotations that runc 1.1.5 refuses (with --systemd-cgroup): hako
// refuses them with runc's words, before anything is made, here on the host itself (the
// annotations are read before systemd is looked for, so these fail the same whether this
// host runs systemd or not). runc is the control. Accepted values against a real systemd:
// test/helpers/systemd-driver-suite.ts; the parser alone: test/unit/systemd-annotations.test.ts.
import * as fs from 'node:fs/promises';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { HAKO, errorMessage, hakoSkip } from '../helpers/lifecycle.js';
import { makeStateRoot, runCommand, runtimeAvailable } from '../helpers/runtime.js';

const skip = hakoSkip() || (process.getuid?.() !== 0 && 'needs root') || (!runtimeAvailable('runc') && 'runc not found');

const P = 'org.systemd.property.';
const BAD: [string, string][] = [
  [`${P}Xo`, '1'],
  [`${P}Number1`, '1'],
  [`${P}TimeoutStopSec`, 'false'],
  [`${P}TimeoutStopSec`, "'covfefe'"],
  [`${P}TimeoutStopSec`, 'true false'],
  [`${P}ValidName`, 'invalid-value'],
  [`${P}ValidName`, ''],
  [`${P}ValidName`, "'open"],
  [`${P}ValidName`, '12ab'],
  [`${P}ValidName`, 'uint64 -1'],
  [`${P}ValidName`, 'byte 300'],
  [`${P}ValidName`, '0xfffffffff'],
  [`${P}ValidName`, '-0x10'],
  [`${P}ValidName`, '1e'],
  [`${P}ValidName`, 'double 1.5'],
  [`${P}ValidName`, "uint64 'x'"],
  [`${P}ValidName`, 'objectpath 5'],
  [`${P}ValidName`, '[]'],
  [`${P}ValidName`, "[[1], ['a']]"],
  [`${P}ValidName`, '[1 2]'],
  [`${P}ValidName`, "{1: 'a', 'b': 'c'}"],
  [`${P}ValidName`, '<1'],
  [`${P}ValidName`, "b'\\x'"],
  [`${P}ValidName`, "'\\u12'"],
  [`${P}ValidName`, '@a{s} {}'],
  [`${P}ValidName`, '@zz 1'],
];

const seen = new Map<string, string>();

t.test("bad org.systemd.property annotations: runc's error, word for word, and nothing left", { skip }, async (t) => {
  const bundle = await makeBundle(t, { args: ['true'] });
  for (const [label, runtime] of [
    ['runc', 'runc'],
    ['hako', HAKO],
  ] as const) {
    const root = await makeStateRoot(t, runtime);
    for (const [key, value] of BAD) {
      bundle.spec.annotations = { [key]: value };
      await bundle.writeConfig();
      const r = await runCommand(runtime, ['--root', root, '--systemd-cgroup', 'create', '--bundle', bundle.dir, 'annot']);
      const message = errorMessage(r).replace(/^(runc|hako) create failed: /, '');
      if (label === 'runc') seen.set(`${key}=${value}`, message);
      else t.equal(message, seen.get(`${key}=${value}`), `${key}=${value}`);
      t.equal(r.code, 1, `${label}: ${key}=${value} fails`);
    }
    t.same(await fs.readdir(root), [], `${label}: no state`);
  }
});
