import { randomInt } from 'node:crypto';
import type { RawSession } from '../types.js';

/** A row as this process last read or wrote it: what update() first tries to compare-and-swap on. */
export interface VersionedCopy {
  record: { data: RawSession; atime?: number }; // no atime: Perl's table keeps it in the data
  version: number;
}

const LIMIT = 1_000;
const BYTES = 8 * 1024 * 1024;

/** Anything remembered: a record with its data, and whatever version token the driver compares. */
interface Copy {
  record: { data: RawSession };
}

/** The copies kept for a driver's first compare-and-swap attempt. */
export interface RecentCopies<T extends Copy> {
  get(id: string): T | undefined;
  set(id: string, copy: T): void;
  forget(id: string): void;
  clear(): void;
}

function sizeOf(copy: Copy): number {
  const { data } = copy.record;
  return typeof data === 'string' ? data.length * 3 : data.byteLength;
}

/**
 * The copies of recently read or written sessions, bounded by count and bytes (oldest out
 * first: a Map iterates in insertion order). A copy may be stale (another process wrote
 * since): it is only ever used for a compare-and-swap on its version, never trusted alone.
 */
export function createRecentCopies<T extends Copy>(): RecentCopies<T> {
  const copies = new Map<string, T>();
  let bytes = 0;

  function forget(id: string): void {
    const copy = copies.get(id);
    if (copy === undefined) return;
    bytes -= sizeOf(copy);
    copies.delete(id);
  }

  return {
    get: (id) => copies.get(id),
    set(id, copy) {
      forget(id);
      const size = sizeOf(copy);
      if (size > BYTES / 8) return;
      copies.set(id, copy);
      bytes += size;
      while (copies.size > LIMIT || bytes > BYTES) forget(copies.keys().next().value as string);
    },
    forget,
    clear() {
      copies.clear();
      bytes = 0;
    },
  };
}

/**
 * The version of a newly inserted row: random, not 1, so that a row deleted and created again
 * under the same id never matches a copy of its former self (no ABA in compare-and-swap).
 */
export function firstVersion(): number {
  return randomInt(1, 2 ** 47);
}
