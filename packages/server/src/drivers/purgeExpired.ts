import { SessionError } from '@isosession/core';
import type { Driver } from '../types.js';

/**
 * Deletes a SQL store's expired sessions through its indexed expiry column and returns how
 * many went: O(expired), where `Session.find()` loads every session. `store` is a driver
 * (`session.driver()`) of `sqlite`, `postgresql` or `mysql`; `now` is seconds since the
 * epoch (default the current time). Other drivers have no such index: use `Session.find`
 * (file, memory) or nothing at all (redis expires keys itself).
 */
export function purgeExpired(store: Driver, now?: number): Promise<number> {
  const purge = (store as { purgeExpired?: (now?: number) => Promise<number> } | null)?.purgeExpired;
  if (typeof purge !== 'function') {
    return Promise.reject(new SessionError('INVALID_ARGUMENT', 'purgeExpired(): the driver has no expiry index (only sqlite, postgresql and mysql do); purge with Session.find(dsn, () => {}, dsnArgs) instead'));
  }
  return purge.call(store, now);
}
