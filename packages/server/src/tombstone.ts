import { createHash } from 'node:crypto';
import { ATIME, CTIME, ETIME, ID, checkTable, getKey } from './sessionTable.js';
import type { SessionTable } from './sessionTable.js';
import { storeCall } from './storeCall.js';
import type { Driver, Serializer, StoreMeta, StoredRecord } from './types.js';

/**
 * Marks a stored record as a tombstone: what `regenerate()` or `delete()` leaves for a short
 * grace period where a session id was, so that a request still carrying the old cookie (sent
 * before the login's or logout's response arrived) is told "stale" instead of being handed a
 * brand-new session whose Set-Cookie would overwrite the browser's newer cookie.
 */
export const TOMBSTONE = '_SESSION_TOMBSTONE';

/** How long a tombstone is kept, in seconds, unless `sessionParams.staleGrace` says otherwise. */
export const DEFAULT_STALE_GRACE = 60;

/**
 * The key a tombstone for stored key `key` lives under: a hash, not the key with a suffix, so
 * it has the length and alphabet of an md5 id (32 hex; longer keys keep their length up to 64)
 * and fits every driver's id rules and a user's CHAR(32) id column. It is derived from the old
 * key only: a tombstone never names, and never leads to, the id that replaced it (that would
 * hand the logged-in session to whoever holds the old cookie: session fixation).
 */
export function tombstoneKey(key: string): string {
  const length = Math.min(64, Math.max(32, key.length));
  return createHash('sha256').update(`isosession-tombstone:${key}`).digest('hex').slice(0, length);
}

/** The whole stored tombstone: a session table with no params, idle-expiring after `grace`. */
export function tombstoneTable(key: string, now: number, grace: number): SessionTable {
  // 1, not true: every serializer keeps a number as it is (dumper writes Perl's 1 for true).
  return { [ID]: key, [CTIME]: now, [ATIME]: now, [ETIME]: grace, [TOMBSTONE]: 1 };
}

/** What the driver is told with the tombstone: its TTL / indexed expiry, so stores purge it. */
export function tombstoneMeta(now: number, grace: number): StoreMeta {
  return { atime: now, etime: grace, expiresAt: now + grace };
}

export function isTombstone(table: SessionTable): boolean {
  const flag = getKey(table, TOMBSTONE);
  return flag === 1 || flag === true;
}

/** Whether a tombstone's grace period is over (idle expiry from its atime, as for a session). */
export function tombstoneExpired(table: SessionTable, now: number): boolean {
  const etime = getKey(table, ETIME);
  return typeof etime !== 'number' || (table[ATIME] as number) + etime <= now;
}

/**
 * Reads what was found under a tombstone key: 'live', 'expired', or 'none' when it is not a
 * tombstone this store wrote (unreadable data is not one: it never blocks a request).
 */
export function readTombstone(serializer: Serializer, record: StoredRecord, key: string, now: number): 'live' | 'expired' | 'none' {
  const data = typeof record === 'string' || record instanceof Uint8Array ? record : record.data;
  let table: SessionTable;
  try {
    table = checkTable(serializer.thaw(data), key);
  } catch {
    return 'none';
  }
  if (!isTombstone(table) || table[ID] !== key) return 'none';
  return tombstoneExpired(table, now) ? 'expired' : 'live';
}

/** What the tombstone operations need of a session's configuration. */
export interface TombstoneStore {
  driver: Driver;
  /** For error messages: the driver's name in the DSN. */
  driverName: string;
  serializer: Serializer;
}

/**
 * Whether stored key `key` was regenerated or deleted less than its grace period ago: its
 * tombstone is live. One that has run out is removed on the way.
 */
export async function hasLiveTombstone(store: TombstoneStore, key: string, now: number): Promise<boolean> {
  const at = tombstoneKey(key);
  const raw = await storeCall(store.driverName, 'retrieve', () => store.driver.retrieve(at));
  const state = raw === null ? 'none' : readTombstone(store.serializer, raw, at, now);
  if (state === 'expired') await storeCall(store.driverName, 'remove', () => store.driver.remove(at));
  return state === 'live';
}

/**
 * Leaves a tombstone for stored key `key`, kept `grace` seconds. Best effort: a store that
 * refuses it must not fail a login or a logout (a warning says what a stale request then gets).
 */
export async function leaveTombstone(store: TombstoneStore, key: string, now: number, grace: number): Promise<void> {
  const at = tombstoneKey(key);
  try {
    const data = store.serializer.freeze(tombstoneTable(at, now, grace));
    await storeCall(store.driverName, 'store', () => store.driver.store(at, data, tombstoneMeta(now, grace)));
  } catch (error) {
    process.emitWarning(`isosession: could not leave a tombstone for a regenerated or deleted session (${(error as Error).message}); a request still carrying its old cookie gets a new session`, { code: 'ISOSESSION_TOMBSTONE' });
  }
}
