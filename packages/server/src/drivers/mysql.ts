import { SessionError } from '@isosession/core';
import type { Connection, Pool, PoolConnection, PoolOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DsnArgs, Merge, MergeResult, RawSession, StoreMeta, StoredRecord } from '../types.js';
import { createConnectionLock } from './connectionLock.js';
import { withDeadline } from './deadline.js';
import type { Deadline } from './deadline.js';
import { createRecentCopies, firstVersion } from './recentCopies.js';
import type { VersionedCopy } from './recentCopies.js';
import { invalidArgument, maskPassword, parseDbiDataSource, parseSqlOptions, purgeTime, toBytes } from './sqlOptions.js';
import type { SqlDriver } from './sqlOptions.js';

const NAME = 'mysql';
const PAGE_SIZE = 500;
// Errors that mean "no usable connection". mysql2 marks every error that killed the
// connection `fatal`; these codes cover the rest: refused, too many connections, the server
// shutting down (1053) or killing our connection (MariaDB 1927, KILL CONNECTION).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED',
]);
const UNAVAILABLE_MESSAGE = /closed state|pool is closed|connection lost/i;
// A deadlock victim (InnoDB rolled its transaction back): run it again. Under REPEATABLE READ
// (a user's Handle) two first writes of one new id deadlock on the gap lock instead of
// meeting as a duplicate key.
const RACE_CODES = new Set(['ER_LOCK_DEADLOCK']);
const CREATE_RACE_CODES = new Set(['ER_TABLE_EXISTS_ERROR', 'ER_LOCK_DEADLOCK', 'ER_DUP_KEYNAME']);

type MysqlError = Error & { code?: string; fatal?: boolean; errors?: unknown[] };

