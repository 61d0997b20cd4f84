// cgroup v2 device rules: the addon builds a BPF_PROG_TYPE_CGROUP_DEVICE program from the
// state the rules leave (see cpp/addon/devices.cc for what it decides) and attaches it to
// the cgroup, in place of the one hako attached before.
import { HakoError } from '../errors.js';
import { native } from '../native.js';
import type { DeviceState } from './devices.js';

/** The program's instructions (struct bpf_insn, 8 bytes each). */
export function deviceProgram(state: DeviceState): Buffer {
  return native().deviceProgram(state);
}

export function attachDeviceProgram(dir: string, state: DeviceState): void {
  try {
    native().attachDeviceProgram(dir, deviceProgram(state));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HakoError(`cannot apply the device rules to ${dir}: ${e.message}`, { path: dir, syscall: e.syscall, errno: e.code });
  }
}
