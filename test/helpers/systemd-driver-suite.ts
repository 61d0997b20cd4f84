// The tests of the systemd cgroup driver (--systemd-cgroup) against a real systemd: the
// host's /lib/systemd/systemd booted once per test file as PID 1 of private namespaces
// (private-systemd.ts), in one hierarchy mode, with runc as the control. hako and runc run
// inside that world (nsenter); bundles and state live under /var/lib (the world's /tmp is
// its own). test/integration/systemd-cgroup*.test.ts run it in each mode this host allows.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { CriClient, criClientSkip } from './cri-client.js';
import { bootPrivateSystemd, privateSystemdSkip, type HierarchyMode, type PrivateSystemd } from './private-systemd.js';
import { HAKO, errorMessage, hakoSkip } from './lifecycle.js';
import { makeBundle, testRootfs, type Bundle } from './rootfs.js';
import { SHARED_DIR } from './paths.js';
import { runtimeAvailable } from './runtime.js';

const RUNC = 'runc';
const MKIMAGE = path.join(SHARED_DIR, 'tools', 'managers', 'mkimage.py');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The world and what the tests do in it. */
class World {
  private n = 0;
  constructor(
    readonly sd: PrivateSystemd,
    readonly base: string,
  ) {}

  /** A command inside the world; stdout and stderr on files (a detached container keeps the runtime's). */
  async run(argv: string[]): Promise<Result> {
    this.n += 1;
    const out = path.join(this.base, `cmd-${this.n}.out`);
    const err = path.join(this.base, `cmd-${this.n}.err`);
    const fds = [openSync(out, 'w'), openSync(err, 'w')];
    const [file, ...args] = this.sd.argv(argv[0]!, argv.slice(1));
    const child = spawn(file!, args, { stdio: ['ignore', fds[0]!, fds[1]!] });
    fds.forEach((fd) => closeSync(fd));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', reject);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const r = { code, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
    await Promise.all([fs.rm(out), fs.rm(err)]);
    return r;
  }

  /** `<runtime> --root <root> [--systemd-cgroup] <args>` in the world. */
  rt(runtime: string, root: string, args: string[]): Promise<Result> {
    return this.run([runtime, '--root', root, ...args]);
  }

  /** Units whose names match the glob, loaded or not (systemctl list-units --all). */
  async units(glob: string): Promise<string[]> {
    const r = await this.run(['systemctl', 'list-units', '--all', '--plain', '--no-legend', '--no-pager', glob]);
    return r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter((u) => u !== '');
  }

