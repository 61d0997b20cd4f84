// hako features: the OCI features JSON, 4-space indented with a trailing newline (as runc).
import { writeStdout } from '../output.js';
import { hakoFeatures } from '../container/features.js';
import { COMMIT, VERSION } from '../version.js';

export function run(): void {
  writeStdout(JSON.stringify(hakoFeatures(VERSION, COMMIT), null, 4) + '\n');
}
