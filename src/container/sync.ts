// The sync protocol with hako-init (cpp/common/sync.h): frames of u32 length (of type +
// payload), u32 type, payload, little-endian, over one stream socket (a blocking fd: hako
// writes its few frames whole, and reads each whole on a thread of the addon's).
import { closeSync, writeSync } from 'node:fs';
import { native } from '../native.js';

export const MSG = {
  PLAN: 1,
  MAPS_WRITTEN: 2,
  HOOKS_DONE: 3,
  NEED_MAPS: 10,
  INIT_PID: 11,
  RUN_HOOKS: 12,
  READY: 13,
  ERROR: 20,
} as const;

export interface Frame {
  type: number;
  payload: Buffer;
}

/** What hako-init reports when a step fails. */
export interface InitFailure {
  errno: number;
  step: string;
  message: string;
}

export class SyncChannel {
  private closed = false;
  private reading = false;

  /** fd: our end of the socket, owned by the channel from here on */
  constructor(private readonly fd: number) {}

  send(type: number, payload: Buffer = Buffer.alloc(0)): void {
    const frame = Buffer.alloc(8 + payload.length);
    frame.writeUInt32LE(4 + payload.length, 0);
    frame.writeUInt32LE(type, 4);
    payload.copy(frame, 8);
    for (let off = 0; off < frame.length; ) off += writeSync(this.fd, frame, off);
  }

  /** The next frame, or null once the other side closed its end. */
  async next(): Promise<Frame | null> {
    this.reading = true;
    try {
      const buf = await native().syncRecv(this.fd);
      return buf && { type: buf.readUInt32LE(0), payload: buf.subarray(4) };
    } finally {
      this.reading = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A read still waiting (hako gave up on the launch) ends before the fd goes.
    if (this.reading) native().socketShutdown(this.fd);
    closeSync(this.fd);
  }
}

export function decodeFailure(payload: Buffer): InitFailure {
  let pos = 0;
  const u32 = (): number => {
    const v = payload.readUInt32LE(pos);
    pos += 4;
    return v;
  };
  const str = (): string => {
    const n = u32();
    const s = payload.toString('utf8', pos, pos + n);
    pos += n;
    return s;
  };
  const errno = u32();
  const step = str();
  const message = str();
  return { errno, step, message };
}

/** Go-style errno text, as runc prints it: "no such file or directory". */
export function errnoText(errno: number): string {
  try {
    // node:util is loaded only for a failure's message.
    const util = process.getBuiltinModule('node:util');
    return util.getSystemErrorMessage?.(-errno) ?? util.getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** "mount \"proc\" on \"/proc\": permission denied"; exec lookups are worded in full already. */
export function describeFailure(f: InitFailure): string {
  if (f.step === 'exec' || f.errno === 0) return f.message;
  return `${f.message}: ${errnoText(f.errno)}`;
}
