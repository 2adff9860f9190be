import { expireList, isReserved } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';

/**
 * When a session expires: its idle expiry counted from the last access (S40; a negative one is
 * already past, S42; 0 or none: never), capped by `maxAge` counted from creation. One rule for
 * a load (`Session`), the cookie's lifetime and the CLI's listing.
 */
export function sessionExpiresAt(times: { atime: number; ctime: number; etime: unknown; maxAge: number | undefined }): number | undefined {
  const { atime, ctime, etime, maxAge } = times;
  const idle = typeof etime === 'number' && etime !== 0 ? atime + etime : undefined;
  const absolute = maxAge !== undefined && maxAge > 0 ? ctime + maxAge : undefined;
  if (idle === undefined) return absolute;
  return absolute === undefined ? idle : Math.min(idle, absolute);
}

/** S40: expired at the second its expiry is reached, not one second later. */
export function isPastExpiry(times: { atime: number; ctime: number; etime: unknown; maxAge: number | undefined }, now: number): boolean {
  const at = sessionExpiresAt(times);
  return at !== undefined && at <= now;
}

/**
 * S43: the params whose own idle expiry (`expire(name, t)`, counted from the stored atime) has
 * passed. A reserved name in the list (only a hand-made or hostile record has one) is never
 * among them, as clear() never clears one (S29): the id, times and list stay whole.
 */
export function expiredParams(table: SessionTable, storedAtime: number, now: number): string[] {
  const expired: string[] = [];
  for (const [name, seconds] of Object.entries(expireList(table))) {
    if (typeof seconds === 'number' && storedAtime + seconds <= now && Object.hasOwn(table, name) && !isReserved(name)) expired.push(name);
  }
  return expired;
}
