// OOM notification without polling. v1: an eventfd registered on memory.oom_control
// (the addon makes it; a thread-pool worker waits on it); the kernel signals it on every
// OOM in the cgroup and once more when the cgroup is removed, told apart by whether
// cgroup.event_control is still there. v2: inotify (fs.watch) on memory.events, which the
// kernel marks modified when a counter changes; an OOM is a growing oom_kill counter.
import { closeSync, existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { readCgroupFileIfAny } from './cgroupfs.js';
import { oomCount } from './stats.js';

export interface OomWatch {
  /** stop watching (the v1 eventfd is closed once its waiting worker returns) */
  stop(): void;
}

export interface OomHandlers {
  oom: () => void;
  /** the cgroup went away (v1: the eventfd's last signal); may not be called on v2 */
  gone?: () => void;
  /** the watch failed after it started */
  error?: (err: unknown) => void;
}

/** How long one eventfd wait on the thread pool lasts before it looks at `stopped` again. */
const WAIT_SLICE_MS = 1000;

export function watchOomV1(memoryDir: string, h: OomHandlers): OomWatch {
  const efd = native().oomEventfd(memoryDir);
  let stopped = false;
  void (async () => {
    try {
      while (!stopped) {
        const n = await native().eventfdWait(efd, WAIT_SLICE_MS);
        if (stopped || n === 0) continue;
        if (!existsSync(join(memoryDir, 'cgroup.event_control'))) {
          stopped = true;
          h.gone?.();
          break;
        }
        h.oom();
      }
    } catch (err) {
      stopped = true;
      h.error?.(err);
    } finally {
      closeSync(efd);
    }
  })();
  return {
    stop: () => {
      stopped = true;
    },
  };
}

export function watchOomV2(dir: string, h: OomHandlers): OomWatch {
  const file = join(dir, 'memory.events');
  let last = oomCount(readCgroupFileIfAny(dir, 'memory.events'));
  let watcher: FSWatcher | undefined = watch(file, { persistent: true }, () => {
    const text = readCgroupFileIfAny(dir, 'memory.events');
    if (text === undefined) {
      stop();
      h.gone?.();
      return;
    }
    const now = oomCount(text);
    if (now > last) h.oom();
    last = now;
  });
  watcher.on('error', (err) => {
    stop();
    if (existsSync(dir)) h.error?.(err);
    else h.gone?.();
  });
  const stop = (): void => {
    watcher?.close();
    watcher = undefined;
  };
  return { stop };
}
