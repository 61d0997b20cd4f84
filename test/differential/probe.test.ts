// Differential: the same bundle run in the foreground under runc (the reference, Debian's
// 1.1.5) and under dist/hako; the probe's two reports must agree field by field, modulo
// what is different on every run (namespace inode numbers, pipe inodes, mount ids and
// device numbers, peer group ids), and the mount tables must agree line by line, in order.
// Both runs use the same container id (in separate state roots, one after the other), so
// names derived from it (cgroup paths, the session keyring) compare too.
// Every difference fails with a readable diff; the differences accepted on purpose are
// asserted explicitly below, each with the reason. Needs root, runc, dist/hako, the probe.
import { statSync } from 'node:fs';
import t, { type Test } from 'tap';
import { makeBundle, type Bundle, type BundleOptions } from '../helpers/rootfs.js';
import { parseProbeReport, type ProbeMount, type ProbeReport } from '../helpers/probe.js';
import { containerId, runContainer, type RunResult } from '../helpers/runtime.js';
import { HAKO, checkNothingLeft, chownTree, differentialSkip } from '../helpers/lifecycle.js';
import type { Spec } from '../../src/oci/types.js';

const skip = differentialSkip();

// Paths the probe is asked about in every scenario: device nodes, /dev symlinks, and
// writes that must fail (read-only and masked paths) or succeed.
const PROBE_ARGS = [
  ...['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/console', '/dev/ptmx', '/dev/pts/ptmx', '/dev/shm', '/dev/mqueue', '/proc/keys', '/proc/acpi', '/sys/firmware', '/etc', '/etc/passwd', '/tmp'].flatMap((p) => ['--stat', p]),
  ...['/dev/fd', '/dev/stdin', '/dev/stdout', '/dev/stderr', '/dev/ptmx', '/dev/core'].flatMap((p) => ['--lstat', p]),
  ...['/proc/sys/kernel/domainname', '/proc/sysrq-trigger', '/sys/kernel/uevent_helper', '/dev/null', '/dev/shm/x', '/tmp/x', '/x'].flatMap((p) => ['--write', p]),
];

function hostNs(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ns of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'pid_for_children', 'time', 'time_for_children', 'user', 'uts']) {
    try {
      out[ns] = statSync(`/proc/self/ns/${ns}`).ino;
    } catch {
      // not on this kernel
    }
  }
  return out;
}

/** A mount as one comparable line, without per-run numbers (ids, device numbers, peer groups). */
function mountLine(m: ProbeMount): string {
  if (m.unparsed !== undefined) return `unparsed: ${m.unparsed}`;
  const optional = m.optional_fields.map((f) => f.replace(/:\d+/g, ':*')).join(',');
  return [
    m.mount_point,
    m.fs_type,
    `root=${m.root}`,
    `src=${m.source}`,
    `opts=${m.options.join(',')}`,
    `super=${m.super_options.join(',')}`,
    `prop=${m.propagation}${optional ? ` [${optional}]` : ''}`,
  ].join(' ');
}

/** The report with per-run values replaced: namespaces as host/private, pipe and socket inodes as *. */
function normalize(r: ProbeReport, host: Record<string, number>): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
  delete copy.mounts; // compared separately, as lines
  const ns = (r.namespaces ?? {}) as Record<string, number | null>;
  copy.namespaces = Object.fromEntries(
    Object.entries(ns).map(([k, v]) => [k, v === null ? null : v === host[k] ? 'host' : 'private']),
  );
  // Which namespaces are the same one (pid and pid_for_children, ...), without the numbers.
  copy.namespace_groups = Object.values(
    Object.entries(ns).reduce<Record<string, string[]>>((acc, [k, v]) => {
      (acc[String(v)] ??= []).push(k);
      return acc;
    }, {}),
  )
    .map((g) => g.sort().join('='))
    .sort();
  copy.fds = Object.fromEntries(
    Object.entries(r.fds ?? {}).map(([fd, link]) => [fd, link?.replace(/^(pipe|socket|anon_inode:\[?[a-z_]+\]?):\[\d+\]$/, '$1:[*]') ?? null]),
  );
  return copy;
}

/** Flattens JSON into path -> JSON-encoded leaf value. */
function flatten(v: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (v !== null && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    if (entries.length === 0) out.set(prefix, Array.isArray(v) ? '[]' : '{}');
    for (const [k, x] of entries) flatten(x, Array.isArray(v) ? `${prefix}[${k}]` : prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(v));
  }
  return out;
}

/** "path: runc=X hako=Y" for every leaf that differs. */
function fieldDiff(a: unknown, b: unknown): string[] {
  const fa = flatten(a, '', new Map());
  const fb = flatten(b, '', new Map());
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  return keys
    .filter((k) => fa.get(k) !== fb.get(k))
    .map((k) => `${k}: runc=${fa.get(k) ?? '(missing)'} hako=${fb.get(k) ?? '(missing)'}`);
}