  /** systemctl show -p ... as an object (a property given many times: its values, in order, joined by "\n"). */
  async show(unit: string, props: string[]): Promise<Record<string, string>> {
    const r = await this.run(['systemctl', 'show', unit, '--no-pager', ...props.flatMap((p) => ['-p', p])]);
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n').filter((l) => l.includes('='))) {
      const at = line.indexOf('=');
      const k = line.slice(0, at);
      out[k] = out[k] === undefined ? line.slice(at + 1) : `${out[k]}\n${line.slice(at + 1)}`;
    }
    return out;
  }

  /** The cgroup directories named `cgroupPath` in the world's hierarchies. */
  async dirs(cgroupPath: string): Promise<string[]> {
    const r = await this.run(['sh', '-c', `ls -d /sys/fs/cgroup/*${cgroupPath} /sys/fs/cgroup${cgroupPath} 2>/dev/null; true`]);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  async read(file: string): Promise<string> {
    return (await this.run(['cat', file])).stdout;
  }

  async stateRoot(label: string): Promise<string> {
    const dir = path.join(this.base, `state-${label}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}

async function sleepBundle(t: Test, w: World, edit?: (b: Bundle['spec']) => void): Promise<Bundle> {
  return makeBundle(t, { parent: w.base, args: ['sleep', '1000'], edit });
}

const sameOrder = (s: string): string => s.split('\n').sort().join('\n');

/** The error line's message (runc logs warnings before it). */
function failure(r: Result): string {
  const line = r.stderr.split('\n').find((l) => l.includes('level=error'));
  return line ? errorMessage({ stderr: line }) : errorMessage(r);
}

/** The suite, in a systemd booted in `MODE`. */
export function systemdDriverSuite(MODE: HierarchyMode): void {
  const skip = privateSystemdSkip() || hakoSkip() || (!runtimeAvailable('runc') && 'runc not found');
  // The file's own limit: tap's per-file 120 s (package.json) is short for three managers' daemons on a busy machine.
  t.setTimeout(6 * 60_000);
  t.test(`the systemd cgroup driver in a private systemd (${MODE})`, { skip }, async (t) => {
    const base = `/var/lib/hako-test-systemd-${process.pid}`;
    mkdirSync(base, { recursive: true, mode: 0o755 });
    let sd: PrivateSystemd | undefined;
    t.teardown(async () => {
      await sd?.stop();
      await fs.rm(base, { recursive: true, force: true });
    });
    sd = await bootPrivateSystemd(MODE);
    const w = new World(sd, base);

    t.test('a scope per container with runc\'s properties; ps, pause, resume, events, update, kill --all; delete leaves nothing', async (t) => {
      const resources = {
        memory: { limit: 100_000_000 },
        pids: { limit: 50 },
        cpu: { shares: 512, quota: 50_000, period: 100_000, cpus: '0' },
        blockIO: { weight: 300 },
      };
      const seen: Record<string, Record<string, string>> = {};
      for (const [label, runtime] of [
        ['runc', RUNC],
        ['hako', HAKO],
      ] as const) {
        const unit = `${label}-lc.scope`;
        const bundle = await sleepBundle(t, w, (s) => {
          s.linux!.cgroupsPath = `system.slice:${label}:lc`;
          s.linux!.resources = { ...s.linux!.resources, ...resources };
        });
        const root = await w.stateRoot(`lc-${label}`);
        let r = await w.rt(runtime, root, ['--systemd-cgroup', 'create', '--bundle', bundle.dir, 'lc']);
        t.equal(r.code, 0, `${label} create`, { stderr: r.stderr });
        const state = JSON.parse((await w.rt(runtime, root, ['state', 'lc'])).stdout) as { pid: number; status: string };
        t.equal(state.status, 'created');
        const props = await w.show(unit, [
          'ActiveState',
          'Slice',
          'ControlGroup',
          'Delegate',
          'MemoryLimit',
          'TasksMax',
          'CPUShares',
          'CPUQuotaPerSecUSec',
          'AllowedCPUs',
          'BlockIOWeight',
          'DevicePolicy',
          'DeviceAllow',
          'DefaultDependencies',
        ]);
        seen[label] = { ...props, ControlGroup: props.ControlGroup!.replace(label, '<rt>'), DeviceAllow: sameOrder(props.DeviceAllow ?? '') };
        t.equal(props.ActiveState, 'active', `${unit} is active`);
        t.equal(props.ControlGroup, `/system.slice/${unit}`);
        const dirs = await w.dirs(`/system.slice/${unit}`);
        t.ok(dirs.length > 0, `${label}: the unit's directories`, { dirs });
        for (const dir of dirs) {
          t.match(await w.read(`${dir}/cgroup.procs`), new RegExp(`^${state.pid}$`, 'm'), `${label}: the init is in ${dir}`);
        }
        if (MODE !== 'unified') {
          const devices = (await w.read(`/sys/fs/cgroup/devices/system.slice/${unit}/devices.list`)).split('\n').filter(Boolean);
          t.notOk(devices.includes('a *:* rwm'), `${label}: deny-all first: no "a *:* rwm"`);
          t.ok(devices.includes('c 1:3 rwm'), `${label}: /dev/null allowed`);
          seen[label]!.devicesList = devices.sort().join('\n');
          t.equal((await w.read(`/sys/fs/cgroup/memory/system.slice/${unit}/memory.limit_in_bytes`)).trim(), '99999744');
          t.equal((await w.read(`/sys/fs/cgroup/pids/system.slice/${unit}/pids.max`)).trim(), '50');
        }

        r = await w.rt(runtime, root, ['start', 'lc']);
        t.equal(r.code, 0, `${label} start`, { stderr: r.stderr });
        r = await w.rt(runtime, root, ['ps', '-f', 'json', 'lc']);
        t.same(JSON.parse(r.stdout), [state.pid], `${label} ps`);
        t.equal((await w.rt(runtime, root, ['pause', 'lc'])).code, 0, `${label} pause`);
        t.equal(JSON.parse((await w.rt(runtime, root, ['state', 'lc'])).stdout).status, 'paused');
        t.equal((await w.rt(runtime, root, ['resume', 'lc'])).code, 0, `${label} resume`);
        t.equal(JSON.parse((await w.rt(runtime, root, ['state', 'lc'])).stdout).status, 'running');
        r = await w.rt(runtime, root, ['events', '--stats', 'lc']);
        const stats = JSON.parse(r.stdout) as { data: { pids: { current: number; limit: number } } };
        t.same(stats.data.pids, { current: 1, limit: 50 }, `${label} events --stats`);
        r = await w.rt(runtime, root, ['--systemd-cgroup', 'update', '--pids-limit', '40', 'lc']);
        t.equal(r.code, 0, `${label} update`, { stderr: r.stderr });
        t.equal((await w.show(unit, ['TasksMax'])).TasksMax, '40', `${label}: update sets the unit's TasksMax`);
        if (MODE !== 'unified') t.equal((await w.read(`/sys/fs/cgroup/pids/system.slice/${unit}/pids.max`)).trim(), '40');
        r = await w.rt(runtime, root, ['kill', '--all', 'lc', 'KILL']);
        t.equal(r.code, 0, `${label} kill --all`, { stderr: r.stderr });
        // SIGKILL is sent, not waited for: delete (without -f) wants the container stopped.
        for (let i = 0; i < 200 && JSON.parse((await w.rt(runtime, root, ['state', 'lc'])).stdout).status !== 'stopped'; i++) {
          await new Promise((res) => setTimeout(res, 20));
        }
        r = await w.rt(runtime, root, ['--systemd-cgroup', 'delete', 'lc']);
        t.equal(r.code, 0, `${label} delete`, { stderr: r.stderr });
        t.same(await w.units(unit), [], `${label}: the unit is gone`);
        t.same(await w.dirs(`/system.slice/${unit}`), [], `${label}: no directory left`);
        t.same((await w.rt(runtime, root, ['list', '-q'])).stdout, '', `${label}: no state left`);
      }
      t.same(seen.hako, seen.runc, 'the same unit properties and device rules as runc\'s');
    });

    t.test('an empty cgroupsPath: runc-<id>.scope in system.slice; a foreground run leaves no unit', async (t) => {
      const bundle = await sleepBundle(t, w, (s) => delete s.linux!.cgroupsPath);
      const root = await w.stateRoot('default');
      let r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'dflt']);
      t.equal(r.code, 0, 'run -d', { stderr: r.stderr });
      t.equal((await w.show('runc-dflt.scope', ['ControlGroup'])).ControlGroup, '/system.slice/runc-dflt.scope');
      r = await w.rt(HAKO, root, ['delete', '-f', 'dflt']);
      t.equal(r.code, 0, 'delete -f', { stderr: r.stderr });
      t.same(await w.units('runc-dflt.scope'), []);
      bundle.spec.process!.args = ['true'];
      await bundle.writeConfig();
      r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '--bundle', bundle.dir, 'fg']);
      t.equal(r.code, 0, 'foreground run', { stderr: r.stderr });
      t.same(await w.units('runc-fg.scope'), [], 'no unit after it');
      t.same(await w.dirs('/system.slice/runc-fg.scope'), [], 'no directory after it');
    });

    t.test('delete: the front alone once systemd has let the unit go; the brain (D-Bus) while the unit is loaded', async (t) => {
      // A copy of the front whose brain is a script that notes each handover, then runs the real brain.
      const bin = path.join(w.base, 'front-only', 'bin');
      const marks = path.join(w.base, 'front-only', 'handovers');
      await fs.mkdir(path.join(w.base, 'front-only', 'libexec', 'hako'), { recursive: true });
      await fs.mkdir(bin, { recursive: true });
      await fs.copyFile(HAKO, path.join(bin, 'hako'));
      await fs.chmod(path.join(bin, 'hako'), 0o755);
      const brain = path.join(path.dirname(HAKO), 'libexec', 'hako', 'hako-brain');
      await fs.writeFile(path.join(w.base, 'front-only', 'libexec', 'hako', 'hako-brain'), `#!/bin/sh\necho "$*" >> ${marks}\nexec ${brain} "$@"\n`, { mode: 0o755 });
      const front = path.join(bin, 'hako');
      const handovers = async (): Promise<string> => fs.readFile(marks, 'utf8').catch(() => '');
      const bundle = await makeBundle(t, { parent: w.base, args: ['true'], edit: (s) => (s.linux!.cgroupsPath = 'system.slice:hako:gone') });
      const root = await w.stateRoot('front');
      let r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'gone']);
      t.equal(r.code, 0, 'run -d of a container that exits at once', { stderr: r.stderr });
      // systemd lets a scope go when its cgroup empties: told so by cgroup2 (hybrid, v2) or
      // the v1 release agent, which a systemd in a cgroup namespace (legacy here) does not get.
      for (let i = 0; i < 100 && (await w.units('hako-gone.scope')).length > 0; i++) await new Promise((res) => setTimeout(res, 50));
      const let_go = (await w.units('hako-gone.scope')).length === 0;
      if (MODE !== 'legacy') t.ok(let_go, 'systemd let the unit go');
      r = await w.rt(front, root, ['delete', 'gone']);
      t.equal(r.code, 0, 'delete', { stderr: r.stderr });
      if (let_go) t.equal(await handovers(), '', 'the front deleted it without the brain');
      else t.match(await handovers(), /delete gone/, 'the unit still loaded: handed to the brain');
      t.same(await w.units('hako-gone.scope'), [], 'no unit');
      t.same(await w.dirs('/system.slice/hako-gone.scope'), [], 'no directory left (those hako made too)');
      t.equal((await w.rt(HAKO, root, ['list', '-q'])).stdout, '', 'no state');
      bundle.spec.process!.args = ['sleep', '1000'];
      await bundle.writeConfig();
      r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'live']);
      t.equal(r.code, 0, 'run -d of one that runs', { stderr: r.stderr });
      r = await w.rt(front, root, ['delete', '-f', 'live']);
      t.equal(r.code, 0, 'delete -f', { stderr: r.stderr });
      t.match(await handovers(), /delete -f live/, 'handed to the brain, which stops the unit');
      t.same(await w.units('hako-gone.scope'), [], 'no unit');
      t.same(await w.dirs('/system.slice/hako-gone.scope'), [], 'no directory');
    });

    const podmanSkip = !existsSync('/usr/bin/podman') ? 'podman not installed' : !existsSync(MKIMAGE) ? `${MKIMAGE} not here` : false;
    t.test('podman with cgroup_manager=systemd: the same steps pass with hako as with runc', { skip: podmanSkip }, async (t) => {
      const dir = path.join(w.base, 'podman');
      await fs.mkdir(dir, { recursive: true });
      // The image, made on the host (the test rootfs is in its /tmp).
      execFileSync('tar', ['-C', await testRootfs(), '--numeric-owner', '--owner=0', '--group=0', '-cf', path.join(dir, 'rootfs.tar'), '.']);
      execFileSync('python3', [MKIMAGE, path.join(dir, 'rootfs.tar'), path.join(dir, 'bb.tar'), 'localhost/bb:latest', '["/bin/sh"]'], { stdio: 'ignore' });
      const podman = (runtime: string, args: string[]): Promise<Result> =>
        w.run(['podman', '--root', path.join(dir, 'storage'), '--runroot', '/run/hako-test-podman', '--cgroup-manager', 'systemd', '--events-backend', 'file', '--runtime', runtime, ...args]);
      t.equal((await podman(RUNC, ['load', '-i', path.join(dir, 'bb.tar')])).code, 0, 'podman load');
      const outcomes: Record<string, string[]> = {};
      for (const [label, runtime] of [
        ['runc', '/usr/bin/runc'],
        ['hako', HAKO],
      ] as const) {
        const steps: string[] = [];
        const step = async (name: string, args: string[], check?: (r: Result) => boolean): Promise<Result> => {
          const res = await podman(runtime, args);
          const ok = res.code === 0 && (!check || check(res));
          t.ok(ok, `${label}: ${name}`, { stdout: res.stdout, stderr: res.stderr });
          steps.push(`${name}: ${ok ? 'ok' : 'failed'}`);
          return res;
        };
        await step('run --rm', ['run', '--network', 'none', '--rm', 'localhost/bb:latest', 'echo', 'hi'], (res) => res.stdout === 'hi\n');
        const id = (await step('run -d', ['run', '--network', 'none', '-d', '--name', 'c1', 'localhost/bb:latest', 'sleep', '1000'])).stdout.trim();
        const unit = `libpod-${id}.scope`;
        steps.push(`scope: ${(await w.show(unit, ['ActiveState', 'Slice', 'Delegate'])).Slice}`);
        t.same(await w.show(unit, ['ActiveState', 'Slice', 'Delegate']), { ActiveState: 'active', Slice: 'machine.slice', Delegate: 'yes' }, `${label}: ${unit}`);
        await step('exec', ['exec', 'c1', 'cat', '/proc/self/cgroup'], (res) => res.stdout.includes(`/machine.slice/${unit}`));
        await step('pause', ['pause', 'c1']);
        await step('unpause', ['unpause', 'c1']);
        await step('update --memory', ['update', '--memory', '64m', 'c1']);
        t.equal((await w.show(unit, ['MemoryLimit'])).MemoryLimit, '67108864', `${label}: the unit's memory limit`);
        await step('top', ['top', 'c1'], (res) => res.stdout.includes('sleep 1000'));
        await step('stop', ['stop', '-t', '1', 'c1']);
        await step('rm', ['rm', 'c1']);
        t.same(await w.units(unit), [], `${label}: the container's unit is gone`);
        // conmon's own scope (podman's) stays where systemd is not told of empty cgroups (legacy here).
        if (MODE !== 'legacy') t.same(await w.units('libpod-*'), [], `${label}: no libpod unit left`);
        outcomes[label] = steps;
      }
      t.same(outcomes.hako, outcomes.runc, 'the same outcome step by step');
      await podman(RUNC, ['rmi', '-a']);
    });

    const ctrSkip = !existsSync('/usr/bin/containerd') || !existsSync('/usr/bin/ctr') ? 'containerd not installed' : !existsSync(MKIMAGE) ? `${MKIMAGE} not here` : false;
    t.test('containerd (ctr, runc shim) with SystemdCgroup: the same steps pass with hako as with runc', { skip: ctrSkip }, async (t) => {
      const dir = path.join(w.base, 'containerd');
      await fs.mkdir(dir, { recursive: true });
      execFileSync('tar', ['-C', await testRootfs(), '--numeric-owner', '--owner=0', '--group=0', '-cf', path.join(dir, 'rootfs.tar'), '.']);
      execFileSync('python3', [MKIMAGE, path.join(dir, 'rootfs.tar'), path.join(dir, 'bb.tar'), 'localhost/bb:latest', '["/bin/sh"]'], { stdio: 'ignore' });
      const sock = '/run/hako-test-containerd/containerd.sock';
      await fs.writeFile(
        path.join(dir, 'config.toml'),
        `version = 2\nroot = "${dir}/root"\nstate = "/run/hako-test-containerd/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${sock}"\n`,
      );
      // The daemon lives in the world and dies with it.
      let r = await w.run(['sh', '-c', `mkdir -p /run/hako-test-containerd && (containerd --config ${dir}/config.toml >/run/hako-test-containerd/log 2>&1 &)`]);
      t.equal(r.code, 0, 'containerd started');
      const ctr = (args: string[]): Promise<Result> => w.run(['ctr', '-a', sock, ...args]);
      for (let i = 0; i < 100 && (await ctr(['version'])).code !== 0; i++) await new Promise((res) => setTimeout(res, 50));
      r = await ctr(['image', 'import', path.join(dir, 'bb.tar')]);
      t.equal(r.code, 0, 'image import', { stderr: r.stderr });
      const outcomes: Record<string, string[]> = {};
      for (const [label, runtime] of [
        ['runc', '/usr/bin/runc'],
        ['hako', HAKO],
      ] as const) {
        const steps: string[] = [];
        const step = async (name: string, args: string[], check?: (r: Result) => boolean): Promise<Result> => {
          const res = await ctr(args);
          const ok = res.code === 0 && (!check || check(res));
          t.ok(ok, `${label}: ${name}`, { stdout: res.stdout, stderr: res.stderr });
          steps.push(`${name}: ${ok ? 'ok' : 'failed'}`);
          return res;
        };
        const run = ['run', '--runc-binary', runtime, '--runc-systemd-cgroup'];
        await step('run --rm', [...run, '--rm', '--cgroup', `system.slice:ctr-${label}:once`, 'localhost/bb:latest', `once-${label}`, 'echo', 'hi'], (res) => res.stdout === 'hi\n');
        const id = `c-${label}`;
        const unit = `ctr-${label}-${id}.scope`;
        await step('run -d', [...run, '-d', '--cgroup', `system.slice:ctr-${label}:${id}`, 'localhost/bb:latest', id, 'sleep', '1000']);
        t.same(await w.show(unit, ['ActiveState', 'Slice', 'Delegate']), { ActiveState: 'active', Slice: 'system.slice', Delegate: 'yes' }, `${label}: ${unit}`);
        await step('exec', ['task', 'exec', '--exec-id', 'e1', id, 'cat', '/proc/self/cgroup'], (res) => res.stdout.includes(`/system.slice/${unit}`));
        await step('pause', ['task', 'pause', id]);
        await step('paused', ['task', 'ls'], (res) => new RegExp(`^${id}\\s+\\d+\\s+PAUSED`, 'm').test(res.stdout));
        await step('resume', ['task', 'resume', id]);
        await step('ps', ['task', 'ps', id], (res) => /^\d+/m.test(res.stdout.split('\n')[1] ?? ''));
        await step('kill', ['task', 'kill', '-s', 'KILL', id]);
        for (let i = 0; i < 100 && !/STOPPED/.test((await ctr(['task', 'ls'])).stdout); i++) await new Promise((res) => setTimeout(res, 50));
        await step('task rm', ['task', 'rm', id]);
        await step('container rm', ['container', 'rm', id]);
        t.same(await w.units(`ctr-${label}-*`), [], `${label}: no unit left`);
        t.same(await w.dirs(`/system.slice/${unit}`), [], `${label}: no cgroup left`);
        outcomes[label] = steps;
      }
      t.same(outcomes.hako, outcomes.runc, 'the same outcome step by step');
    });

    const criSkip = !existsSync('/usr/bin/containerd') || !existsSync('/usr/bin/ctr') ? 'containerd not installed' : !existsSync(MKIMAGE) ? `${MKIMAGE} not here` : criClientSkip();
    t.test('containerd\'s CRI plugin with SystemdCgroup: a pod and its container as scopes in the kubelet\'s slices, the same with hako as with runc', { skip: criSkip }, async (t) => {
      const dir = path.join(w.base, 'cri');
      await fs.mkdir(path.join(dir, 'cni-bin'), { recursive: true });
      await fs.mkdir(path.join(dir, 'cni-conf'), { recursive: true });
      const rootfsTar = path.join(dir, 'rootfs.tar');
      execFileSync('tar', ['-C', await testRootfs(), '--numeric-owner', '--owner=0', '--group=0', '-cf', rootfsTar, '.']);
      execFileSync('python3', [MKIMAGE, rootfsTar, path.join(dir, 'bb.tar'), 'localhost/bb:latest', '["/bin/sh"]'], { stdio: 'ignore' });
      execFileSync('python3', [MKIMAGE, rootfsTar, path.join(dir, 'pause.tar'), 'localhost/pause:latest', '["/bin/sleep","2147483647"]'], { stdio: 'ignore' });
      // The socket on the host's /var/lib, where this process reaches it; the rest of the
      // daemon's state on the world's /run. One runtime handler per runtime, both with
      // SystemdCgroup (the kubelet's systemd driver), and the systemd annotations passed on.
      const sock = path.join(dir, 'containerd.sock');
      const handler = (name: string, binary: string): string =>
        `    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}]\n` +
        `      runtime_type = "io.containerd.runc.v2"\n` +
        `      pod_annotations = ["org.systemd.property.*"]\n` +
        `      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}.options]\n` +
        `        BinaryName = "${binary}"\n        Root = "${dir}/rt-root-${name}"\n        SystemdCgroup = true\n`;
      await fs.writeFile(
        path.join(dir, 'config.toml'),
        `version = 2\nroot = "${dir}/root"\nstate = "/run/hako-test-cri/state"\n` +
          `[grpc]\n  address = "${sock}"\n[ttrpc]\n  address = "${sock}.ttrpc"\n` +
          `[plugins."io.containerd.internal.v1.opt"]\n  path = "${dir}/opt"\n` +
          `[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "localhost/pause:latest"\n  disable_apparmor = true\n  restrict_oom_score_adj = true\n` +
          `  [plugins."io.containerd.grpc.v1.cri".cni]\n    bin_dir = "${dir}/cni-bin"\n    conf_dir = "${dir}/cni-conf"\n` +
          `  [plugins."io.containerd.grpc.v1.cri".containerd]\n    snapshotter = "overlayfs"\n    default_runtime_name = "runc"\n` +
          handler('runc', '/usr/sbin/runc') +
          handler('hako', HAKO),
      );
      let r = await w.run(['sh', '-c', `mkdir -p /run/hako-test-cri && (containerd --config ${dir}/config.toml >/run/hako-test-cri/log 2>&1 &)`]);
      t.equal(r.code, 0, 'containerd started');
      const ctr = (args: string[]): Promise<Result> => w.run(['ctr', '-a', sock, '-n', 'k8s.io', ...args]);
      const cri = new CriClient(sock);
      t.teardown(() => cri.close());
      const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
      let version = '';
      for (let i = 0; i < 200 && version === ''; i++) {
        version = await cri.call<{ runtime_version: string }>('Version', { version: 'v1' }).then((v) => v.runtime_version, () => '');
        if (version === '') await sleep(50);
      }
      t.not(version, '', `the CRI plugin answers (containerd ${version})`, { log: await w.read('/run/hako-test-cri/log') });
      for (const image of ['bb', 'pause']) {
        r = await ctr(['image', 'import', path.join(dir, `${image}.tar`)]);
        t.equal(r.code, 0, `${image} image imported`, { stderr: r.stderr });
      }
      // The kubelet's slices (its systemd driver makes them as transient slices, parent first).
      const startSlice = async (slice: string, parent: string): Promise<void> => {
        r = await w.run(['busctl', 'call', '--', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'StartTransientUnit',
          'ssa(sv)a(sa(sv))', slice, 'replace', '2', 'Wants', 'as', '1', parent, 'DefaultDependencies', 'b', 'false', '0']);
        t.equal(r.code, 0, `${slice} started`, { stderr: r.stderr });
        for (let i = 0; i < 100 && (await w.show(slice, ['ActiveState'])).ActiveState !== 'active'; i++) await sleep(20);
      };
      await startSlice('kubepods.slice', '-.slice');
      await startSlice('kubepods-besteffort.slice', 'kubepods.slice');
      const nsOpts = { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' };
      const outcomes: Record<string, string[]> = {};
      for (const label of ['runc', 'hako']) {
        const steps: string[] = [];
        const step = async <T>(name: string, fn: () => Promise<T>): Promise<T | undefined> => {
          try {
            const v = await fn();
            t.pass(`${label}: ${name}`);
            steps.push(`${name}: ok`);
            return v;
          } catch (err) {
            t.fail(`${label}: ${name}: ${(err as Error).message}`);
            steps.push(`${name}: failed`);
            return undefined;
          }
        };
        // A pod UID's dashes are underscores in its slice name, as the kubelet writes it.
        const uid = `hakotest_${label}_${process.pid}`;
        const podSlice = `kubepods-besteffort-pod${uid}.slice`;
        const sliceDir = `/kubepods.slice/kubepods-besteffort.slice/${podSlice}`;
        await startSlice(podSlice, 'kubepods-besteffort.slice');
        const logDir = path.join(dir, 'pod-logs', uid);
        await fs.mkdir(logDir, { recursive: true });
        const sandboxConfig = {
          metadata: { name: `pod-${label}`, uid, namespace: 'default', attempt: 0 },
          hostname: '',
          log_directory: logDir,
          annotations: { 'org.systemd.property.CollectMode': "'inactive-or-failed'" },
          linux: { cgroup_parent: podSlice, security_context: { namespace_options: nsOpts } },
        };
        const pod = await step('run-pod-sandbox', async () => (await cri.call<{ pod_sandbox_id: string }>('RunPodSandbox', { config: sandboxConfig, runtime_handler: label })).pod_sandbox_id);
        if (!pod) continue;
        const scopeProps = ['ActiveState', 'Slice', 'ControlGroup', 'Delegate', 'CollectMode', 'Description'];
        const podUnit = `cri-containerd-${pod}.scope`;
        const podProps = await w.show(podUnit, scopeProps);
        t.same(
          podProps,
          { ActiveState: 'active', Slice: podSlice, ControlGroup: `${sliceDir}/${podUnit}`, Delegate: 'yes', CollectMode: 'inactive-or-failed', Description: `libcontainer container ${pod}` },
          `${label}: the sandbox's scope in the pod's slice, nested as systemd nests it, the pod's systemd annotation on it`,
        );
        steps.push(`sandbox scope: ${JSON.stringify({ ...podProps, ControlGroup: podProps.ControlGroup?.replace(pod, '<pod>').replace(uid, '<uid>'), Slice: podProps.Slice?.replace(uid, '<uid>'), Description: podProps.Description?.replace(pod, '<pod>') })}`);
        const ctrId = await step('create-container', async () =>
          (await cri.call<{ container_id: string }>('CreateContainer', {
            pod_sandbox_id: pod,
            sandbox_config: sandboxConfig,
            config: { metadata: { name: 'c1', attempt: 0 }, image: { image: 'localhost/bb:latest' }, command: ['sleep', '1000'], log_path: 'c1.log', linux: { security_context: { namespace_options: nsOpts } } },
          })).container_id,
        );
        if (ctrId) {
          const unit = `cri-containerd-${ctrId}.scope`;
          await step('start-container', () => cri.call('StartContainer', { container_id: ctrId }));
          const props = await w.show(unit, scopeProps);
          t.same(
            props,
            { ActiveState: 'active', Slice: podSlice, ControlGroup: `${sliceDir}/${unit}`, Delegate: 'yes', CollectMode: 'inactive-or-failed', Description: `libcontainer container ${ctrId}` },
            `${label}: the container's scope beside the sandbox's`,
          );
          await step('exec-sync: the container is in its scope', async () => {
            const res = await cri.call<{ stdout: Buffer; exit_code: number }>('ExecSync', { container_id: ctrId, cmd: ['cat', '/proc/self/cgroup'], timeout: 10 });
            if (res.exit_code !== 0 || !res.stdout.toString().includes(`${sliceDir}/${unit}`)) throw new Error(`exit ${res.exit_code}: ${res.stdout.toString()}`);
          });
          const dirs = await w.dirs(`${sliceDir}/${unit}`);
          t.ok(dirs.length > 0, `${label}: the container's cgroup directories`, { dirs });
          await step('stop-container', () => cri.call('StopContainer', { container_id: ctrId, timeout: 1 }));
          await step('remove-container', () => cri.call('RemoveContainer', { container_id: ctrId }));
          t.same(await w.units(unit), [], `${label}: the container's unit is gone`);
          t.same(await w.dirs(`${sliceDir}/${unit}`), [], `${label}: the container's cgroup is gone`);
        }
        await step('stop-pod-sandbox', () => cri.call('StopPodSandbox', { pod_sandbox_id: pod }));
        await step('remove-pod-sandbox', () => cri.call('RemovePodSandbox', { pod_sandbox_id: pod }));
        t.same(await w.units('cri-containerd-*'), [], `${label}: no scope left`);
        t.same(await w.dirs(`${sliceDir}/cri-containerd-*`), [], `${label}: no scope's cgroup left`);
        t.same(await fs.readdir(path.join(dir, `rt-root-${label}`, 'k8s.io')).catch(() => []), [], `${label}: no runtime state left`);
        // The kubelet then stops the pod's slice and removes what is left of its cgroup in the
        // hierarchies systemd does not manage (cpuset, freezer: the runtime made those), empty.
        t.equal((await w.run(['systemctl', 'stop', podSlice])).code, 0, `${label}: the pod's slice stopped`);
        t.same(await w.units(podSlice), [], `${label}: no pod slice unit`);
        const left = await w.dirs(sliceDir);
        steps.push(`left to the kubelet: ${left.map((d) => d.replace(uid, '<uid>')).join(' ')}`);
        r = await w.run(['rmdir', '--', ...left]);
        t.equal(r.code, left.length > 0 ? 0 : 1, `${label}: those are empty (rmdir)`, { left, stderr: r.stderr });
        t.same(await w.dirs(sliceDir), [], `${label}: no pod slice cgroup`);
        outcomes[label] = steps;
      }
      t.same(outcomes.hako, outcomes.runc, 'the same outcome step by step');
      t.equal((await w.run(['systemctl', 'stop', 'kubepods.slice'])).code, 0, 'the kubelet\'s slices stopped');
      t.same(await w.units('kubepods*'), [], 'no kubepods unit left');
      for (const d of (await w.dirs('/kubepods.slice')).sort((a, b) => b.length - a.length)) await w.run(['sh', '-c', `rmdir ${d}/* ${d}; true`]);
      t.same(await w.dirs('/kubepods.slice'), [], 'no kubepods cgroup left');
    });

    t.test('a nested slice is expanded as systemd does (a-b.slice under a.slice)', async (t) => {
      const bundle = await sleepBundle(t, w, (s) => (s.linux!.cgroupsPath = 'hakotest-nested.slice:hako:n'));
      const root = await w.stateRoot('nested');
      let r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'n']);
      t.equal(r.code, 0, 'run -d', { stderr: r.stderr });
      t.equal((await w.show('hako-n.scope', ['ControlGroup'])).ControlGroup, '/hakotest.slice/hakotest-nested.slice/hako-n.scope');
      const pid = JSON.parse((await w.rt(HAKO, root, ['state', 'n'])).stdout).pid as number;
      for (const dir of await w.dirs('/hakotest.slice/hakotest-nested.slice/hako-n.scope')) {
        t.match(await w.read(`${dir}/cgroup.procs`), new RegExp(`^${pid}$`, 'm'), dir);
      }
      r = await w.rt(HAKO, root, ['delete', '-f', 'n']);
      t.equal(r.code, 0, 'delete -f', { stderr: r.stderr });
      t.same(await w.units('hako-n.scope'), []);
      t.same(await w.dirs('/hakotest.slice/hakotest-nested.slice/hako-n.scope'), []);
    });

    t.test('bad input: runc\'s errors, and no unit, cgroup or state left', async (t) => {
      const cases: [string, string][] = [
        ['bad', 'malformed'],
        ['system:bad:x', 'a slice name without .slice'],
        ['a--b.slice:bad:x', 'a slice name systemd rejects'],
        ['system.slice:bad prefix:x', 'a unit name systemd rejects'],
        ['system.slice:bad:x.slice', 'a slice as the name (a slice takes no PIDs)'],
      ];
      for (const [cgroupsPath, what] of cases) {
        const messages: Record<string, string> = {};
        for (const [label, runtime] of [
          ['runc', RUNC],
          ['hako', HAKO],
        ] as const) {
          const bundle = await sleepBundle(t, w, (s) => (s.linux!.cgroupsPath = cgroupsPath));
          const root = await w.stateRoot(`bad-${label}`);
          const r = await w.rt(runtime, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'b']);
          t.equal(r.code, 1, `${label}: ${what} fails`);
          messages[label] = failure(r).replace(/^(runc|hako) run failed: /, '');
          t.equal((await w.rt(runtime, root, ['list', '-q'])).stdout, '', `${label}: ${what}: no state`);
          t.same(await w.units('bad*'), [], `${label}: ${what}: no unit`);
          t.same(await w.units('x.slice'), [], `${label}: ${what}: no slice unit`);
          t.same(await w.dirs('/system.slice/bad*'), [], `${label}: ${what}: no cgroup`);
        }
        t.equal(messages.hako, messages.runc, `${what}: runc's error`);
      }
    });

    t.test('org.systemd.property.* annotations: the unit\'s properties as runc sets them; bad ones refused as runc refuses them, nothing left', async (t) => {
      const annotations = {
        'org.systemd.property.TimeoutStopUSec': 'uint64 123456789',
        'org.systemd.property.CollectMode': "'inactive-or-failed'",
        'org.systemd.property.RuntimeMaxSec': '300',
        'org.systemd.property.After': "['dbus.socket', 'basic.target']",
        'org.systemd.property.SendSIGHUP': 'true',
        'some.other.annotation': 'not a property',
      };
      const shown = ['TimeoutStopUSec', 'CollectMode', 'RuntimeMaxUSec', 'After', 'SendSIGHUP', 'ActiveState', 'ControlGroup'];
      const seen: Record<string, Record<string, string>> = {};
      for (const [label, runtime] of [
        ['runc', RUNC],
        ['hako', HAKO],
      ] as const) {
        const bundle = await sleepBundle(t, w, (s) => {
          s.linux!.cgroupsPath = `system.slice:${label}:props`;
          s.annotations = annotations;
        });
        const root = await w.stateRoot(`props-${label}`);
        let r = await w.rt(runtime, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'props']);
        t.equal(r.code, 0, `${label} run -d`, { stderr: r.stderr });
        const props = await w.show(`${label}-props.scope`, shown);
        seen[label] = { ...props, After: props.After!.split(' ').sort().join(' '), ControlGroup: props.ControlGroup!.replace(label, '<rt>') };
        r = await w.rt(runtime, root, ['delete', '-f', 'props']);
        t.equal(r.code, 0, `${label} delete -f`, { stderr: r.stderr });
        t.same(await w.units(`${label}-props.scope`), [], `${label}: no unit left`);
      }
      t.same(
        seen.hako,
        {
          TimeoutStopUSec: '2min 3.456789s',
          CollectMode: 'inactive-or-failed',
          RuntimeMaxUSec: '5min',
          After: 'basic.target dbus.socket system.slice',
          SendSIGHUP: 'yes',
          ActiveState: 'active',
          ControlGroup: '/system.slice/<rt>-props.scope',
        },
        'the annotations are the unit\'s properties (TimeoutStopUSec as given, RuntimeMaxSec in microseconds)',
      );
      t.same(seen.hako, seen.runc, 'as runc sets them');

      const bad: [string, string, string][] = [
        ['org.systemd.property.TimeoutStopSec', "'covfefe'", 'a Sec property that is not a number'],
        ['org.systemd.property.Xo', '1', 'a name too short'],
        ['org.systemd.property.ValidName', 'invalid-value', 'a value that does not parse'],
        ['org.systemd.property.TimeoutStopUSec', 'uint64 -1', 'a number out of its type'],
        ['org.systemd.property.NoSuchProperty', "'x'", 'a property systemd does not know'],
      ];
      for (const [key, value, what] of bad) {
        const messages: Record<string, string> = {};
        for (const [label, runtime] of [
          ['runc', RUNC],
          ['hako', HAKO],
        ] as const) {
          const bundle = await sleepBundle(t, w, (s) => {
            s.linux!.cgroupsPath = 'system.slice:badprop:x';
            s.annotations = { [key]: value };
          });
          const root = await w.stateRoot(`badprop-${label}`);
          const r = await w.rt(runtime, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'b']);
          t.equal(r.code, 1, `${label}: ${what} fails`);
          messages[label] = failure(r).replace(/^(runc|hako) run failed: /, '');
          t.equal((await w.rt(runtime, root, ['list', '-q'])).stdout, '', `${label}: ${what}: no state`);
          t.same(await w.units('badprop*'), [], `${label}: ${what}: no unit`);
          t.same(await w.dirs('/system.slice/badprop-x.scope'), [], `${label}: ${what}: no cgroup`);
        }
        t.equal(messages.hako, messages.runc, `${what}: runc's error`);
      }
    });

    t.test('rootless with the systemd driver (a user manager): runc\'s refusal on a v1 or hybrid host, nothing left', async (t) => {
      const messages: Record<string, string> = {};
      for (const [label, runtime] of [
        ['runc', RUNC],
        ['hako', HAKO],
      ] as const) {
        const bundle = await sleepBundle(t, w, (s) => (s.linux!.cgroupsPath = 'user.slice:rootless:x'));
        const root = await w.stateRoot(`rootless-${label}`);
        const r = await w.rt(runtime, root, ['--rootless', 'true', '--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'rl']);
        t.equal(r.code, 1, `${label}: refused`);
        messages[label] = failure(r).replace(/^(runc|hako) run failed: /, '');
        t.equal((await w.rt(runtime, root, ['list', '-q'])).stdout, '', `${label}: no state`);
        t.same(await w.units('rootless-*'), [], `${label}: no unit`);
        t.same(await w.dirs('/user.slice/rootless-x.scope'), [], `${label}: no cgroup`);
      }
      t.equal(messages.hako, 'cannot use rootless systemd cgroups manager on cgroup v1');
      t.equal(messages.hako, messages.runc, "runc's error");
    });

    t.test('a unit that already exists: refused, the container that has it untouched', async (t) => {
      const bundle = await sleepBundle(t, w, (s) => (s.linux!.cgroupsPath = 'system.slice:hako:dup'));
      const root = await w.stateRoot('dup');
      let r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'one']);
      t.equal(r.code, 0, 'the first', { stderr: r.stderr });
      r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'two']);
      t.equal(r.code, 1, 'the second fails');
      // runc 1.1.5 only warns and joins the scope (then deleting either kills both); runc 1.2 refuses, as hako.
      t.equal(errorMessage(r), "hako run failed: container's cgroup is not empty: 1 process(es) found");
      t.equal((await w.rt(HAKO, root, ['list', '-q'])).stdout, 'one\n', 'no state for the second');
      t.equal(JSON.parse((await w.rt(HAKO, root, ['state', 'one'])).stdout).status, 'running', 'the first runs on');
      t.equal((await w.show('hako-dup.scope', ['ActiveState'])).ActiveState, 'active');
      r = await w.rt(HAKO, root, ['delete', '-f', 'one']);
      t.equal(r.code, 0);
      t.same(await w.units('hako-dup.scope'), []);
    });

    t.test('without a bus daemon: systemd\'s own socket; systemd not reachable at all: runc\'s error, nothing left', async (t) => {
      const bundle = await sleepBundle(t, w, (s) => (s.linux!.cgroupsPath = 'system.slice:hako:nobus'));
      const root = await w.stateRoot('nobus');
      t.equal((await w.run(['systemctl', 'stop', 'dbus.socket', 'dbus.service'])).code, 0, 'D-Bus stopped');
      let r = await w.rt(HAKO, root, ['--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'nobus']);
      t.equal(r.code, 0, 'run -d without a bus daemon', { stderr: r.stderr });
      t.equal((await w.show('hako-nobus.scope', ['ActiveState'])).ActiveState, 'active');
      r = await w.rt(HAKO, root, ['delete', '-f', 'nobus']);
      t.equal(r.code, 0, 'delete -f without a bus daemon', { stderr: r.stderr });
      t.same(await w.units('hako-nobus.scope'), []);
      // Neither the bus nor systemd's socket answers (a file bound over the socket, in a mount namespace of the command's own).
      const unreachable = (runtime: string): Promise<Result> =>
        w.run(['unshare', '-m', 'sh', '-c', 'mount --bind /dev/null /run/systemd/private && exec "$@"', 'sh', runtime, '--root', root, '--systemd-cgroup', 'run', '-d', '--bundle', bundle.dir, 'unreach']);
      const runc = await unreachable(RUNC);
      r = await unreachable(HAKO);
      t.equal(r.code, 1, 'fails');
      const cause =
        'failed to connect to dbus (hint: for rootless containers, maybe you need to install dbus-user-session package, ' +
        'see https://github.com/opencontainers/runc/blob/master/docs/cgroup-v2.md): dial unix /run/systemd/private: connect: connection refused';
      t.equal(errorMessage(r), `hako run failed: unable to start container process: unable to apply cgroup configuration: ${cause}`);
      t.ok(failure(runc).endsWith(`: ${cause}`), 'runc says the same, in the same words', { runc: failure(runc) });
      t.equal((await w.rt(HAKO, root, ['list', '-q'])).stdout, '', 'no state');
      t.same(await w.units('hako-*'), [], 'no unit');
      t.same(await w.dirs('/system.slice/hako-unreach.scope'), [], 'no cgroup');
      await w.run(['systemctl', 'start', 'dbus.socket']);
    });
  });
}
