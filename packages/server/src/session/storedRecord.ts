import { SessionError, parseDuration } from '@isosession/core';
import { ATIME, CTIME, ETIME, ID, checkTable, copyTable, getKey, lastAccess, setKey } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import type { RawSession, SessionParams, Serializer, StoreMeta, StoredRecord } from '../types.js';

// The stored copy of a session: the table serialized (freeze), read back and checked (thaw),
// and the times a driver is told with it (meta). Pure: a Session decides which key and id.

/** How a configuration serializes: the serializer, and its name for error messages. */
export interface RecordFormat {
  serializer: Serializer;
  serializerName: string;
}

/** A record's data, whatever shape the driver gave it in. */
export const dataOf = (raw: StoredRecord): RawSession => (typeof raw === 'string' || raw instanceof Uint8Array ? raw : raw.data);

const asBytes = (data: RawSession): Buffer => (typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength));

/** Whether two stored copies are the same bytes (a string and its UTF-8 bytes are). */
export const sameData = (a: RawSession, b: RawSession): boolean => asBytes(a).equals(asBytes(b));

/**
 * Serializes `table` to store. `storedId` is the _SESSION_ID written (with hashIds, the hash:
 * the real id never reaches the store).
 */
export function freezeTable(format: RecordFormat, table: SessionTable, storedId: string): RawSession {
  let stored = table;
  if (storedId !== table[ID]) {
    stored = copyTable(table);
    setKey(stored, ID, storedId);
  }
  try {
    return format.serializer.freeze(stored);
  } catch (error) {
    // A value the serializer cannot store (a function, a __proto__ key for superjson) is the
    // caller's mistake, not the driver's: say so, and write nothing.
    throw new SessionError('INVALID_ARGUMENT', `serializer "${format.serializerName}" cannot store session "${table[ID] as string}": ${(error as Error).message}; keep params to data the serializer supports`, { cause: error });
  }
}

/**
 * Reads a stored copy back: the table, checked, carrying `id` (the session's real id), and its
 * last access. It must name `storedId`, the key it was stored under (design rule S16): a copy
 * naming another session — corrupt or planted — would be adopted under that other id, flushed
 * to another key and its cookie sent to this client.
 */
export function thawRecord(format: RecordFormat, raw: StoredRecord, id: string, storedId: string): { table: SessionTable; storedAtime: number } {
  let value: unknown;
  try {
    value = format.serializer.thaw(dataOf(raw));
  } catch (error) {
    throw new SessionError('CORRUPT', `stored data for session "${id}" cannot be read by serializer "${format.serializerName}" (${(error as Error).message}); the stored copy was left as it is`, { cause: error });
  }
  const table = checkTable(value, id);
  if (table[ID] !== storedId) {
    throw new SessionError('CORRUPT', `stored data for session "${id}" names another session (${JSON.stringify(table[ID])}); the stored copy was left as it is`);
  }
  // hashIds: the stored _SESSION_ID is the hash; in memory the session carries its real id.
  if (storedId !== id) setKey(table, ID, id);
  const recordAtime = typeof raw === 'object' && !(raw instanceof Uint8Array) ? raw.atime : undefined;
  return { table, storedAtime: lastAccess(table, recordAtime) };
}

/** sessionParams.maxAge in seconds, or undefined when there is none (0 or less is none). */
export function maxAgeSeconds(sessionParams: SessionParams): number | undefined {
  const maxAge = sessionParams.maxAge;
  if (maxAge === undefined) return undefined;
  const seconds = parseDuration(maxAge);
  return seconds > 0 ? seconds : undefined;
}

/**
 * What a driver is told with a write: the last access, the idle expiry, and when the copy may
 * be dropped — the sooner of idle expiry and maxAge from creation.
 */
export function storeMeta(table: SessionTable, maxAge: number | undefined): StoreMeta {
  const atime = table[ATIME] as number;
  const etime = getKey(table, ETIME);
  const meta: StoreMeta = { atime };
  if (typeof etime === 'number' && etime !== 0) {
    meta.etime = etime;
    meta.expiresAt = atime + etime;
  }
  if (maxAge !== undefined) {
    const absolute = (table[CTIME] as number) + maxAge;
    meta.expiresAt = meta.expiresAt === undefined ? absolute : Math.min(meta.expiresAt, absolute);
  }
  return meta;
}
