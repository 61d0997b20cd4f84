// A CRI client for tests that play the kubelet against containerd's CRI plugin (Debian
// ships no crictl): @grpc/grpc-js with the shared toolkit's subset of the CRI API
// (../shared/tools/managers/cri-client/cri-min.proto, the upstream names and field numbers).
// Loaded only by the tests that use it; criClientSkip() says why it cannot be.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { SHARED_DIR } from './paths.js';

export const CRI_PROTO = path.join(SHARED_DIR, 'tools', 'managers', 'cri-client', 'cri-min.proto');

const require = createRequire(import.meta.url);

/** Why the client cannot run here, or false. */
export function criClientSkip(): string | false {
  if (!existsSync(CRI_PROTO)) return `${CRI_PROTO} not here`;
  try {
    require.resolve('@grpc/grpc-js');
    require.resolve('@grpc/proto-loader');
  } catch {
    return '@grpc/grpc-js or @grpc/proto-loader not installed (npm ci)';
  }
  return false;
}

type Service = Record<string, (req: unknown, opts: { deadline: number }, cb: (err: Error | null, res: unknown) => void) => void> & { close(): void };

/** RuntimeService and ImageService on one containerd socket; unary calls as promises. */
export class CriClient {
  private readonly runtime: Service;
  private readonly image: Service;

  constructor(socket: string, private readonly timeoutMs = 60_000) {
    const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
    const loader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
    const def = loader.loadSync(CRI_PROTO, { keepCase: true, longs: String, enums: String, defaults: true });
    const v1 = (grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: Record<string, new (addr: string, creds: unknown) => Service> } }).runtime.v1;
    this.runtime = new v1.RuntimeService!(`unix://${socket}`, grpc.credentials.createInsecure());
    this.image = new v1.ImageService!(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  /** RuntimeService.<method>(req); an error names the method and carries the details. */
  call<T = Record<string, unknown>>(method: string, req: unknown): Promise<T> {
    return this.unary(this.runtime, method, req);
  }

  imageCall<T = Record<string, unknown>>(method: string, req: unknown): Promise<T> {
    return this.unary(this.image, method, req);
  }

  close(): void {
    this.runtime.close();
    this.image.close();
  }

  private unary<T>(svc: Service, method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      svc[method]!(req, { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err) reject(new Error(`${method}: ${(err as Error & { details?: string }).details ?? err.message}`));
        else resolve(res as T);
      });
    });
  }
}