/** A unified-style line diff (LCS): "  same", "- only runc", "+ only hako". Empty if equal. */
function lineDiff(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(`+ ${b[j]} (hako only)`);
      j++;
    } else {
      out.push(`- ${a[i]} (runc only)`);
      i++;
    }
  }
  return out.some((l) => !l.startsWith('  ')) ? out : [];
}

interface Pair {
  runc: RunResult;
  hako: RunResult;
  runcReport: ProbeReport;
  hakoReport: ProbeReport;
  bundle: Bundle;
  spec: Spec;
}

async function runBoth(
  t: Test,
  opts: BundleOptions & { runArgs?: string[]; prepare?: (b: Bundle) => Promise<void> },
): Promise<Pair | undefined> {
  const id = containerId('diff');
  const bundle = await makeBundle(t, { ...opts, args: opts.args ?? ['/probe', ...PROBE_ARGS] });
  await opts.prepare?.(bundle);
  const runc = await runContainer('runc', bundle, id, { runArgs: opts.runArgs });
  const hako = await runContainer(HAKO, bundle, id, { runArgs: opts.runArgs });
  t.equal(hako.code, runc.code, `the same exit code (runc ${runc.code})`, { runcStderr: runc.stderr, hakoStderr: hako.stderr });
  t.equal(hako.stderr, runc.stderr, 'the same stderr');
  let runcReport: ProbeReport;
  let hakoReport: ProbeReport;
  try {
    runcReport = parseProbeReport(runc.stdout);
  } catch (err) {
    t.fail(`runc gave no report: ${(err as Error).message}`, { stderr: runc.stderr });
    return undefined;
  }
  try {
    hakoReport = parseProbeReport(hako.stdout);
  } catch (err) {
    t.fail(`hako gave no report: ${(err as Error).message}`, { stderr: hako.stderr });
    return undefined;
  }
  await checkNothingLeft(t, { bundleDir: bundle.dir });
  return { runc, hako, runcReport, hakoReport, bundle, spec: bundle.spec };
}

/**
 * The accepted mount-table differences, each asserted, then taken out of hako's lines:
 *
 * 1. Masked directories: hako mounts its read-only empty tmpfs with size=4k,nr_inodes=1
 *    where runc gives no size. Nothing can be written to either (read-only), a reader sees
 *    the same empty directory, and the caps only bound kernel memory.
 * 2. tmpcopyup: hako mounts the tmpfs with mode=<the covered directory's mode>, runc mounts
 *    it with tmpfs's default and chmods the directory afterwards. The directory ends up with
 *    the same mode either way (asserted with --stat): only the superblock's option text differs.
 */
function acceptedMountDifferences(t: Test, pair: Pair, hakoLines: string[]): string[] {
  const masked = new Set(pair.spec.linux?.maskedPaths ?? []);
  const copyUp = new Set((pair.spec.mounts ?? []).filter((m) => m.options?.includes('tmpcopyup')).map((m) => m.destination));
  return hakoLines.map((line, i) => {
    const m = pair.hakoReport.mounts![i]!;
    if (m.fs_type !== 'tmpfs') return line;
    if (masked.has(m.mount_point) && m.options.includes('ro')) {
      const caps: string[] = m.super_options.filter((o) => o === 'size=4k' || o === 'nr_inodes=1');
      if (caps.length === 0) return line;
      t.same(caps, ['size=4k', 'nr_inodes=1'], `accepted: masked dir ${m.mount_point} is a size-capped tmpfs under hako`);
      return mountLine({ ...m, super_options: m.super_options.filter((o) => !caps.includes(o)) });
    }
    if (copyUp.has(m.mount_point)) {
      const runcMount = pair.runcReport.mounts?.filter((r) => r.mount_point === m.mount_point).at(-1);
      const mode = m.super_options.find((o) => o.startsWith('mode='));
      if (!mode || runcMount?.super_options.some((o) => o.startsWith('mode='))) return line;
      const runcStat = pair.runcReport.stat[m.mount_point];
      const hakoStat = pair.hakoReport.stat[m.mount_point];
      t.ok(runcStat && hakoStat, `--stat ${m.mount_point} was asked for`);
      t.equal(hakoStat?.mode_octal, runcStat?.mode_octal, `accepted: tmpcopyup ${m.mount_point} has ${mode} in its options under hako, the same mode as under runc`);
      return mountLine({ ...m, super_options: m.super_options.filter((o) => o !== mode) });
    }
    return line;
  });
}

