// A real unprivileged user for the rootless tests: made with useradd (no home, no
// automatic subordinate ids), given its own /etc/subuid and /etc/subgid range, and removed
// at teardown (userdel drops its subordinate ids too; any line left is removed by hand),
// whatever the test did. Commands run as the user through runuser, with its own
// XDG_RUNTIME_DIR (0700, the user's), as a login session would have it.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCommand, type CommandOptions, type CommandResult, type Teardownable } from './runtime.js';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** the first of its 65536 subordinate uids and gids */
  subStart: number;
  /** its XDG_RUNTIME_DIR */
  xdg: string;
  /** a scratch directory the user owns (0755) */
  home: string;
  /** runs file with args as the user (env: PATH, XDG_RUNTIME_DIR, HOME, and `env`) */
  run(file: string, args: string[], opts?: CommandOptions & { extraEnv?: Record<string, string> }): Promise<CommandResult>;
  /** the argv that runs a command as the user (for a terminal driver or a shell) */
  argv(file: string, args: string[], extraEnv?: Record<string, string>): string[];
}

/** Why the rootless tests cannot run here, or false. */
export function unprivilegedSkip(): string | false {
  if (process.geteuid?.() !== 0) return 'needs root to make a test user';
  for (const tool of ['useradd', 'userdel', 'runuser']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return false;
}

const pending = new Set<() => void>();
let hooked = false;
function removeOnSignal(): void {
  if (hooked) return;
  hooked = true;
  const all = () => {
    for (const f of pending) f();
    pending.clear();
  };
  process.on('exit', all);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      all();
      process.kill(process.pid, sig);
    });
  }
}

function dropLines(file: string, name: string): void {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const kept = text.split('\n').filter((l) => !l.startsWith(`${name}:`));
  if (kept.length !== text.split('\n').length) writeFileSync(file, kept.join('\n'));
}

export async function makeTestUser(t: Teardownable, label = 'u'): Promise<TestUser> {
  const name = `hakotest-${process.pid % 100000}-${label}`.slice(0, 31);
  // A range no real user is likely to have: 2^31 and up, one slot per test process.
  const subStart = 2 ** 31 + ((process.pid * 7 + label.length) % 4096) * 65536;
  removeOnSignal();
  execFileSync('useradd', ['-M', '-N', '-s', '/bin/sh', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', name]);
  const home = path.join(tmpdir(), name);
  const remove = () => {
    try {
      execFileSync('pkill', ['-KILL', '-U', name], { stdio: 'ignore' });
    } catch {
      // nothing of the user's runs
    }
    try {
      execFileSync('userdel', [name], { stdio: 'ignore' });
    } catch {
      // removed below by hand
    }
    for (const f of ['/etc/subuid', '/etc/subgid', '/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow']) dropLines(f, name);
    rmSync(home, { recursive: true, force: true });
  };
  // At teardown, and also when the test process is stopped (a tap timeout) before it.
  pending.add(remove);
  t.teardown(() => {
    pending.delete(remove);
    remove();
  });
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  const range = `${subStart}-${subStart + 65535}`;
  execFileSync('usermod', ['--add-subuids', range, '--add-subgids', range, name]);
  mkdirSync(home, { recursive: true });
  chownSync(home, uid, gid);
  chmodSync(home, 0o755);
  const xdg = path.join(home, 'xdg');
  mkdirSync(xdg);
  chownSync(xdg, uid, gid);
  chmodSync(xdg, 0o700);
  const envArgs = (extra: Record<string, string> = {}) =>
    Object.entries({ PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', XDG_RUNTIME_DIR: xdg, HOME: home, ...extra }).map(([k, v]) => `${k}=${v}`);
  const argv = (file: string, args: string[], extraEnv?: Record<string, string>) => ['runuser', '-u', name, '--', 'env', '-i', ...envArgs(extraEnv), file, ...args];
  return {
    name,
    uid,
    gid,
    subStart,
    xdg,
    home,
    argv,
    run: (file, args, opts = {}) => {
      const [cmd, ...rest] = argv(file, args, opts.extraEnv);
      return runCommand(cmd!, rest, { cwd: home, ...opts });
    },
  };
}
