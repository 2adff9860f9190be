import { SessionError } from '@isosession/core';

/** The reserved keys of a session's table (DESIGN "Reserved keys"). */
export const ID = '_SESSION_ID';
export const CTIME = '_SESSION_CTIME';
export const ATIME = '_SESSION_ATIME';
export const ETIME = '_SESSION_ETIME';
export const REMOTE_ADDR = '_SESSION_REMOTE_ADDR';
export const EXPIRE_LIST = '_SESSION_EXPIRE_LIST';
/** Increases on every stored change: compare-and-swap for `Session.update`, and snapshots. */
export const VERSION = '_SESSION_VERSION';

export const RESERVED_PREFIX = '_SESSION_';

export type SessionTable = Record<string, unknown>;

export function isReserved(name: string): boolean {
  return name.startsWith(RESERVED_PREFIX);
}

/** Sets a key as an own data property, so "__proto__" is just a name, never a prototype. */
export function setKey(table: SessionTable, key: string, value: unknown): void {
  // Plain assignment is safe for every other name and several times faster (hot path).
  if (key === '__proto__') Object.defineProperty(table, key, { value, writable: true, enumerable: true, configurable: true });
  else table[key] = value;
}

export function getKey(table: SessionTable, key: string): unknown {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

export function publicNames(table: SessionTable): string[] {
  return Object.keys(table).filter((key) => !isReserved(key));
}

export function expireList(table: SessionTable): Record<string, number> {
  const list = getKey(table, EXPIRE_LIST);
  return list !== null && typeof list === 'object' ? (list as Record<string, number>) : {};
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

// Perl's Syck-based JSON and YAML quote every integer of ten digits or more (and Perl code may
// hold any number as a string), so a Perl-written table can carry its times as digit strings and
// an `id:incr` id as a number. Only the reserved keys are read this way; params stay as stored.
const DIGITS = /^-?\d{1,15}$/;

function numberFromDigits(value: unknown): unknown {
  return typeof value === 'string' && DIGITS.test(value) ? Number(value) : value;
}

/** Reserved keys as Perl may have written them, in the types the session works with. */
function normalizeReserved(table: SessionTable): void {
  if (isInteger(table[ID])) table[ID] = String(table[ID]);
  for (const key of [CTIME, ATIME, ETIME]) {
    if (Object.hasOwn(table, key)) table[key] = numberFromDigits(table[key]);
  }
  const list = getKey(table, EXPIRE_LIST);
  if (list !== null && typeof list === 'object' && !Array.isArray(list)) {
    for (const name of Object.keys(list)) {
      const seconds = numberFromDigits((list as SessionTable)[name]);
      Object.defineProperty(list, name, { value: seconds, writable: true, enumerable: true, configurable: true });
    }
  }
}

/**
 * The session's last access: the later of the atime a driver keeps beside the data (its cheap
 * touch: a file's mtime, an SQL column) and the data's own `_SESSION_ATIME`, which is the only
 * one another writer of the same store (Perl's CGI::Session, or a copy written by a flush) moves.
 */
export function lastAccess(table: SessionTable, recordAtime: number | undefined): number {
  const dataAtime = table[ATIME] as number;
  return recordAtime === undefined || recordAtime < dataAtime ? dataAtime : recordAtime;
}

/**
 * The expiry list after a change: with `keepEmpty` (sharing a store with Perl CGI::Session) an
 * empty list stays `{}` as Perl writes it, else the key is dropped.
 */
export function setExpireList(table: SessionTable, list: Record<string, number>, keepEmpty: boolean): void {
  if (Object.keys(list).length === 0 && !keepEmpty) delete table[EXPIRE_LIST];
  else setKey(table, EXPIRE_LIST, list);
}

/** S16: stored data must be a table with an id and integer times; anything else is CORRUPT. */
export function checkTable(value: unknown, id: string): SessionTable {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) normalizeReserved(value as SessionTable);
  const ok =
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as SessionTable)[ID] === 'string' &&
    isInteger((value as SessionTable)[CTIME]) &&
    isInteger((value as SessionTable)[ATIME]);
  if (!ok) {
    throw new SessionError(
      'CORRUPT',
      `stored data for session "${id}" is not a session table (no _SESSION_ID / _SESSION_CTIME / _SESSION_ATIME); the stored copy was left as it is`,
    );
  }
  const table = value as SessionTable;
  const etime = table[ETIME];
  if (etime !== undefined && etime !== null && !isInteger(etime)) {
    throw new SessionError('CORRUPT', `stored data for session "${id}" has a non-integer _SESSION_ETIME`);
  }
  return table;
}

/** A shallow copy that keeps "__proto__"-named keys as plain data. */
export function copyTable(table: SessionTable): SessionTable {
  const copy: SessionTable = {};
  for (const key of Object.keys(table)) setKey(copy, key, table[key]);
  return copy;
}

/** A table's stored version: 0 when it has none (never flushed, or written by Perl). */
export function versionOf(table: SessionTable): number {
  const version = table[VERSION];
  return typeof version === 'number' ? version : 0;
}
