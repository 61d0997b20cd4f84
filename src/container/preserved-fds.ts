// --preserve-fds (create, run, exec): which of the caller's fds 3, 4, ... go to the process.
// A module of its own so that exec loads it without create's (the config's validators).
import { readdirSync, readlinkSync } from 'node:fs';
import { HakoError } from '../errors.js';

// Only fds the caller gave us can be preserved (CVE-2024-21626 class). Node marks every
// fd close-on-exec at start-up, so that cannot tell; its own fds are event machinery
// (anon_inode: epoll, eventfd, io_uring) and pipes whose both ends it holds: an fd to
// preserve that looks like one of those was not passed by the caller.
export function preservedFds(count: number): number[] {
  if (count === 0) return [];
  const targets = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      targets.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the fd of the listing itself
    }
  }
  const fds: number[] = [];
  for (let fd = 3; fd < 3 + count; fd++) {
    const target = targets.get(fd);
    if (target === undefined) throw new HakoError(`--preserve-fds: fd ${fd} is not open`);
    const ownPipe = target.startsWith('pipe:') && [...targets].some(([other, t]) => other >= 3 + count && t === target);
    if (target.startsWith('anon_inode:') || ownPipe) {
      throw new HakoError(`--preserve-fds: fd ${fd} was not passed to hako (it is hako's own ${target})`);
    }
    fds.push(fd);
  }
  return fds;
}
