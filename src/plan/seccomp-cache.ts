// Compiled seccomp programs, cached on disk in the state root, as files:
//   <root>/.seccomp-<sha256 of the request, the architecture and libseccomp's version>.bpf
//   <root>/.seccomp-libseccomp.json   which libseccomp file had which version
// Files, not a directory: `list` (hako's and runc's, when they share a root) reads every
// subdirectory of the root as a container and skips files.
// A warm create reads the stamp, stats the library file it names and, if that file is
// unchanged, reads the program: libseccomp is not loaded at all. Files are written to a
// unique temp name and renamed into place, so concurrent creates see a whole file or none
// and the last rename wins with identical bytes. The cache is best effort: a file that
// cannot be read, parsed or written means compiling again, never a failed create.
//
// The compiler is passed in (the addon in launch.ts, a fake in unit tests): plan/ does
// not load the addon itself.
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../engine.js';
import { HakoError } from '../errors.js';
import type { LinuxSeccomp } from '../oci/types.js';
import type { PlanSeccomp } from './launch-plan.js';
import { type SeccompProfile, type SeccompRequest, exactArgValues, hasRoundedArgValues, seccompProfile } from './seccomp.js';

// node:crypto costs 5-13 ms to load under Node and 3-12 under Bun: only a cold cache (the
// temp file's name) loads it; the key is engine.ts's sha256Hex.
const crypto = (): typeof import('node:crypto') => process.getBuiltinModule('node:crypto');

export interface SeccompLibrary {
  /** "2.5.4" */
  version: string;
  /** the file the loader found (dladdr) */
  path?: string;
}

export interface SeccompCompiler {
  /** loads libseccomp if needed */
  library(): SeccompLibrary;
  compile(request: SeccompRequest): { program: Buffer; skipped: number[] };
}

export interface CompiledSeccomp {
  /** struct sock_filter[], 8 bytes each */
  program: Buffer;
  /** rules whose syscall name libseccomp did not know (only known when compiled now) */
  skipped: number[];
  /** read from the cache */
  cached: boolean;
}

/** Bump when the compiling changes in a way the request does not show (2: the ENOSYS stub). */
const CACHE_FORMAT = 2;
const PREFIX = '.seccomp-';
const STAMP = `${PREFIX}libseccomp.json`;

interface Stamp {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  version: string;
}

/** The cache file of a key in dir. */
export function seccompCacheFile(dir: string, key: string): string {
  return join(dir, `${PREFIX}${key}.bpf`);
}

/** The cache key: the request (bigints as decimal), the architecture, libseccomp's version. */
export function seccompCacheKey(request: SeccompRequest, arch: string, libseccompVersion: string): string {
  const text = JSON.stringify(request, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return sha256Hex(`hako-seccomp ${CACHE_FORMAT}\0${arch}\0${libseccompVersion}\0${text}`);
}

/** The program for request: from the cache in dir (the state root) when there is one, else compiled (and cached). */
export function compileSeccomp(request: SeccompRequest, compiler: SeccompCompiler, dir?: string, arch = process.arch): CompiledSeccomp {
  if (dir === undefined) return { ...compiler.compile(request), cached: false };
  const known = stampedVersion(dir);
  if (known !== undefined) {
    const key = seccompCacheKey(request, arch, known);
    const hit = readProgram(seccompCacheFile(dir, key));
    if (hit) return { program: hit, skipped: [], cached: true };
  }
  const lib = compiler.library();
  const file = seccompCacheFile(dir, seccompCacheKey(request, arch, lib.version));
  if (lib.version !== known) {
    const hit = readProgram(file);
    if (hit) {
      writeStamp(dir, lib);
      return { program: hit, skipped: [], cached: true };
    }
  }
  const compiled = compiler.compile(request);
  writeAtomically(file, compiled.program);
  if (lib.version !== known) writeStamp(dir, lib);
  return { ...compiled, cached: false };
}

function stampedVersion(dir: string): string | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, STAMP), 'utf8')) as Stamp;
    const st = statSync(s.path);
    const same = st.dev === s.dev && st.ino === s.ino && st.size === s.size && st.mtimeMs === s.mtimeMs;
    return same && typeof s.version === 'string' ? s.version : undefined;
  } catch {
    return undefined;
  }
}

function writeStamp(dir: string, lib: SeccompLibrary): void {
  if (!lib.path) return;
  try {
    const st = statSync(lib.path);
    const stamp: Stamp = { path: lib.path, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, version: lib.version };
    writeAtomically(join(dir, STAMP), Buffer.from(JSON.stringify(stamp)));
  } catch {
    // no stamp: the next create loads libseccomp to learn its version
  }
}

/** A cached program, or undefined when there is none or it is not a whole BPF program. */
function readProgram(file: string): Buffer | undefined {
  try {
    const b = readFileSync(file);
    return b.length > 0 && b.length % 8 === 0 ? b : undefined;
  } catch {
    return undefined;
  }
}

function writeAtomically(file: string, bytes: Buffer): void {
  const tmp = `${file}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // never made
    }
  }
}

export interface PlanSeccompOptions {
  compiler: SeccompCompiler;
  /** where compiled programs are cached (the state root); none: always compile */
  cacheDir?: string;
  /** config.json's text, read only when an argument value needs its exact digits */
  configText?: () => string;
}

export interface PlannedSeccomp extends Omit<PlanSeccomp, 'listenerSocket'> {
  /** a rule uses SCMP_ACT_NOTIFY: the init hands a listener to the agent at listenerPath */
  notify: boolean;
  /** the syscall names libseccomp did not know, skipped (only when compiled now) */
  skipped: string[];
  cached: boolean;
}

/** linux.seccomp -> the plan's compiled filter; errors name the JSON pointer where one applies. */
export function planSeccomp(sc: LinuxSeccomp, opts: PlanSeccompOptions): PlannedSeccomp {
  const exact = opts.configText && hasRoundedArgValues(sc) ? exactArgValues(opts.configText()) : undefined;
  const profile = seccompProfile(sc, exact);
  let compiled: CompiledSeccomp;
  try {
    compiled = compileSeccomp(profile.request, opts.compiler, opts.cacheDir);
  } catch (err) {
    throw compileError(err, profile);
  }
  return {
    flags: profile.flags,
    program: compiled.program,
    notify: profile.notify,
    skipped: compiled.skipped.map((i) => profile.request.rules[i]!.name),
    cached: compiled.cached,
  };
}

/** The addon's error (with `rule` or `arch`: the index it was about) as a HakoError with a pointer. */
function compileError(err: unknown, profile: SeccompProfile): HakoError {
  if (err instanceof HakoError) return err;
  const e = err as Error & { rule?: number; arch?: number; code?: string };
  const message = String(e?.message ?? err);
  const pointer = e.rule !== undefined ? profile.rulePointers[e.rule] : e.arch !== undefined ? profile.archPointers[e.arch] : undefined;
  return new HakoError(message.startsWith('seccomp:') ? message : `seccomp: ${message}`, {
    ...(pointer ? { pointer } : {}),
    ...(e.code?.startsWith('E') && e.code !== 'ELIBSECCOMP' ? { errno: e.code } : {}),
  });
}
