import { HakoError } from '../errors.js';

const ID_PATTERN = /^[\w+.-]+$/;

/** runc's rule: [A-Za-z0-9_+.-]+, and neither "." nor "..". */
export function isValidContainerId(id: string): boolean {
  return ID_PATTERN.test(id) && id !== '.' && id !== '..';
}

export function checkContainerId(id: string): void {
  if (!isValidContainerId(id)) throw new HakoError('invalid container ID format');
}
