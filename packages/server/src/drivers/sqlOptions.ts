import { createHash } from 'node:crypto';
import { SessionError, parseDuration } from '@isosession/core';
import type { Driver, DsnArgs } from '../types.js';

/** A SQL driver: a Driver with housekeeping that uses the indexed expiry column. */
export interface SqlDriver extends Driver {
  /**
   * Deletes every session whose expiry (`expires_at`) is at or before `now` (seconds since
   * the epoch, default the current time) with one indexed DELETE, and returns how many went.
   * Sessions that never expire are never purged.
   */
  purgeExpired(now?: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * `Schema` of the SQL drivers: `'isosession'` (the default: id, data, atime, expires_at,
 * version) or `'cgi-session'`, Perl CGI::Session's own two-column table
 * `(id CHAR(32) PRIMARY KEY, a_session TEXT NOT NULL)`, to share it with a running Perl app.
 */
export type SqlSchema = 'isosession' | 'cgi-session';

export function parseSchema(driver: string, value: unknown): SqlSchema {
  if (value === undefined || value === null || value === 'isosession') return 'isosession';
  if (value === 'cgi-session') return 'cgi-session';
  throw invalidArgument(driver, `Schema must be 'isosession' (the default) or 'cgi-session' (Perl CGI::Session's two-column table), got ${JSON.stringify(value)}`);
}

/** What `TableName`, `IdColName`, `DataColName`, `Timeout`, `Schema` and `ColumnType` resolve to. */
export interface SqlOptions {
  table: string;
  idCol: string;
  dataCol: string;
  /** The expiry index's name: `<table>_expires_at`, shortened (with a hash) past 63 characters. */
  indexName: string;
  timeoutMs: number;
  schema: SqlSchema;
  /**
   * Schema 'cgi-session': the data column is binary (`ColumnType: 'binary'`, as Perl's
   * PostgreSQL driver calls it: BYTEA, LONGBLOB on MySQL) rather than Perl's default TEXT.
   */
  binaryData: boolean;
}

// The columns the drivers own beside the id and the data; a user's column names may not clash.
export const FIXED_COLUMNS = ['atime', 'expires_at', 'version'] as const;

// PostgreSQL truncates identifiers past 63 bytes and MySQL refuses them past 64: one limit for all.
const MAX_IDENTIFIER = 63;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_TIMEOUT_SECONDS = 5;

export function invalidArgument(driver: string, message: string): SessionError {
  return new SessionError('INVALID_ARGUMENT', `${driver} driver: ${message}`);
}

// Identifiers cannot be bound as parameters, so they are checked here and then quoted: no
// TableName can smuggle SQL into a statement.
function identifier(driver: string, name: string, value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > MAX_IDENTIFIER) {
    throw invalidArgument(driver, `${name} must be letters, digits and "_", not starting with a digit, at most ${MAX_IDENTIFIER} characters (e.g. "${fallback}"); got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Seconds from a number (fractions allowed) or a duration string ("5s"), as milliseconds. */
export function timeoutMs(driver: string, value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_TIMEOUT_SECONDS * 1000;
  let seconds = Number.NaN;
  try {
    seconds = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : Number.NaN;
  } catch {
    // Not a duration: reported below as this argument's mistake.
  }
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw invalidArgument(driver, `Timeout must be more than zero seconds (a number or a string like "5s"), got ${String(value)}`);
  }
  return Math.max(1, Math.round(seconds * 1000));
}

export function parseSqlOptions(driver: string, args: DsnArgs): SqlOptions {
  const table = identifier(driver, 'TableName', args.TableName, 'sessions');
  const idCol = identifier(driver, 'IdColName', args.IdColName, 'id');
  const dataCol = identifier(driver, 'DataColName', args.DataColName, 'a_session');
  const taken = new Set<string>(FIXED_COLUMNS);
  for (const [name, column] of [['IdColName', idCol], ['DataColName', dataCol]] as const) {
    if (taken.has(column.toLowerCase())) {
      throw invalidArgument(driver, `${name} "${column}" clashes with a column the driver keeps (${FIXED_COLUMNS.join(', ')}, and the other of IdColName/DataColName); pick another name`);
    }
    taken.add(column.toLowerCase());
  }
  let indexName = `${table}_expires_at`;
  if (indexName.length > MAX_IDENTIFIER) {
    const hash = createHash('sha1').update(table).digest('hex').slice(0, 8);
    indexName = `${table.slice(0, MAX_IDENTIFIER - 20)}_${hash}_expires_at`;
  }
  if (args.ColumnType !== undefined && args.ColumnType !== 'binary' && args.ColumnType !== 'text') {
    throw invalidArgument(driver, `ColumnType must be 'binary' (a BYTEA data column) or 'text' (Perl's default), got ${JSON.stringify(args.ColumnType)}`);
  }
  return {
    table, idCol, dataCol, indexName, timeoutMs: timeoutMs(driver, args.Timeout),
    schema: parseSchema(driver, args.Schema),
    binaryData: args.ColumnType === 'binary',
  };
}

/** The current time in whole seconds, as sessions store it. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `now` for purgeExpired: whole seconds, checked. */
export function purgeTime(driver: string, now: number | undefined): number {
  if (now === undefined) return nowSeconds();
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw invalidArgument(driver, `purgeExpired(now): now must be seconds since the epoch, got ${String(now)}`);
  }
  return Math.floor(now);
}

/**
 * `Handle` or `DataSource`, exactly one: `handle` names what a Handle must be (e.g. "a pg Pool
 * or Client") and `example` a DataSource, for the messages.
 */
export function connectionSource(driver: string, args: DsnArgs, handle: string, example: string): { handle: unknown } | { dataSource: string } {
  if (args.Handle !== undefined && args.DataSource !== undefined) {
    throw invalidArgument(driver, `give either Handle (${handle}) or DataSource, not both`);
  }
  if (args.Handle !== undefined) return { handle: args.Handle };
  if (typeof args.DataSource === 'string' && args.DataSource !== '') return { dataSource: args.DataSource };
  throw invalidArgument(driver, `give DataSource (e.g. "${example}") or Handle (${handle}); got DataSource ${JSON.stringify(args.DataSource)}`);
}

/** `User` / `Password` args, checked: each a string when given. */
export function credentials(driver: string, user: unknown, password: unknown): { user?: string; password?: string } {
  for (const [name, value] of [['User', user], ['Password', password]] as const) {
    if (value !== undefined && typeof value !== 'string') throw invalidArgument(driver, `${name} must be a string, got ${typeof value}`);
  }
  return { user: user as string | undefined, password: password as string | undefined };
}

/**
 * A connection URL with the separate `User` / `Password` put into it: they are the more
 * specific, while pg and mysql2 would let the URL's own win (even over an empty Password).
 */
export function urlWithCredentials(driver: string, dataSource: string, given: { user?: string; password?: string }): string {
  let url: URL;
  try {
    url = new URL(dataSource);
  } catch {
    throw invalidArgument(driver, `DataSource is not a valid URL: ${maskPassword(dataSource)}`);
  }
  if (given.user !== undefined) url.username = encodeURIComponent(given.user);
  if (given.password !== undefined) url.password = encodeURIComponent(given.password);
  return url.toString();
}

/** What a DBI data source's pairs name: the first present of each key's spellings, and the credentials (separate args win). */
export function dbiConnection(
  dbi: Record<string, string>,
  given: { user?: string; password?: string },
  spellings: { database: string[]; host: string[] },
): { database?: string; host?: string; port?: number; user?: string; password?: string } {
  const first = (keys: string[]) => keys.map((key) => dbi[key]).find((value) => value !== undefined);
  return {
    database: first(spellings.database),
    host: first(spellings.host),
    port: dbi.port === undefined ? undefined : Number(dbi.port),
    user: given.user ?? dbi.user,
    password: given.password ?? dbi.password,
  };
}

/** A connection string with the password masked, for error messages. */
export function maskPassword(url: string): string {
  return url.replace(/\/\/([^@/:]*):[^@/]*@/, '//$1:***@');
}

/** The data as bytes for a binary column: a serializer's string is stored as UTF-8. */
export function toBytes(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A Perl DBI data source (`dbi:Pg:dbname=app;host=db;port=5432`), as CGI::Session users
 * wrote them, as its key/value pairs; undefined for anything else.
 */
export function parseDbiDataSource(text: string, driverNames: RegExp): Record<string, string> | undefined {
  const match = /^dbi:([A-Za-z]+):(.*)$/.exec(text);
  if (!match || !driverNames.test(match[1]!)) return undefined;
  const pairs: Record<string, string> = {};
  for (const part of match[2]!.split(';')) {
    if (part === '') continue;
    const at = part.indexOf('=');
    // `dbi:SQLite:/path/file.db` and `dbi:Pg:app` name the database without a key.
    if (at === -1) pairs.dbname = part;
    else pairs[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  return pairs;
}
