// hako update [opts] <id>: change a live container's resources. `--resources FILE|-` takes
// an OCI LinuxResources object (containerd and CRI-O send it on stdin) and then every other
// flag is ignored; otherwise each flag given sets its one value. Written to the cgroup and
// recorded in the container's state.
import { HakoError, UsageError } from '../errors.js';
import { MAX_JSON_DEPTH, excessDepthAt, readInputFd, readInputFile } from '../input-limits.js';
import { updateContainer } from '../container/lifecycle.js';
import type { LinuxResources } from '../oci/types.js';
import { describeJsonError } from '../oci/json-syntax.js';
import { stringFlag, type CommandContext } from './context.js';
import type { FlagValues } from './argv.js';

export function run(ctx: CommandContext): void {
  updateContainer(ctx.root, ctx.args[0]!, () => resourcesFromFlags(ctx.flags));
}

/** The resources the command line asks for. */
export function resourcesFromFlags(flags: FlagValues): LinuxResources {
  const file = stringFlag(flags, 'resources');
  if (file !== undefined) return parseResources(file === '-' ? readInputFd(0, 'resources from stdin') : readInputFile(file, 'resources'), file === '-' ? 'stdin' : file);

  const r: LinuxResources = {};
  const given = (name: string): string | undefined => stringFlag(flags, name);
  const num = (name: string, parse: (v: string) => number): number | undefined => {
    const v = given(name);
    return v === undefined ? undefined : parse(v);
  };
  const cpu = {
    shares: num('cpu-share', (v) => integer('cpu-share', v, false)),
    period: num('cpu-period', (v) => integer('cpu-period', v, false)),
    quota: num('cpu-quota', (v) => integer('cpu-quota', v, true)),
    burst: num('cpu-burst', (v) => integer('cpu-burst', v, false)),
    realtimePeriod: num('cpu-rt-period', (v) => integer('cpu-rt-period', v, false)),
    realtimeRuntime: num('cpu-rt-runtime', (v) => integer('cpu-rt-runtime', v, true)),
    idle: num('cpu-idle', (v) => integer('cpu-idle', v, true)),
    cpus: given('cpuset-cpus'),
    mems: given('cpuset-mems'),
  };
  const memory = {
    limit: num('memory', (v) => memoryBytes('memory', v)),
    reservation: num('memory-reservation', (v) => memoryBytes('memory-reservation', v)),
    swap: num('memory-swap', (v) => memoryBytes('memory-swap', v)),
  };
  const defined = <T extends object>(o: T): T | undefined => {
    const kept = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
    return Object.keys(kept).length > 0 ? kept : undefined;
  };
  if (defined(cpu)) r.cpu = defined(cpu);
  if (defined(memory)) r.memory = defined(memory);
  const weight = flags['blkio-weight']; // a uint flag: checked by the parser
  if (typeof weight === 'number') r.blockIO = { weight };
  const pids = num('pids-limit', (v) => integer('pids-limit', v, true, true));
  if (pids !== undefined) r.pids = { limit: pids };
  if (given('l3-cache-schema') || given('mem-bw-schema')) {
    throw new HakoError('Intel RDT: l3-cache-schema and mem-bw-schema are not supported by hako');
  }
  return r;
}

/** A JSON LinuxResources object; unknown members are kept (the spec allows them). */
export function parseResources(text: string, from: string): LinuxResources {
  let value: unknown;
  try {
    if (excessDepthAt(text) >= 0) throw new Error(`exceeded max depth: more than ${MAX_JSON_DEPTH} nested arrays and objects`);
    value = JSON.parse(text);
  } catch (err) {
    throw new HakoError(`${from}: invalid resources JSON: ${describeJsonError(text, err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HakoError(`${from}: resources must be a JSON object (OCI LinuxResources)`);
  }
  return value as LinuxResources;
}

function integer(flag: string, v: string, signed: boolean, usage = false): number {
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(v)) {
    // runc: typed flags fail as usage errors, string ones when they are converted
    if (usage) {
      const detail = `invalid value ${JSON.stringify(v)} for flag -${flag}: parse error`;
      throw new UsageError(detail, 'update', detail);
    }
    throw new HakoError(`invalid value for ${flag}: ${JSON.stringify(v)} is not ${signed ? 'an integer' : 'an unsigned integer'}`);
  }
  return Number(v);
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** A size such as 200M, 1.5g, 4096, 1GiB (binary units, as docker/go-units); -1 is unlimited. */
export function memoryBytes(flag: string, v: string): number {
  if (v === '-1') return -1;
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) throw new HakoError(`invalid value for ${flag}: invalid size: '${v}'`);
  return Math.trunc(Number.parseFloat(m[1]!) * UNITS[(m[2] ?? '').toLowerCase()]!);
}
