import { SessionError } from '@isosession/core';
import { getDriver, getSerializer, resolveDsn } from '../registry.js';
import { CTIME, ETIME, checkTable, getKey, lastAccess } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import { isTombstone } from '../tombstone.js';
import type { DsnArgs, Serializer, StoredRecord } from '../types.js';
import type { UpdatableDriver } from '../drivers/withUpdate.js';
import { sessionExpiresAt } from '../session/expiry.js';

export interface Store {
  driver: UpdatableDriver;
  driverName: string;
  serializer: Serializer;
}

/** One stored session as the CLI sees it: read straight from the driver, nothing moved. */
export interface StoredSession {
  key: string;
  table: SessionTable;
  bytes: number;
  atime: number;
  ctime: number;
  /** When it expires if left idle, capped by maxAge; undefined: never. */
  expiresAt: number | undefined;
  expired: boolean;
  /** What regenerate()/delete() leave for a short while where an id was: never a session. */
  tombstone: boolean;
}

export async function openStore(dsn: string | null, dsnArgs: DsnArgs): Promise<Store> {
  const resolved = resolveDsn(dsn);
  return { driver: await getDriver(resolved.driver, dsnArgs), driverName: resolved.driver, serializer: getSerializer(resolved.serializer) };
}

function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/**
 * Decodes a stored record without a Session: the CLI must not move atimes or purge what it
 * only lists (a Session load would, S41/S56). Expiry is judged as a load would (S40).
 */
export function decodeRecord(store: Store, key: string, record: StoredRecord, now: number, maxAge: number | undefined): StoredSession {
  const data = typeof record === 'string' || record instanceof Uint8Array ? record : record.data;
  let value: unknown;
  try {
    value = store.serializer.thaw(data);
  } catch (error) {
    throw new SessionError('CORRUPT', `stored data for session "${key}" cannot be read (${(error as Error).message})`, { cause: error });
  }
  const table = checkTable(value, key);
  const recordAtime = typeof record === 'object' && !(record instanceof Uint8Array) ? record.atime : undefined;
  const atime = lastAccess(table, recordAtime);
  const ctime = table[CTIME] as number;
  const expiresAt = sessionExpiresAt({ atime, ctime, etime: getKey(table, ETIME), maxAge });
  return { key, table, bytes: byteLength(data), atime, ctime, expiresAt, expired: expiresAt !== undefined && expiresAt <= now, tombstone: isTombstone(table) };
}
