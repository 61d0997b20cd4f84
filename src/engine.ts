// The one module that knows which JavaScript engine runs hako. The shipped build is a Bun
// single-file executable; tests, development (bin/hako) and the fallback build run on
// Node (a Node single-executable application). Everything else uses node: APIs only.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Engine {
  /** "bun" or "node" */
  name: string;
  /** the engine's own version ("1.4.5", "v24.21.0"); Bun's process.version is only the Node version it imitates */
  version: string;
}

export const ENGINE: Engine = process.versions.bun !== undefined ? { name: 'bun', version: process.versions.bun } : { name: 'node', version: process.version };

// Bun's embedded files (bun build --compile with extra entry points): Bun.embeddedFiles
// names them, and they are read through the executable's own file system, /$bunfs/root.
// A file without an extension is named with a trailing dot ("hako-init.").
interface BunGlobal {
  embeddedFiles: readonly { name: string }[];
}

function bunEmbedded(name: string): Uint8Array | undefined {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  const file = bun?.embeddedFiles.find((f) => f.name === name || f.name === `${name}.`);
  if (!file) return undefined;
  const main = process.argv[1] ?? '';
  const root = main.startsWith('/$bunfs/') ? dirname(main) : '/$bunfs/root';
  return readFileSync(`${root}/${file.name}`);
}

interface SeaModule {
  isSea(): boolean;
  getRawAsset(name: string): ArrayBuffer;
}

// node:sea, when this is a Node single-executable application (never a static import:
// Bun has no node:sea, and a bundle that required it would not load there).
function nodeSea(): SeaModule | undefined {
  if (ENGINE.name !== 'node') return undefined;
  const sea = process.getBuiltinModule?.('node:sea') as SeaModule | undefined;
  return sea?.isSea() ? sea : undefined;
}

/**
 * The directory of the single executable (the brain), where the build also writes the addon
 * and hako-init as files (dist/libexec/hako/); undefined when hako runs as a script on a
 * plain engine (development, tests).
 */
export function executableDir(): string | undefined {
  if (ENGINE.name === 'bun') {
    const bun = (globalThis as { Bun?: BunGlobal }).Bun;
    return bun && bun.embeddedFiles.length > 0 ? dirname(process.execPath) : undefined;
  }
  return nodeSea() ? dirname(process.execPath) : undefined;
}

/** The bytes of a file embedded in the executable (the addon, hako-init); undefined when not built as one. */
export function embeddedAsset(name: string): Uint8Array | undefined {
  if (ENGINE.name === 'bun') return bunEmbedded(name);
  const sea = nodeSea();
  return sea ? new Uint8Array(sea.getRawAsset(name)) : undefined;
}

interface BunHasher {
  CryptoHasher: new (algorithm: 'sha256') => { update(data: string): { digest(encoding: 'hex'): string } };
}

/**
 * The SHA-256 of text's UTF-8 bytes, as lowercase hex (the seccomp cache's key). Bun's own
 * hasher where there is one: node:crypto costs Bun 3-12 ms to load, the hash 0.05 ms.
 */
export function sha256Hex(text: string): string {
  const bun = (globalThis as { Bun?: BunHasher }).Bun;
  if (bun?.CryptoHasher) return new bun.CryptoHasher('sha256').update(text).digest('hex');
  return (process.getBuiltinModule('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(text).digest('hex');
}
