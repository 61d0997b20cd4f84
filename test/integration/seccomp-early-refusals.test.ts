// A seccomp profile loaded early (no noNewPrivileges: before the capabilities are dropped,
// as runc loads it) that refuses one of hako-init's own later calls: create fails naming
// the call, what it was for (the JSON pointer or the path) and the profile that may have
// refused it. Found by the fuzzer (seed 1461933536: #3508, #5758 without prctl; #8350
// without getcwd), whose messages named nothing. runc 1.1.5 fails the same mutants
// ("unable to apply bounding set: function not implemented", "failed to verify if current
// working directory is safe: operation not permitted"). Needs root and dist/hako.
import t from 'tap';
import { makeBundle } from '../helpers/rootfs.js';
import { containerId, makeStateRoot } from '../helpers/runtime.js';
import { asContainerTests, checkNothingLeft, errorMessage, HAKO, hakoSkip, spawnRuntime } from '../helpers/lifecycle.js';

const skip = asContainerTests(hakoSkip());

const cases = [
  { refused: 'prctl', errnoRet: 1, why: 'operation not permitted', message: /drop CAP_\w+ from the bounding set \(prctl PR_CAPBSET_DROP; not in \/process\/capabilities\/bounding\) \(the seccomp profile at \/linux\/seccomp, loaded before this step, may refuse prctl\): operation not permitted$/ },
  { refused: 'prctl', errnoRet: 38, why: 'function not implemented', message: /drop CAP_\w+ from the bounding set \(prctl PR_CAPBSET_DROP; not in \/process\/capabilities\/bounding\) \(the seccomp profile at \/linux\/seccomp, loaded before this step, may refuse prctl\): function not implemented$/ },
  { refused: 'getcwd', errnoRet: 1, why: 'operation not permitted', message: /getcwd in cwd \("\/tmp"\) set in config\.json \(the seccomp profile at \/linux\/seccomp, loaded before this step, may refuse getcwd\): operation not permitted$/ },
];

for (const c of cases) {
  t.test(`a profile that refuses ${c.refused} (${c.why})`, { skip }, async (t) => {
    const root = await makeStateRoot(t, HAKO);
    const bundle = await makeBundle(t, {
      args: ['/bin/sleep', '1000'],
      edit: (s) => {
        s.process!.noNewPrivileges = false;
        s.process!.cwd = '/tmp';
        s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [c.refused], action: 'SCMP_ACT_ERRNO', errnoRet: c.errnoRet }] };
      },
    });
    const id = containerId('scearly');
    const r = await spawnRuntime(HAKO, root, ['create', '--bundle', bundle.dir, id], { timeoutMs: 30_000 });
    t.equal(r.code, 1, 'create fails', { stderr: r.stderr });
    t.match(errorMessage(r), c.message, 'naming the call, its pointer or path, and the profile');
    await checkNothingLeft(t, { stateRoot: root, bundleDir: bundle.dir, noChildren: true });
  });
}
