import { ENGINE } from './engine.js';

// Filled in by the build (esbuild --define); the fallbacks serve tests that run the sources.
declare const HAKO_VERSION: string;
declare const HAKO_COMMIT: string;

export const VERSION = typeof HAKO_VERSION === 'string' ? HAKO_VERSION : '0.0.0-dev';
export const COMMIT = typeof HAKO_COMMIT === 'string' ? HAKO_COMMIT : 'unknown';
export const SPEC_VERSION = '1.3.0';

export function versionText(): string {
  return `hako version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\n${ENGINE.name}: ${ENGINE.version}\n`;
}
