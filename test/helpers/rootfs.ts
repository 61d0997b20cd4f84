// The test root filesystem and bundles built on it.
//
// testRootfs() builds, once per set of inputs, a minimal rootfs: busybox-static with a
// symlink per applet in /bin, the probe at /probe, /etc/passwd and /etc/group, and the
// usual empty directories. It is cached under $HAKO_TEST_CACHE (default
// <tmpdir>/hako-test-cache) in a directory named by a hash of its inputs (busybox, the
// probe and this file: path, size, mtime), so rebuilding the probe or editing this file
// gives a new rootfs. It is built in a private temp dir and renamed into place, so
// concurrent test files never see a half-built one; the loser of a race drops its copy.
//
// makeBundle() gives every test its own bundle with a *copy* of that rootfs (about 3 MB,
// copied in milliseconds; files are reflinked where the filesystem allows). A copy, not
// a bind mount or a hardlink farm, so a test may set root.readonly=false, write, chmod
// or chown anything in it without touching the cache or other tests. The bundle is
// removed by a teardown registered on the test, which runs when the test fails too.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSpec } from '../../src/oci/default-spec.js';
import type { Spec } from '../../src/oci/types.js';
import { PROBE_IN_ROOTFS, PROBE_PATH } from './probe.js';
import { mountsUnder, unmountAllUnder, type Teardownable } from './runtime.js';

// The brief's names for the runtime helpers, so tests can import everything from here.
export { isRoot, runContainer, runtimeAvailable, type Teardownable } from './runtime.js';

/** busybox-static, as Debian installs it; HAKO_TEST_BUSYBOX overrides. */
export const BUSYBOX_PATH = process.env.HAKO_TEST_BUSYBOX ?? '/bin/busybox';

/** Where cached rootfs builds live. */
export const CACHE_DIR = process.env.HAKO_TEST_CACHE ?? path.join(tmpdir(), 'hako-test-cache');

/** The (non-root) user and group the rootfs knows by name. */
export const TEST_USER = { name: 'hako', uid: 1000, gid: 1000 } as const;

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  `${TEST_USER.name}:x:${TEST_USER.uid}:${TEST_USER.gid}:hako test user:/tmp:/bin/sh`,
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
];
const GROUP = ['root:x:0:', 'tty:x:5:', `users:x:100:${TEST_USER.name}`, `${TEST_USER.name}:x:${TEST_USER.gid}:`, 'nogroup:x:65534:'];

/** Directories every rootfs has, with their modes. */
const DIRS: Array<[string, number]> = [
  ['bin', 0o755],
  ['etc', 0o755],
  ['dev', 0o755],
  ['proc', 0o555],
  ['sys', 0o555],
  ['tmp', 0o1777],
  ['root', 0o700],
  ['run', 0o755],
  ['usr', 0o755],
  ['usr/bin', 0o755],
  ['var', 0o755],
];

const SOURCE_FILE = fileURLToPath(import.meta.url);

let cached: Promise<string> | undefined;

/**
 * The path of the cached test rootfs (build it first if needed). Treat it as read-only:
 * use makeBundle() for anything a container runs in. /probe is there only if the probe
 * is built (see probeBuilt()).
 */
export function testRootfs(): Promise<string> {
  cached ??= buildCachedRootfs();
  return cached;
}