/**
 * The accepted report differences, each asserted, then dropped:
 *
 * 1. /dev/mqueue's group in a user namespace: runc 1.1.5 mounts mqueue while its fsgid is
 *    still the unmapped host 0, so the root of the mount shows gid 65534 (overflow); hako
 *    mounts it as the container's root (gid 0). The directory is 1777 either way (asserted):
 *    nobody's access differs.
 */
function acceptedFieldDifferences(t: Test, pair: Pair, diffs: string[]): string[] {
  const userns = pair.spec.linux?.namespaces?.some((ns) => ns.type === 'user') ?? false;
  return diffs.filter((d) => {
    if (userns && d === 'stat./dev/mqueue.gid: runc=65534 hako=0') {
      t.equal(pair.hakoReport.stat['/dev/mqueue']?.mode_octal, '1777', 'accepted: /dev/mqueue gid 0 (runc: 65534, overflow) in a user namespace; mode 1777 under hako');
      t.equal(pair.runcReport.stat['/dev/mqueue']?.mode_octal, '1777', 'and mode 1777 under runc');
      return false;
    }
    return true;
  });
}

function compare(t: Test, pair: Pair): void {
  const host = hostNs();
  const fields = acceptedFieldDifferences(t, pair, fieldDiff(normalize(pair.runcReport, host), normalize(pair.hakoReport, host)));
  t.same(fields, [], 'the probe reports agree field by field', { diff: fields.join('\n') });
  const runcLines = (pair.runcReport.mounts ?? []).map(mountLine);
  const hakoLines = acceptedMountDifferences(t, pair, (pair.hakoReport.mounts ?? []).map(mountLine));
  const diff = lineDiff(runcLines, hakoLines);
  t.same(diff.filter((l) => !l.startsWith('  ')), [], 'the mount tables agree, in order', { diff: diff.join('\n') });
  if (fields.length > 0 || diff.length > 0) {
    t.comment(`report differences:\n${fields.join('\n')}\nmount table (- runc only, + hako only):\n${diff.join('\n')}`);
  }
}

t.test('the default (runc spec) config', { skip }, async (t) => {
  const pair = await runBoth(t, {});
  if (pair) compare(t, pair);
});

t.test('a user namespace (container 0 = host 100000, 65536 ids)', { skip }, async (t) => {
  const pair = await runBoth(t, {
    edit: (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
    prepare: (b) => chownTree(b.rootfs, 100000, 100000),
  });
  if (pair) compare(t, pair);
});

// hako clones the init into its cgroup2 directory (clone3 CLONE_INTO_CGROUP) and makes the
// cgroup namespace with that clone: /proc/self/cgroup and the cgroup mounts inside must
// read as under runc, which unshares it after joining every cgroup.
t.test('a cgroup namespace', { skip }, async (t) => {
  const pair = await runBoth(t, { edit: (spec) => spec.linux!.namespaces!.push({ type: 'cgroup' }) });
  if (pair) compare(t, pair);
});

t.test('a cgroup namespace in a user namespace', { skip }, async (t) => {
  const pair = await runBoth(t, {
    edit: (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' }, { type: 'cgroup' });
      spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
    prepare: (b) => chownTree(b.rootfs, 100000, 100000),
  });
  if (pair) compare(t, pair);
});

t.test('a non-root user with additionalGids, umask, rlimits, oomScoreAdj, a writable root', { skip }, async (t) => {
  const pair = await runBoth(t, {
    edit: (spec) => {
      spec.hostname = 'diff-host';
      spec.root!.readonly = false;
      spec.process!.cwd = '/tmp';
      spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 100], umask: 0o077 };
      spec.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 256, hard: 512 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
      ];
      spec.process!.oomScoreAdj = 200;
      spec.process!.env!.push('HOME=/tmp', 'EXTRA=1');
    },
  });
  if (pair) compare(t, pair);
});

t.test('--no-pivot', { skip }, async (t) => {
  const pair = await runBoth(t, { runArgs: ['--no-pivot'] });
  if (pair) compare(t, pair);
});

t.test('bind mounts (ro, rro, a file), a tmpfs and tmpcopyup', { skip }, async (t) => {
  const pair = await runBoth(t, {
    edit: (spec) => {
      spec.mounts!.push(
        { destination: '/mnt/ro', type: 'bind', source: '/etc', options: ['rbind', 'ro', 'nosuid'] },
        { destination: '/mnt/rro', type: 'bind', source: '/etc', options: ['rbind', 'rro'] },
        { destination: '/mnt/hostname', type: 'bind', source: '/etc/hostname', options: ['bind', 'ro'] },
        { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=1777', 'noexec'] },
        { destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] },
      );
    },
  });
  if (pair) compare(t, pair);
});
