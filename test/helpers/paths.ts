import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The workplace's shared directory (fixtures, the manager toolkit): $HAKO_SHARED_DIR, else
 * ../shared beside the checkout, else /work/shared (a clone made elsewhere, as CI's may be).
 */
export const SHARED_DIR: string =
  [process.env.HAKO_SHARED_DIR, resolve(REPO_ROOT, '..', 'shared'), '/work/shared'].find(
    (d): d is string => d !== undefined && existsSync(d),
  ) ?? resolve(REPO_ROOT, '..', 'shared');

/** The real-world configs written by managers: $HAKO_FIXTURES_DIR, else the shared ones. */
export const FIXTURES_DIR: string = process.env.HAKO_FIXTURES_DIR ?? resolve(SHARED_DIR, 'fixtures', 'configs');
