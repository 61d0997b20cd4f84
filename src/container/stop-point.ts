// Test-only: HAKO_TEST_STOP_AT=<step> makes hako SIGKILL itself when it reaches the step of
// that name, and HAKO_TEST_STOP_AT=init:<step> makes it SIGKILL the hako-init it is talking
// to at that step instead (npm run test:chaos does both at every step and checks what a
// later `state` and `delete --force` make of it). Unset, as it is outside the tests, a stop
// point reads one environment variable and does nothing else: the shipped path is the same.
// The front's twin is cpp/front/stop_point.cc; RELIABILITY.md lists the steps.

const AT = process.env.HAKO_TEST_STOP_AT;

/** SIGKILL this process if the tests asked to stop at `step`. */
export function stopPoint(step: string): void {
  if (AT !== undefined && AT === step) process.kill(process.pid, 'SIGKILL');
}

/** SIGKILL `pid` (a hako-init stage) if the tests asked to kill hako-init at `step`. */
export function stopInitPoint(step: string, pid: number | undefined): void {
  if (AT !== undefined && AT === `init:${step}` && pid !== undefined && pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** A step of launchInit for create or exec: `<verb>:<step>` stops hako, `init:<verb>:<step>` kills hako-init's process `pid`. */
export function launchStopPoint(exec: boolean, step: string, pid: number | undefined): void {
  if (AT === undefined) return;
  const name = `${exec ? 'exec' : 'create'}:${step}`;
  stopPoint(name);
  stopInitPoint(name, pid);
}
