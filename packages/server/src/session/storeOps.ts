import { CTIME, ETIME, getKey } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import { storeCall } from '../storeCall.js';
import { hasLiveTombstone, leaveTombstone } from '../tombstone.js';
import type { TombstoneStore } from '../tombstone.js';
import type { StoredRecord } from '../types.js';
import type { Config } from './config.js';
import { isPastExpiry } from './expiry.js';
import { thawRecord } from './storedRecord.js';

// What a session does to its store besides a flush's write, under one configuration: each
// call goes through storeCall (a driver's failure becomes a SessionError naming the driver).
// `key` is always the stored key (the id, or its hash with hashIds): the Session decides it.

export function retrieveRecord(config: Config, key: string): Promise<StoredRecord | null> {
  return storeCall(config.resolved.driver, 'retrieve', () => config.driver.retrieve(key));
}

export function removeRecord(config: Config, key: string): Promise<void> {
  return storeCall(config.resolved.driver, 'remove', () => config.driver.remove(key));
}

/** S40, S42: idle expiry from the stored atime; maxAge from ctime. */
export function isExpiredRecord(config: Config, table: SessionTable, storedAtime: number, now: number): boolean {
  return isPastExpiry({ atime: storedAtime, ctime: table[CTIME] as number, etime: getKey(table, ETIME), maxAge: config.maxAge }, now);
}

/**
 * S41: removes an expired session, but only while the stored copy is still expired: another
 * request that loaded it just before the expiry may have flushed a fresh atime since we read
 * it, and a plain remove would destroy that live session.
 */
export function removeIfExpired(config: Config, key: string, id: string, now: number): Promise<void> {
  return storeCall(config.resolved.driver, 'remove', () => config.driver.update(key, (current) => {
    if (current === null) return { action: 'keep' };
    const { table, storedAtime } = thawRecord(config.format, current, id, key);
    return isExpiredRecord(config, table, storedAtime, now) ? { action: 'remove' } : { action: 'keep' };
  }));
}

function tombstones(config: Config): TombstoneStore {
  return { driver: config.driver, driverName: config.resolved.driver, serializer: config.serializer };
}

/** Whether stored key `key` was regenerated or deleted less than `staleGrace` ago. */
export function wasReplacedRecently(config: Config, key: string, now: number): Promise<boolean> {
  return hasLiveTombstone(tombstones(config), key, now);
}

/**
 * Before `key` is removed by regenerate() or delete(): a tombstone in its place for the grace
 * period (written first, so no request can find neither). A grace of 0 leaves none.
 */
export async function leaveTombstoneFor(config: Config, key: string, now: number): Promise<void> {
  if (config.staleGrace > 0) await leaveTombstone(tombstones(config), key, now, config.staleGrace);
}
