// CPU and NUMA node lists (execCPUAffinity, linux.memoryPolicy.nodes), as runc parses them.
// A module of its own: exec plans with it without loading the rest of semantic.ts.

/** The highest CPU a cpu_set_t holds, as runc's parser (which reads NUMA node lists too). */
export const MAX_CPU = 1023;

/**
 * A CPU (or NUMA node) list ("0-3,7", spaces and empty elements allowed) as sorted
 * numbers, or why it is refused, as runc's toCPUSet: a range must not run backwards,
 * nothing above MAX_CPU, and a non-empty list must name at least one. "" is undefined:
 * no change.
 */
export function parseCpuList(text: string, unit: 'CPU' | 'node' = 'CPU'): { cpus?: number[]; error?: string } {
  if (text === '') return {};
  const set = new Set<number>();
  const number = (v: string): number | string => {
    const t = v.trim();
    if (!/^[0-9]+$/.test(t)) return `${JSON.stringify(t)} is not a ${unit} number`;
    const n = Number(t);
    return n > MAX_CPU ? `${unit} ${t} is above ${MAX_CPU}, the highest supported` : n;
  };
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const dash = part.indexOf('-');
    const start = number(dash < 0 ? part : part.slice(0, dash));
    if (typeof start === 'string') return { error: start };
    const end = dash < 0 ? start : number(part.slice(dash + 1));
    if (typeof end === 'string') return { error: end };
    if (start > end) return { error: `invalid range ${JSON.stringify(part)}` };
    for (let c = start; c <= end; c++) set.add(c);
  }
  if (set.size === 0) return { error: `no ${unit}s found in ${JSON.stringify(text)}` };
  return { cpus: [...set].sort((a, b) => a - b) };
}
