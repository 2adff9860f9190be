import { SessionError } from '@isosession/core';
import type { Database, Statement } from 'better-sqlite3';
import type { DsnArgs, Merge, MergeResult, RawSession, StoreMeta, StoredRecord } from '../types.js';
import { PAGE_SIZE } from './sql/statements.js';
import { invalidArgument, parseDbiDataSource, parseSqlOptions, purgeTime, toBytes } from './sqlOptions.js';
import type { SqlDriver } from './sqlOptions.js';
import { MergeThrew, classifyError, errorCode, schemaMismatch } from './storeErrors.js';
import type { ErrorSigns } from './storeErrors.js';
import { isExpiredByData } from './cgiSessionSchema.js';

const NAME = 'sqlite';
// Another connection holds the lock for longer than busy_timeout (Timeout): try again later.
const BUSY = /^SQLITE_(BUSY|LOCKED)/;
const ERRORS: ErrorSigns = {
  unavailableCodes: new Set(),
  unavailableIf: (error) => BUSY.test(errorCode(error) ?? ''),
  schemaMessage: /no such column|has no column/i,
};

interface Row {
  data: string | Buffer;
  /** Absent with Schema 'cgi-session': Perl keeps atime only in the data. */
  atime?: number | bigint;
}

function isDatabase(value: unknown): value is Database {
  const candidate = value as Partial<Database> | null;
  return typeof candidate?.prepare === 'function' && typeof candidate.transaction === 'function' && typeof candidate.pragma === 'function';
}

/** `DataSource`: a file path, `:memory:`, or a DBI `dbi:SQLite:dbname=path` string. */
function databasePath(dataSource: unknown): string {
  if (typeof dataSource !== 'string' || dataSource === '') {
    throw invalidArgument(NAME, `give DataSource (a file path such as "/var/lib/app/sessions.db", or ":memory:") or Handle (a better-sqlite3 Database); got DataSource ${JSON.stringify(dataSource)}`);
  }
  const dbi = parseDbiDataSource(dataSource, /^sqlite$/i);
  const path = dbi ? (dbi.dbname ?? dbi.database ?? '') : dataSource;
  if (path === '') throw invalidArgument(NAME, `DataSource ${JSON.stringify(dataSource)} names no database file`);
  return path;
}

/**
 * `sqlite`: one row per session in `TableName` (default `sessions`) of a SQLite database,
 * created on first use; the embedded choice for one machine (several processes may share
 * the file). Args: `DataSource` (a file path, `:memory:`, or `dbi:SQLite:dbname=path`; the
 * database is opened here in WAL mode and closed by `close()`) or `Handle` (your
 * better-sqlite3 Database, used as it is and never closed), `TableName`, `IdColName` (`id`),
 * `DataColName` (`a_session`), `Timeout` (seconds, default 5: how long a write waits for
 * another process's lock, busy_timeout, before `STORE_UNAVAILABLE`). `update` runs in a
 * `BEGIN IMMEDIATE` transaction: the write lock is taken before the read, so no other
 * process can write between the merge's read and its write.
 */
