// kill's signal argument: a number, or a name with or without SIG, in any case (runc).
import { constants } from 'node:os';
import { HakoError } from '../errors.js';

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(arg: string): number {
  if (/^\d+$/.test(arg)) return Number(arg);
  const upper = arg.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const n = SIGNALS[name];
  if (n === undefined) throw new HakoError(`unknown signal "${arg}"`);
  return n;
}

export function signalName(n: number): string | undefined {
  return Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
}
