import { randomBytes } from 'node:crypto';

/** A random tag per test, so names and data of concurrent runs never collide. */
export function nonce(): string {
  return randomBytes(4).toString('hex');
}
