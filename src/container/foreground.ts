// A foreground container (run without --detach): stdio through pipes, or the container's
// terminal proxied to ours in raw mode; signals forwarded to the init; its exit status.
import { native } from '../native.js';
import type { Process } from '../oci/types.js';

// Every signal a runtime forwards (runc: all but SIGCHLD, SIGWINCH and SIGURG); Node
// cannot catch SIGKILL/SIGSTOP and keeps SIGSEGV, SIGBUS, SIGFPE, SIGILL for itself.
const FORWARDED = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTRAP', 'SIGABRT', 'SIGUSR1', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM',
  'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPWR', 'SIGSYS',
] as const;

/** Foreground run: processes the container leaves behind are re-parented to us, as to runc. */
export function becomeSubreaper(): void {
  native().setSubreaper(true);
}

/** Forward signals hako receives to pid until the returned function is called. */
export function forwardSignals(pid: number): () => void {
  const handlers = FORWARDED.map((sig) => {
    const h = (): void => {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => handlers.forEach(([sig, h]) => process.off(sig, h));
}

/**
 * Copy the container's stdio pipes to and from ours; resolves once both outputs reached EOF.
 * Each copy runs on a thread of its own in the addon (copyFd), never through the engine's
 * streams: Bun's net.Socket on a pipe's fd never reads, and writes synchronously, so a
 * full pipe would stall the event loop (a container's `cat` fed and drained by hako
 * deadlocked). The copies own the pipe ends from here on and close them when they end;
 * none keeps hako alive (the caller waits for the process, then drains for a while).
 */
export function proxyPipes(pipes: { stdin: number; stdout: number; stderr: number }): Promise<void> {
  const addon = native();
  const done = [
    addon.copyFd(pipes.stdout, 1, { closeFrom: true, keepAlive: false }),
    addon.copyFd(pipes.stderr, 2, { closeFrom: true, keepAlive: false }),
  ];
  // hako's stdin may never end (a terminal): this copy is left behind when hako exits.
  void addon.copyFd(0, pipes.stdin, { closeTo: true, keepAlive: false });
  return Promise.all(done).then(() => undefined);
}

/** The host's terminal, as runc finds it: the first of stdin, stdout, stderr that is one. */
function hostConsole(): number | undefined {
  return [0, 1, 2].find((fd) => isTerminal(fd));
}

/**
 * Whether fd is a terminal (TIOCGWINSZ answers only on one), through the addon rather than
 * node:tty, whose load costs a foreground run or exec 2-3 ms on Bun.
 */
function isTerminal(fd: number): boolean {
  try {
    native().getWinsize(fd);
    return true;
  } catch {
    return false;
  }
}

/**
 * A foreground terminal's process without a consoleSize of its own gets the size of
 * hako's terminal from the start: hako-init sizes the pty before the process runs, so
 * the process never sees 0x0 (resizing after the fact would race with its start).
 */
export function withHostTerminalSize(proc: Process): Process {
  const host = hostConsole();
  if (proc.consoleSize !== undefined || host === undefined) return proc;
  try {
    const ws = native().getWinsize(host);
    return ws.rows > 0 && ws.cols > 0 ? { ...proc, consoleSize: { height: ws.rows, width: ws.cols } } : proc;
  } catch {
    return proc;
  }
}

/**
 * Proxy the container's pty master to our terminal (raw mode, window size); resolves when it
 * closes. Both directions are addon copies on threads of their own (see proxyPipes). The
 * master stays open until hako exits: a copy may still be using it.
 */
export function proxyTerminal(master: number): { closed: Promise<void>; restore: () => void } {
  const addon = native();
  const host = hostConsole();
  const resize = (): void => {
    if (host === undefined) return;
    try {
      const ws = addon.getWinsize(host);
      addon.setWinsize(master, ws.rows, ws.cols);
    } catch {
      // keep the config's consoleSize
    }
  };
  resize();
  process.on('SIGWINCH', resize);
  const saved = host !== undefined ? addon.makeRaw(host) : undefined;
  void addon.copyFd(0, master, { keepAlive: false });
  const closed = addon.copyFd(master, 1, { keepAlive: false }).then(() => undefined);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    process.off('SIGWINCH', resize);
    if (saved && host !== undefined) addon.restoreTermios(host, saved);
  };
  return { closed, restore };
}

/** The init's exit as a shell reports it: its code, or 128 + the signal. */
export async function waitExitStatus(pid: number): Promise<number> {
  const r = await native().waitpid(pid);
  return r.signal !== undefined ? 128 + r.signal : (r.code ?? 0);
}
