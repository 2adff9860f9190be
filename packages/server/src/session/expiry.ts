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
