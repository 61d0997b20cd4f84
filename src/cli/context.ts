import type { FlagValues } from './argv.js';
import type { Logger } from './log.js';

/** What a command module receives: parsed flags and arguments, the resolved globals, the logger. */
export interface CommandContext {
  /** --root made absolute (or the default) */
  root: string;
  /** whether --root was given explicitly */
  rootExplicit: boolean;
  globals: FlagValues;
  flags: FlagValues;
  args: string[];
  log: Logger;
}

export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolFlag(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}
