// hako events [--interval 5s] [--stats] <id>: JSON lines, as runc prints them.
// {"type":"stats","id":…,"data":{cpu, cpuset, memory, pids, blkio, hugetlb, …}} every
// interval (--stats: one, now, then exit), and {"type":"oom","id":…} when the kernel
// reports an OOM (v1: an eventfd on memory.oom_control; v2: inotify on memory.events).
// Ends when the container's cgroup is gone.
import { UsageError } from '../errors.js';
import { liveContainerCgroup } from '../container/lifecycle.js';
import { statsJson } from '../cgroups/stats.js';
import { writeStdout } from '../output.js';
import { boolFlag, stringFlag, type CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<void> {
  const given = stringFlag(ctx.flags, 'interval') ?? '5s';
  const interval = parseDuration(given);
  if (interval === undefined || interval <= 0) {
    const detail = `invalid value ${JSON.stringify(given)} for flag -interval: parse error`;
    throw new UsageError(detail, 'events', detail);
  }
  const id = ctx.args[0]!;
  const cg = liveContainerCgroup(ctx.root, id);
  const emit = (type: 'stats' | 'oom', data?: unknown): void => {
    writeStdout(`${statsJson({ type, id, ...(data === undefined ? {} : { data }) })}\n`);
  };
  if (boolFlag(ctx.flags, 'stats')) {
    emit('stats', cg.stats());
    return;
  }
  await new Promise<void>((resolve) => {
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      oom?.stop();
      resolve();
    };
    // OOMs as the kernel reports them (v1: eventfd; v2: memory.events modified). A watch
    // that cannot be set up or fails later costs the oom events only, as in runc.
    let oom: ReturnType<typeof cg.watchOom>;
    try {
      oom = cg.watchOom({ oom: () => emit('oom'), gone: () => end(), error: (err) => ctx.log.warn(`oom notifications stopped: ${(err as Error).message}`) });
    } catch (err) {
      ctx.log.warn(`no oom notifications: ${(err as Error).message}`);
    }
    let due = Date.now() + interval;
    // The cgroup's presence (and the stats) are looked at every tick; without a memory
    // controller nothing else says when the cgroup is gone.
    const timer = setInterval(() => {
      if (!cg.exists()) {
        end();
        return;
      }
      if (Date.now() >= due) {
        due += interval;
        try {
          emit('stats', cg.stats());
        } catch {
          // the cgroup went away between the check and the read: the next tick ends
        }
      }
    }, Math.min(500, interval));
  });
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** A Go duration ("5s", "1m30s", "250ms", "1.5h") in milliseconds; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}