function errorCode(error: unknown): string | undefined {
  const code = (error as MysqlError | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isConnectionError(error: unknown): boolean {
  if (error instanceof SessionError || !(error instanceof Error)) return false;
  if ((error as MysqlError).fatal === true) return true;
  if (UNAVAILABLE_CODES.has(errorCode(error) ?? '')) return true;
  if (Array.isArray((error as MysqlError).errors) && (error as MysqlError).errors!.some(isConnectionError)) return true;
  return UNAVAILABLE_MESSAGE.test(error.message);
}

/** Thrown by update when its INSERT met a row another transaction created meanwhile. */
const RACE_LOST = new Error('mysql driver: a concurrent insert won; merging again');

/** Carries an error the merge threw, so that it is never mistaken for a database error. */
class MergeThrew {
  constructor(readonly error: unknown) {}
}

/** What both a pool's connections and a single Connection answer (mysql2/promise). */
type Queryable = Pick<Connection, 'query'>;

interface Lease {
  conn: Queryable;
  done(broken: boolean): void;
  destroy(): void;
}

function ignore(): void {}

function isPool(value: unknown): value is Pool {
  const candidate = value as Partial<Pool> | null;
  return typeof candidate?.getConnection === 'function' && typeof candidate.query === 'function';
}

function isConnection(value: unknown): value is Connection {
  const candidate = value as Partial<Connection> | null;
  return typeof candidate?.query === 'function' && typeof candidate.beginTransaction === 'function';
}

/** A callback-style mysql2 Pool or Connection becomes its promise wrapper (only they have promise()). */
function promiseHandle(handle: unknown): unknown {
  const candidate = handle as { promise?: () => unknown } | null;
  return typeof candidate?.promise === 'function' ? candidate.promise() : handle;
}

function connectionConfig(dataSource: string, user: unknown, password: unknown): PoolOptions {
  for (const [name, value] of [['User', user], ['Password', password]] as const) {
    if (value !== undefined && typeof value !== 'string') throw invalidArgument(NAME, `${name} must be a string, got ${typeof value}`);
  }
  const dbi = parseDbiDataSource(dataSource, /^(mysql|mariadb)$/i);
  if (dbi) {
    return {
      database: dbi.database ?? dbi.dbname ?? dbi.db,
      host: dbi.host ?? dbi.hostname,
      port: dbi.port === undefined ? undefined : Number(dbi.port),
      socketPath: dbi.mysql_socket ?? dbi.mariadb_socket,
      user: (user as string | undefined) ?? dbi.user,
      password: (password as string | undefined) ?? dbi.password,
    };
  }
  if (!/^(mysql|mariadb):\/\//i.test(dataSource)) {
    throw invalidArgument(NAME, `DataSource must be a "mysql://user@host:3306/db" URL or a DBI "dbi:mysql:database=db;host=…" string; got ${JSON.stringify(maskPassword(dataSource))}`);
  }
  let url: URL;
  try {
    url = new URL(dataSource);
  } catch {
    throw invalidArgument(NAME, `DataSource is not a valid URL: ${maskPassword(dataSource)}`);
  }
  // The separate User / Password are the more specific, so they go into the URL: mysql2
  // would let the URL's own win over an empty Password given beside it.
  if (user !== undefined) url.username = encodeURIComponent(user as string);
  if (password !== undefined) url.password = encodeURIComponent(password as string);
  return { uri: url.toString() };
}

/**
 * `mysql` (alias `mariadb`): one row per session in an InnoDB table `TableName` (default
 * `sessions`), created on first use; MySQL 5.7+ and MariaDB 10.3+. Args as `postgresql`:
 * `Handle` (your mysql2 Pool or Connection, promise or callback style, never closed here) or
 * `DataSource` (a `mysql://` URL or a DBI `dbi:mysql:database=…` string), `User`, `Password`,
 * `TableName`, `IdColName` (`id`), `DataColName` (`a_session`), `Timeout` (seconds, default 5).
 * `update` first tries one compare-and-swap on the row's version, and otherwise runs a
 * transaction around `SELECT … FOR UPDATE` (see postgresql.ts, which this mirrors).
 */
export async function createMysqlDriver(args: DsnArgs = {}): Promise<SqlDriver> {
  const options = parseSqlOptions(NAME, args);
  const { timeoutMs } = options;
  if (args.Handle !== undefined && args.DataSource !== undefined) {
    throw invalidArgument(NAME, 'give either Handle (your mysql2 Pool or Connection) or DataSource, not both');
  }

  let pool: Pool | undefined;
  let single: Connection | undefined;
  let owned = false;
  let where: string;
  if (args.Handle !== undefined) {
    const handle = promiseHandle(args.Handle);
    if (isPool(handle)) pool = handle;
    else if (isConnection(handle)) single = handle;
    else throw invalidArgument(NAME, 'Handle must be a mysql2 Pool or Connection (from "mysql2" or "mysql2/promise")');
    where = 'the given Handle';
  } else if (typeof args.DataSource === 'string' && args.DataSource !== '') {
    const config = connectionConfig(args.DataSource, args.User, args.Password);
    const mysql = await import('mysql2/promise');
    pool = mysql.createPool({
      ...config,
      connectionLimit: 10,
      maxIdle: 10,
      idleTimeout: 10_000,
      // A store that is down fails the call within Timeout instead of queueing (issue 3).
      connectTimeout: timeoutMs,
      enableKeepAlive: true,
      supportBigNumbers: true,
    });
    // READ COMMITTED on our own connections: a SELECT … FOR UPDATE of a missing id then
    // takes no gap lock, so two first writes of one id meet as a duplicate key (retried at
    // once) instead of a deadlock. A user's Handle keeps its own isolation level.
    pool.pool.on('connection', (connection: { query(sql: string, callback: () => void): unknown }) => {
      connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', ignore);
    });
    owned = true;
    where = maskPassword(args.DataSource);
  } else {
    throw invalidArgument(NAME, `give DataSource (e.g. "mysql://user@127.0.0.1:3306/app") or Handle (a mysql2 Pool or Connection); got DataSource ${JSON.stringify(args.DataSource)}`);
  }

  const table = `\`${options.table}\``;
  const idCol = `\`${options.idCol}\``;
  const dataCol = `\`${options.dataCol}\``;
  // VARBINARY id: compared byte by byte (no case folding, no trailing-space padding as the
  // _ci and PAD SPACE collations do), so "abc" and "ABC " are two sessions.
  const CREATE = `CREATE TABLE IF NOT EXISTS ${table} (
  ${idCol} VARBINARY(255) NOT NULL,
  ${dataCol} LONGBLOB NOT NULL,
  atime BIGINT NOT NULL,
  expires_at BIGINT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  PRIMARY KEY (${idCol}),
  KEY \`${options.indexName}\` (expires_at)
) ENGINE=InnoDB`;
  const SELECT = `SELECT ${dataCol} AS data, atime, version FROM ${table} WHERE ${idCol} = ?`;
  const SELECT_FOR_UPDATE = `${SELECT} FOR UPDATE`;
  // VALUES(col) in ON DUPLICATE KEY UPDATE is what MariaDB and MySQL both accept.
  const UPSERT = `INSERT INTO ${table} (${idCol}, ${dataCol}, atime, expires_at, version) VALUES (?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE ${dataCol} = VALUES(${dataCol}), atime = VALUES(atime), expires_at = VALUES(expires_at), version = version + 1`;
  const INSERT_NEW = `INSERT INTO ${table} (${idCol}, ${dataCol}, atime, expires_at, version) VALUES (?, ?, ?, ?, ?)`;
  const UPDATE = `UPDATE ${table} SET ${dataCol} = ?, atime = ?, expires_at = ?, version = version + 1 WHERE ${idCol} = ?`;
  const SWAP = `${UPDATE} AND version = ?`;
  // version moves too, so affectedRows counts a matched row even without CLIENT_FOUND_ROWS.
  const TOUCH = `UPDATE ${table} SET atime = ?, expires_at = ?, version = version + 1 WHERE ${idCol} = ?`;
  const DELETE = `DELETE FROM ${table} WHERE ${idCol} = ?`;
  const DELETE_IF = `${DELETE} AND version = ?`;
  const PAGE = `SELECT ${idCol} AS id FROM ${table} WHERE ${idCol} > ? ORDER BY ${idCol} LIMIT ${PAGE_SIZE}`;
  const PURGE = `DELETE FROM ${table} WHERE expires_at <= ?`;

  const lock = single ? createConnectionLock() : undefined;
  const recent = createRecentCopies();
  let tableReady = false;
  let creating: Promise<void> | undefined;
  let closed = false;

  function unavailable(what: string, cause?: unknown): SessionError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new SessionError(
      'STORE_UNAVAILABLE',
      `mysql driver: ${what} at ${where}${reason}; check that MySQL/MariaDB is running and reachable, or raise Timeout (now ${timeoutMs / 1000} s)`,
      { cause },
    );
  }

  function translate(what: string, error: unknown): unknown {
    if (isConnectionError(error)) return unavailable(`${what} failed`, error);
    if (errorCode(error) === 'ER_BAD_FIELD_ERROR') {
      return new SessionError('STORE_ERROR', `mysql driver: ${what} failed: ${(error as Error).message}; table ${options.table} does not have the columns this driver needs (see "SQL schema" in docs/drivers.md, or use a new TableName)`, { cause: error });
    }
    return error;
  }

  async function lease(deadline: Deadline): Promise<Lease> {
    if (closed) throw unavailable('the driver was closed (close() or Session.closeAll())');
    if (single) {
      const release = await lock!();
      if (deadline.passed) {
        release();
        throw unavailable('gave up waiting for the connection');
      }
      return { conn: single, done: release, destroy: ignore };
    }
    const conn: PoolConnection = await pool!.getConnection();
    if (deadline.passed) {
      conn.release();
      throw unavailable('gave up waiting for a connection');
    }
    let released = false;
    const core = (conn as unknown as { connection: { stream?: { destroy(): void } } }).connection;
    return {
      conn,
      done(broken) {
        if (released) return;
        released = true;
        if (broken) conn.destroy();
        else conn.release();
      },
      destroy() {
        // mysql2's destroy() only half-closes the socket, which a peer that stopped answering
        // never completes: end it now, so the query in flight fails (no COMMIT is sent).
        conn.destroy();
        core.stream?.destroy();
      },
    };
  }

  async function createTable(conn: Queryable): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await conn.query(CREATE);
        tableReady = true;
        return;
      } catch (error) {
        if (attempt < 5 && CREATE_RACE_CODES.has(errorCode(error) ?? '')) continue;
        throw error;
      }
    }
  }

  /** One call within Timeout; see postgresql.ts's run(), which this mirrors. */
  function run<T>(what: string, work: (conn: Queryable, progress: { committing: boolean }) => Promise<T>): Promise<T> {
    return withDeadline(timeoutMs, () => unavailable(`${what} got no answer within ${timeoutMs / 1000} s`), async (deadline) => {
      let replaced = 0;
      for (;;) {
        let current: Lease | undefined;
        const progress = { committing: false };
        try {
          current = await lease(deadline);
          deadline.abort = current.destroy;
          if (!tableReady) {
            creating ??= createTable(current.conn).finally(() => {
              creating = undefined;
            });
            await creating;
          }
          const result = await work(current.conn, progress);
          current.done(false);
          return result;
        } catch (error) {
          deadline.abort = undefined;
          if (error instanceof MergeThrew) {
            current?.done(false);
            throw error.error;
          }
          const broken = isConnectionError(error);
          current?.done(broken);
          if (deadline.passed) throw error;
          if (error === RACE_LOST || RACE_CODES.has(errorCode(error) ?? '')) continue;
          // After COMMIT was sent the outcome is unknown: never run the merge a second time.
          if (broken && !progress.committing && replaced++ < 1) continue;
          throw translate(what, error);
        }
      }
    });
  }

  function copyOf(row: RowDataPacket): VersionedCopy {
    return { record: { data: row.data as Buffer, atime: Number(row.atime) }, version: Number(row.version) };
  }

  async function select(conn: Queryable, sql: string, id: string): Promise<VersionedCopy | null> {
    const [rows] = await conn.query<RowDataPacket[]>(sql, [id]);
    return rows[0] ? copyOf(rows[0]) : null;
  }

  async function write(conn: Queryable, sql: string, params: unknown[]): Promise<number> {
    const [result] = await conn.query<ResultSetHeader>(sql, params);
    return result.affectedRows;
  }

  function meta(data: RawSession, meta: StoreMeta): unknown[] {
    return [toBytes(data), meta.atime, meta.expiresAt ?? null];
  }

  function written(id: string, data: RawSession, storeMeta: StoreMeta, version: number): void {
    recent.set(id, { record: { data, atime: storeMeta.atime }, version });
  }

  /** Compare-and-swap without a transaction: see postgresql.ts optimistic(), which this mirrors. */
  async function optimistic(conn: Queryable, id: string, merge: Merge, progress: { committing: boolean }): Promise<boolean> {
    let copy = recent.get(id) ?? null;
    for (let fresh = false; ; fresh = true) {
      const outcome = await swap(conn, id, merge, copy, fresh);
      if (outcome !== 'stale') return outcome === 'done';
      if (fresh) return false;
      copy = await select(conn, SELECT, id);
      // Only the first write is this call's first statement (retried on a connection that
      // turns out dead); a later one may have landed when the connection dies under it.
      progress.committing = true;
    }
  }

  /** One compare-and-swap of `merge(copy)`; 'stale' when the copy did not decide or lost. */
  async function swap(conn: Queryable, id: string, merge: Merge, copy: VersionedCopy | null, fresh: boolean): Promise<'done' | 'stale'> {
    let result: MergeResult;
    try {
      result = merge(copy ? { ...copy.record } : null);
    } catch (error) {
      if (fresh) throw new MergeThrew(error);
      return 'stale';
    }
    if (result.action === 'keep') return fresh ? 'done' : 'stale';
    if (result.action === 'remove') {
      if (!copy) return fresh ? 'done' : 'stale';
      recent.forget(id);
      return (await write(conn, DELETE_IF, [id, copy.version])) === 1 ? 'done' : 'stale';
    }
    const { data, meta: storeMeta } = result;
    if (copy) {
      if ((await write(conn, SWAP, [...meta(data, storeMeta), id, copy.version])) === 1) {
        written(id, data, storeMeta, copy.version + 1);
        return 'done';
      }
    } else {
      const version = firstVersion();
      try {
        await write(conn, INSERT_NEW, [id, ...meta(data, storeMeta), version]);
        written(id, data, storeMeta, version);
        return 'done';
      } catch (error) {
        if (errorCode(error) !== 'ER_DUP_ENTRY') throw error;
      }
    }
    recent.forget(id);
    return 'stale';
  }

  /** The merge under the row lock: for a write that lost its compare-and-swap to another. */
  async function locked(conn: Queryable, id: string, merge: Merge, progress: { committing: boolean }): Promise<void> {
    await conn.query('START TRANSACTION');
    let after: (() => void) | undefined;
    try {
      // The row lock makes every other write of this id wait until COMMIT.
      const copy = await select(conn, SELECT_FOR_UPDATE, id);
      let result: MergeResult;
      try {
        result = merge(copy ? { ...copy.record } : null);
      } catch (error) {
        throw new MergeThrew(error);
      }
      if (result.action === 'store') {
        const { data, meta: storeMeta } = result;
        if (copy) {
          await write(conn, UPDATE, [...meta(data, storeMeta), id]);
          after = () => written(id, data, storeMeta, copy.version + 1);
        } else {
          const version = firstVersion();
          try {
            await write(conn, INSERT_NEW, [id, ...meta(data, storeMeta), version]);
          } catch (error) {
            // Another transaction created the id meanwhile (we waited for its commit): the
            // merge must run again on that row, never overwrite it.
            if (errorCode(error) === 'ER_DUP_ENTRY') throw RACE_LOST;
            throw error;
          }
          after = () => written(id, data, storeMeta, version);
        }
      } else if (result.action === 'remove' && copy) {
        await write(conn, DELETE, [id]);
      }
      progress.committing = true;
      recent.forget(id);
      await conn.query('COMMIT');
      after?.();
    } catch (error) {
      if (!progress.committing) await conn.query('ROLLBACK').catch(ignore);
      throw error;
    }
  }

  return {
    retrieve(id) {
      return run('retrieve', async (conn): Promise<StoredRecord | null> => {
        const copy = await select(conn, SELECT, id);
        if (!copy) {
          recent.forget(id);
          return null;
        }
        recent.set(id, copy);
        return { ...copy.record };
      });
    },
    store(id, data, storeMeta) {
      return run('store', async (conn) => {
        recent.forget(id);
        const version = firstVersion();
        // 1: inserted, with our version; 2: an existing row updated, to a version we do not know.
        if ((await write(conn, UPSERT, [id, ...meta(data, storeMeta), version])) === 1) written(id, data, storeMeta, version);
      });
    },
    remove(id) {
      return run('remove', async (conn) => {
        recent.forget(id);
        await write(conn, DELETE, [id]);
      });
    },
    async traverse(visit) {
      let after = '';
      for (;;) {
        const ids = await run('traverse', async (conn) => {
          const [rows] = await conn.query<RowDataPacket[]>(PAGE, [after]);
          // VARBINARY comes back as a Buffer; a user-made VARCHAR column as a string.
          return rows.map((row) => (typeof row.id === 'string' ? row.id : (row.id as Buffer).toString('utf8')));
        });
        for (const id of ids) await visit(id);
        if (ids.length < PAGE_SIZE) return;
        after = ids[ids.length - 1]!;
      }
    },
    update(id, merge) {
      let first = true;
      return run('update', async (conn, progress) => {
        // A retry of this call (a dead connection, a lost race) goes straight to the lock.
        if (first) {
          first = false;
          if (await optimistic(conn, id, merge, progress)) return;
          // Not landed, so nothing was written: the locked attempt may be retried as a whole.
          progress.committing = false;
        }
        await locked(conn, id, merge, progress);
      });
    },
    touch(id, touchMeta) {
      return run('touch', async (conn) => {
        recent.forget(id);
        return (await write(conn, TOUCH, [touchMeta.atime, touchMeta.expiresAt ?? null, id])) > 0;
      });
    },
    purgeExpired(now) {
      const cutoff = purgeTime(NAME, now);
      return run('purgeExpired', (conn) => write(conn, PURGE, [cutoff]));
    },
    async close() {
      if (!owned || closed) return;
      closed = true;
      await withDeadline(timeoutMs, () => unavailable('close got no answer'), () => pool!.end()).catch(ignore);
    },
  };
}
