// The brain is a Bun single-file executable, and Bun's executables read a .env (into their
// environment) and a bunfig.toml (as Bun's configuration) from the working directory unless
// built not to. hako's caller chooses that directory (containerd's shim runs the runtime in
// the bundle), so neither may change anything: a .env that, if read, would make the brain
// SIGKILL itself at create's first step (the chaos tests' stop point); a bunfig.toml Bun
// would refuse to parse.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot, runtimeCommand } from '../helpers/runtime.js';
import { asContainerTests, HAKO, hakoSkip, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

const FILES = {
  '.env': 'HAKO_TEST_STOP_AT=create:dir-made\n',
  'bunfig.toml': 'this is [not toml\n',
};

for (const [name, text] of Object.entries(FILES)) {
  t.test(`a ${name} in the working directory is not read`, { skip }, async (t) => {
    const root = await makeStateRoot(t, HAKO);
    const bundle = await makeBundle(t, { args: ['true'] });
    writeFileSync(join(bundle.dir, name), text);
    const id = containerId('dotenv');
    const env = { ...process.env };
    delete env.HAKO_TEST_STOP_AT;
    // stdout and stderr to files: the created container holds them
    const created = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, id], { cwd: bundle.dir, env });
    t.equal(created.signal, null, 'not killed');
    t.equal(created.code, 0, created.stderr);
    const deleted = await runtimeCommand(HAKO, root, ['delete', '-f', id], { cwd: bundle.dir, env, timeoutMs: 30_000 });
    t.equal(deleted.code, 0, deleted.stderr);
  });
}