export async function createSqliteDriver(args: DsnArgs = {}): Promise<SqlDriver> {
  const options = parseSqlOptions(NAME, args);
  const perlTable = options.schema === 'cgi-session';
  const { timeoutMs } = options;
  if (args.Handle !== undefined && args.DataSource !== undefined) {
    throw invalidArgument(NAME, 'give either Handle (your better-sqlite3 Database) or DataSource, not both');
  }

  let db: Database;
  let owned = false;
  let where: string;
  if (args.Handle !== undefined) {
    if (!isDatabase(args.Handle)) throw invalidArgument(NAME, 'Handle must be a better-sqlite3 Database (new Database(path))');
    db = args.Handle;
    where = 'the given Handle';
  } else {
    const path = databasePath(args.DataSource);
    where = path;
    // Left to Node at run time, never resolved by a bundler: the client is an optional peer that
    // only apps using this store install (Next.js's Turbopack fails the build on a missing one).
    const { default: DatabaseClass } = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ 'better-sqlite3');
    try {
      // `timeout` is SQLite's busy_timeout: a locked database is waited for, up to Timeout.
      db = new DatabaseClass(path, { timeout: timeoutMs });
    } catch (error) {
      throw new SessionError('STORE_UNAVAILABLE', `sqlite driver: cannot open database ${path}: ${(error as Error).message}; check that its directory exists and is writable`, { cause: error });
    }
    owned = true;
  }

  function unavailable(what: string, cause?: unknown): SessionError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new SessionError('STORE_UNAVAILABLE', `sqlite driver: ${what} at ${where}${reason}; another process held the database lock for longer than Timeout (${timeoutMs / 1000} s)`, { cause });
  }

  function translate(what: string, error: unknown): unknown {
    if (error instanceof SessionError) return error;
    const kind = classifyError(ERRORS, error);
    if (kind === 'unavailable') return unavailable(`${what} found the database locked`, error);
    if (!db.open) return new SessionError('STORE_UNAVAILABLE', `sqlite driver: ${what}: the database ${where} was closed (close(), Session.closeAll() or your Handle's close())`, { cause: error });
    if (kind === 'schema') return schemaMismatch(NAME, what, options.table, error);
    return error;
  }

  const table = `"${options.table}"`;
  const idCol = `"${options.idCol}"`;
  const dataCol = `"${options.dataCol}"`;
  // A BLOB column keeps what it is given: a serializer's string stays TEXT (readable with the
  // sqlite3 shell), bytes (storable) stay a BLOB; both come back as they went in.
  const CREATE = perlTable
    // Perl CGI::Session's documented table; Perl's driver binds the data as a BLOB.
    ? `CREATE TABLE IF NOT EXISTS ${table} (
  ${idCol} CHAR(32) NOT NULL PRIMARY KEY,
  ${dataCol} TEXT NOT NULL
)`
    : `CREATE TABLE IF NOT EXISTS ${table} (
  ${idCol} TEXT NOT NULL PRIMARY KEY,
  ${dataCol} BLOB NOT NULL,
  atime INTEGER NOT NULL,
  expires_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS "${options.indexName}" ON ${table} (expires_at)`;

  // Eight processes opening a new file at once: each waits for the others' locks (busy
  // timeout), and a switch to WAL or a CREATE that still lost is simply run again.
  for (let attempt = 0; ; attempt++) {
    try {
      if (owned) db.pragma('journal_mode = WAL');
      db.exec(CREATE);
      break;
    } catch (error) {
      if (attempt < 5 && BUSY.test(errorCode(error) ?? '')) continue;
      const translated = translate('creating the table', error);
      if (owned) db.close();
      // Session.new() reports a factory's error as it is: make it a SessionError here.
      throw translated instanceof SessionError
        ? translated
        : new SessionError('STORE_ERROR', `sqlite driver: creating table ${options.table} in ${where} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  // With Schema 'cgi-session' only the id and the data exist: atime and expiry live in the
  // data (the meta arguments are ignored, binding them would be an error), and the whole
  // update runs in one BEGIN IMMEDIATE transaction, which Perl's writes wait for too.
  const select: Statement<[string], Row> = db.prepare(`SELECT ${dataCol} AS data${perlTable ? '' : ', atime'} FROM ${table} WHERE ${idCol} = ?`);
  const upsert = db.prepare(perlTable
    ? `INSERT INTO ${table} (${idCol}, ${dataCol}) VALUES (?, ?) ON CONFLICT (${idCol}) DO UPDATE SET ${dataCol} = excluded.${dataCol}`
    : `INSERT INTO ${table} (${idCol}, ${dataCol}, atime, expires_at, version) VALUES (?, ?, ?, ?, 1)
ON CONFLICT (${idCol}) DO UPDATE SET ${dataCol} = excluded.${dataCol}, atime = excluded.atime, expires_at = excluded.expires_at, version = version + 1`);
  const insert = db.prepare(perlTable
    ? `INSERT INTO ${table} (${idCol}, ${dataCol}) VALUES (?, ?)`
    : `INSERT INTO ${table} (${idCol}, ${dataCol}, atime, expires_at, version) VALUES (?, ?, ?, ?, 1)`);
  const change = db.prepare(perlTable
    ? `UPDATE ${table} SET ${dataCol} = ? WHERE ${idCol} = ?`
    : `UPDATE ${table} SET ${dataCol} = ?, atime = ?, expires_at = ?, version = version + 1 WHERE ${idCol} = ?`);
  const touch = perlTable ? undefined : db.prepare(`UPDATE ${table} SET atime = ?, expires_at = ?, version = version + 1 WHERE ${idCol} = ?`);
  const remove = db.prepare(`DELETE FROM ${table} WHERE ${idCol} = ?`);
  const page: Statement<[string], { id: string }> = db.prepare(`SELECT ${idCol} AS id FROM ${table} WHERE ${idCol} > ? ORDER BY ${idCol} LIMIT ${PAGE_SIZE}`);
  const purge = perlTable ? undefined : db.prepare(`DELETE FROM ${table} WHERE expires_at <= ?`);
  const dataPage: Statement<[string], { id: string; data: string | Buffer }> = db.prepare(`SELECT ${idCol} AS id, ${dataCol} AS data FROM ${table} WHERE ${idCol} > ? ORDER BY ${idCol} LIMIT ${PAGE_SIZE}`);
  // Removes the row only if its data is still what was read: a session refreshed meanwhile stays.
  const removeIfUnchanged = db.prepare(`DELETE FROM ${table} WHERE ${idCol} = ? AND ${dataCol} = ?`);

  function record(row: Row): StoredRecord {
    return row.atime === undefined ? { data: row.data } : { data: row.data, atime: Number(row.atime) };
  }

  function bindable(data: RawSession): string | Buffer {
    // Perl's driver binds its data as a BLOB; bytes it is here too, so both read one type.
    return typeof data === 'string' && !perlTable ? data : toBytes(data);
  }

  /** The meta columns a statement binds after the data: none with Perl's table. */
  function metaColumns(meta: StoreMeta): [number, number | null] | [] {
    return perlTable ? [] : [meta.atime, meta.expiresAt ?? null];
  }

  /** Schema 'cgi-session': expiry is only in the data, so every row is read (as Perl's find does). */
  function purgeByData(now: number): number {
    let purged = 0;
    let after = '';
    for (;;) {
      const rows = dataPage.all(after);
      for (const row of rows) {
        if (isExpiredByData(row.data, now)) purged += removeIfUnchanged.run(row.id, row.data).changes;
      }
      if (rows.length < PAGE_SIZE) return purged;
      after = rows[rows.length - 1]!.id;
    }
  }

  // Synchronous: better-sqlite3 runs it to completion, so nothing else in this process can
  // interleave, and BEGIN IMMEDIATE keeps other processes out from the read to the commit.
  const updateTransaction = db.transaction((id: string, merge: Merge) => {
    const row = select.get(id);
    let result: MergeResult;
    try {
      result = merge(row ? record(row) : null);
    } catch (error) {
      throw new MergeThrew(error);
    }
    if (result.action === 'store') {
      const { data, meta } = result;
      if (row) change.run(bindable(data), ...metaColumns(meta), id);
      else insert.run(id, bindable(data), ...metaColumns(meta));
    } else if (result.action === 'remove' && row) {
      remove.run(id);
    }
  });

  /** Runs a synchronous statement as a driver call: failures become rejections, classified. */
  async function call<T>(what: string, work: () => T): Promise<T> {
    try {
      return work();
    } catch (error) {
      if (error instanceof MergeThrew) throw error.error;
      throw translate(what, error);
    }
  }

  return {
    retrieve(id) {
      return call('retrieve', () => {
        const row = select.get(id);
        return row ? record(row) : null;
      });
    },
    store(id, data, meta) {
      return call('store', () => {
        upsert.run(id, bindable(data), ...metaColumns(meta));
      });
    },
    remove(id) {
      return call('remove', () => {
        remove.run(id);
      });
    },
    async traverse(visit) {
      // Keyset pages: a visitor that removes or adds sessions never makes a page skip an id.
      let after = '';
      for (;;) {
        const ids = await call('traverse', () => page.all(after).map((row) => row.id));
        for (const id of ids) await visit(id);
        if (ids.length < PAGE_SIZE) return;
        after = ids[ids.length - 1]!;
      }
    },
    update(id, merge) {
      return call('update', () => {
        updateTransaction.immediate(id, merge);
      });
    },
    // Perl's table has no atime column: a touch rewrites the data (Session does so without it).
    ...(touch ? { touch: (id: string, meta: StoreMeta) => call('touch', () => touch.run(meta.atime, meta.expiresAt ?? null, id).changes > 0) } : {}),
    purgeExpired(now) {
      const cutoff = purgeTime(NAME, now);
      return call('purgeExpired', () => (purge ? purge.run(cutoff).changes : purgeByData(cutoff)));
    },
    async close() {
      if (owned && db.open) db.close();
    },
  };
}
