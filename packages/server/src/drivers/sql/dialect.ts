import type { ErrorSigns } from '../storeErrors.js';
import type { SqlOptions } from '../sqlOptions.js';

/** A connection taken for one call. */
export interface Lease<C> {
  conn: C;
  /** Gives the connection back; a broken one is dropped, never reused. */
  done(broken: boolean): void;
  /** Kills the socket under a call that ran out of time, so its query fails (and no COMMIT is sent). */
  destroy(): void;
}

/** Where a driver's connections come from. */
export interface SqlConnections<C> {
  /** The store's address (password masked) or "the given Handle", for messages. */
  where: string;
  /** A user's single connection: calls take turns on it, one at a time. */
  single?: C;
  /** A pool's connection (when there is no `single`). */
  lease?(): Promise<Lease<C>>;
  /** Ends a pool this driver opened; undefined for a user's Handle, which is never closed here. */
  end?(): Promise<void>;
}

/** What a statement gave back: its rows, and how many rows it returned or changed. */
export interface QueryResult {
  rows: Record<string, unknown>[];
  count: number;
}

/**
 * Every statement the engine runs, for one table. Each takes its values in the order listed,
 * which is also the order its placeholders stand in the text (so `?` works as well as `$n`).
 */
export interface SqlStatements {
  /** CREATE TABLE and its expiry index, if they do not exist (run without values). */
  create: string;
  begin: string;
  /** [id] → rows of { data, atime, version } */
  select: string;
  /** [id], as select, locking the row until COMMIT */
  selectForUpdate: string;
  /** [id, data, atime, expires_at, version]: inserts, or changes the row that exists (new version). */
  upsert: string;
  /** [id, data, atime, expires_at, version]: inserts only if no row has the id (see insertIfAbsent). */
  insert: string;
  /** [data, atime, expires_at, id] */
  update: string;
  /** [data, atime, expires_at, id, version]: update only while the row still has that version */
  swap: string;
  /** [atime, expires_at, id]: moves version too, so a copy read before can no longer be swapped */
  touch: string;
  /** [id] */
  delete: string;
  /** [id, version] */
  deleteIf: string;
  /** [after] → rows of { id }, the next page of ids in order */
  page: string;
  /** [cutoff]: deletes every row that expired at or before it */
  purge: string;
  /**
   * Schema 'cgi-session' (Perl CGI::Session's table: id and data only) words the statements
   * above without atime, expires_at and version: `select` gives { data }, `update` takes
   * [data, id], `upsert` and `insert` [id, data], `deleteIf` [id, data] (the data as read);
   * touch, swap and purge are not run. `dataPage` [after] → rows of { id, data }.
   */
  dataPage?: string;
}

/** What one database brings to the SQL engine (engine.ts); the rest is the same for all. */
export interface SqlDialect<C> {
  /** The driver's name: messages start "<name> driver: …". */
  name: string;
  /** The server a STORE_UNAVAILABLE message asks the user to check. */
  server: string;
  errors: ErrorSigns;
  /** Errors of concurrent CREATE TABLE / CREATE INDEX IF NOT EXISTS that lost to another process. */
  createRaceCodes: ReadonlySet<string>;
  statements(options: SqlOptions): SqlStatements;
  /** Runs one statement; without values, as plain text (BEGIN, COMMIT, CREATE). */
  query(conn: C, text: string, values?: unknown[]): Promise<QueryResult>;
  /** Runs `statements.insert`; false when a row with that id already exists. */
  insertIfAbsent(conn: C, text: string, values: unknown[]): Promise<boolean>;
}