function inputFingerprint(file: string): string {
  try {
    const st = statSync(file);
    return `${file}:${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return `${file}:missing`;
  }
}

async function buildCachedRootfs(): Promise<string> {
  if (!existsSync(BUSYBOX_PATH)) {
    throw new Error(`${BUSYBOX_PATH} not found: install busybox-static (apt-get install busybox-static)`);
  }
  const key = createHash('sha256')
    .update([BUSYBOX_PATH, PROBE_PATH, SOURCE_FILE].map(inputFingerprint).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const final = path.join(CACHE_DIR, `rootfs-${key}`);
  if (existsSync(final)) return final;

  await fs.mkdir(CACHE_DIR, { recursive: true, mode: 0o755 });
  const scratch = path.join(CACHE_DIR, `.build-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await populateRootfs(scratch);
    try {
      await fs.rename(scratch, final);
    } catch (err) {
      // Another test file finished the same build first: use theirs.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(final)) throw err;
    }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  await pruneStaleBuilds(path.basename(final));
  return final;
}

async function populateRootfs(dir: string): Promise<void> {
  await fs.mkdir(dir, { mode: 0o755 });
  await fs.chmod(dir, 0o755);
  for (const [sub, mode] of DIRS) {
    await fs.mkdir(path.join(dir, sub), { mode });
    await fs.chmod(path.join(dir, sub), mode); // mkdir's mode is filtered by the umask
  }
  await fs.copyFile(BUSYBOX_PATH, path.join(dir, 'bin/busybox'));
  await fs.chmod(path.join(dir, 'bin/busybox'), 0o755);
  for (const applet of busyboxApplets()) {
    if (applet === 'busybox' || applet.includes('/')) continue;
    await fs.symlink('busybox', path.join(dir, 'bin', applet));
  }
  if (existsSync(PROBE_PATH)) {
    const probe = path.join(dir, PROBE_IN_ROOTFS);
    await fs.copyFile(PROBE_PATH, probe);
    await fs.chmod(probe, 0o755);
  }
  await fs.writeFile(path.join(dir, 'etc/passwd'), PASSWD.join('\n') + '\n', { mode: 0o644 });
  await fs.writeFile(path.join(dir, 'etc/group'), GROUP.join('\n') + '\n', { mode: 0o644 });
  await fs.writeFile(path.join(dir, 'etc/hostname'), 'hako\n', { mode: 0o644 });
}

function busyboxApplets(): string[] {
  const out = execFileSync(BUSYBOX_PATH, ['--list'], { encoding: 'utf8' });
  return out.split('\n').filter((name) => name !== '');
}

// Remove other builds more than an hour old (an older probe, an older layout).
async function pruneStaleBuilds(keep: string): Promise<void> {
  const hourAgo = Date.now() - 3600_000;
  for (const entry of await fs.readdir(CACHE_DIR)) {
    if (entry === keep || !(entry.startsWith('rootfs-') || entry.startsWith('.build-'))) continue;
    const full = path.join(CACHE_DIR, entry);
    try {
      if ((await fs.stat(full)).mtimeMs < hourAgo) await fs.rm(full, { recursive: true, force: true });
    } catch {
      // Raced with another pruner: fine.
    }
  }
}

/** Copies a directory tree: directories and files with their modes, symlinks as links. */
async function copyTree(from: string, to: string): Promise<void> {
  const st = await fs.lstat(from);
  await fs.mkdir(to);
  await fs.chmod(to, st.mode & 0o7777);
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await copyTree(src, dst);
    } else if (entry.isSymbolicLink()) {
      await fs.symlink(await fs.readlink(src), dst);
    } else if (entry.isFile()) {
      await fs.copyFile(src, dst, fs.constants.COPYFILE_FICLONE);
      await fs.chmod(dst, (await fs.stat(src)).mode & 0o7777);
    }
  }
}

export interface BundleOptions {
  /** process.args; default ['/probe']. */
  args?: string[];
  /** Start from `defaultSpec({ rootless: true })` instead of the root default. */
  rootless?: boolean;
  /** Edits the spec before config.json is written. */
  edit?: (spec: Spec) => void;
  /** where the bundle's directory is made (default: the temp dir) */
  parent?: string;
}

export interface Bundle {
  /** The bundle directory (pass to `--bundle`). */
  dir: string;
  /** dir/rootfs, this bundle's own copy of the test rootfs. */
  rootfs: string;
  configPath: string;
  /** The spec written to config.json; after changing it, call writeConfig(). */
  spec: Spec;
  writeConfig(): Promise<void>;
}

/**
 * A fresh bundle in a temp dir: config.json from defaultSpec() with terminal=false and
 * the given args (then `edit`), and a private copy of the test rootfs at ./rootfs.
 * Removed by a teardown on `t` (after unmounting anything a runtime left mounted under it).
 */
export async function makeBundle(t: Teardownable, opts: BundleOptions = {}): Promise<Bundle> {
  const source = await testRootfs();
  const dir = await fs.mkdtemp(path.join(opts.parent ?? tmpdir(), 'hako-bundle-'));
  t.teardown(() => removeBundleDir(dir));
  await fs.chmod(dir, 0o755);

  const rootfs = path.join(dir, 'rootfs');
  await copyTree(source, rootfs);

  const spec = defaultSpec({ rootless: opts.rootless ?? false });
  spec.process!.terminal = false;
  spec.process!.args = opts.args ?? [PROBE_IN_ROOTFS];
  opts.edit?.(spec);

  const configPath = path.join(dir, 'config.json');
  const bundle: Bundle = {
    dir,
    rootfs,
    configPath,
    spec,
    writeConfig: () => fs.writeFile(configPath, JSON.stringify(bundle.spec, null, 2) + '\n', { mode: 0o644 }),
  };
  await bundle.writeConfig();
  return bundle;
}

/**
 * Unmounts whatever is still mounted under a bundle, then removes it. Refuses (throws)
 * rather than recursively deleting through a mount it could not detach.
 */
export async function removeBundleDir(dir: string): Promise<void> {
  if (mountsUnder(dir).length > 0) unmountAllUnder(dir);
  const stuck = mountsUnder(dir);
  if (stuck.length > 0) throw new Error(`not removing ${dir}: still mounted: ${stuck.join(', ')}`);
  await fs.rm(dir, { recursive: true, force: true });
}
