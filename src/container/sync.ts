// The sync protocol with hako-init (cpp/common/sync.h): frames of u32 length (of type +
// payload), u32 type, payload, little-endian, over one stream socket.
import type { Duplex } from 'node:stream';

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

const MAX_FRAME = 64 << 20;

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
  private buffered: Buffer = Buffer.alloc(0);
  private frames: Frame[] = [];
  private waiting: ((f: Frame | null) => void) | undefined;
  private ended = false;
  private failure: Error | undefined;

  constructor(private readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (err) => {
      this.failure = err;
      this.finish();
    });
  }

  send(type: number, payload: Buffer = Buffer.alloc(0)): void {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(4 + payload.length, 0);
    head.writeUInt32LE(type, 4);
    this.socket.write(Buffer.concat([head, payload]));
  }

  /** The next frame, or null once the other side closed its end. */
  next(): Promise<Frame | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private take(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 8) {
      const len = this.buffered.readUInt32LE(0);
      if (len < 4 || len > MAX_FRAME) {
        this.failure = new Error(`sync: bad frame length ${len} from hako-init`);
        this.finish();
        return;
      }
      if (this.buffered.length < 4 + len) break;
      const frame = { type: this.buffered.readUInt32LE(4), payload: this.buffered.subarray(8, 4 + len) };
      this.buffered = this.buffered.subarray(4 + len);
      this.deliver(frame);
    }
  }

  private deliver(frame: Frame | null): void {
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w(frame);
    } else if (frame) {
      this.frames.push(frame);
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting && this.frames.length === 0) this.deliver(null);
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
