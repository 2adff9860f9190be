import { SessionError } from '@isosession/core';
import { createHash } from 'node:crypto';
import type { ClientBase, Pool, PoolClient, PoolConfig, QueryConfig, QueryResultRow } from 'pg';
import type { DsnArgs, Merge, MergeResult, RawSession, StoreMeta, StoredRecord } from '../types.js';
import { createConnectionLock } from './connectionLock.js';
import { withDeadline } from './deadline.js';
import type { Deadline } from './deadline.js';
import { createRecentCopies, firstVersion } from './recentCopies.js';
import type { VersionedCopy } from './recentCopies.js';
import { invalidArgument, maskPassword, parseDbiDataSource, parseSqlOptions, purgeTime, toBytes } from './sqlOptions.js';
import type { SqlDriver } from './sqlOptions.js';

const NAME = 'postgresql';
const PAGE_SIZE = 500;
// Errors that mean "no usable connection": refused, reset, terminated by an administrator
// (57P01, pg_terminate_backend), the server shutting down or starting (57P02, 57P03), too
// many connections (53300), and SQLSTATE class 08 (connection exception).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '53300',
]);
const UNAVAILABLE_MESSAGE = /connection terminated|not queryable|timeout exceeded when trying to connect|connection timeout|pool after calling end/i;
// Two transactions that must not both win: the loser runs again on what the winner wrote.
// 40001 serialization_failure (a SERIALIZABLE default), 40P01 deadlock_detected.
const RACE_CODES = new Set(['40001', '40P01']);
// Concurrent CREATE TABLE / CREATE INDEX IF NOT EXISTS from several processes can still
// collide in the catalogs (unique_violation on pg_type, duplicate_table, duplicate_object).
const CREATE_RACE_CODES = new Set(['23505', '42P07', '42710']);

type PgError = Error & { code?: string; errors?: unknown[] };

function errorCode(error: unknown): string | undefined {
  const code = (error as PgError | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isConnectionError(error: unknown): boolean {
  if (error instanceof SessionError || !(error instanceof Error)) return false;
  const code = errorCode(error);
  if (code !== undefined && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  // Node 20 tries every address of a host name and reports an AggregateError of them all.
  if (Array.isArray((error as PgError).errors) && (error as PgError).errors!.some(isConnectionError)) return true;
  return UNAVAILABLE_MESSAGE.test(error.message);
}

/** Thrown by update when its INSERT met a row another transaction created meanwhile. */
const RACE_LOST = new Error('postgresql driver: a concurrent insert won; merging again');

/** Carries an error the merge threw, so that it is never mistaken for a database error. */
class MergeThrew {
  constructor(readonly error: unknown) {}
}

interface Lease {
  client: ClientBase;
  /** Gives the connection back; a broken one is dropped from the pool. */
  done(broken: boolean): void;
  /** Kills the socket under a call that ran out of time (never a user's own Client). */
  destroy(): void;
}

function ignore(): void {}

/**
 * A named statement: pg parses and plans it once per connection and then only binds values
 * (bench/drivers.ts, 32 concurrent load + flush: about 1.5× the raw floor, against about 2.2×
 * with unnamed statements). The name is a hash of the text, so tables never share one.
 */
function named(text: string): (values: unknown[]) => QueryConfig {
  const name = `isosession_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
  return (values) => ({ name, text, values });
}

function isPool(value: unknown): value is Pool {
  const candidate = value as Partial<Pool> | null;
  return typeof candidate?.connect === 'function' && typeof candidate.query === 'function' && 'idleCount' in candidate;
}

function isClient(value: unknown): value is ClientBase {
  const candidate = value as Partial<ClientBase> | null;
  return typeof candidate?.query === 'function' && typeof candidate.connect === 'function' && !('idleCount' in candidate);
}

/** `DataSource` + `User` / `Password` as a pg pool configuration. */
function connectionConfig(dataSource: string, user: unknown, password: unknown): PoolConfig {
  for (const [name, value] of [['User', user], ['Password', password]] as const) {
    if (value !== undefined && typeof value !== 'string') throw invalidArgument(NAME, `${name} must be a string, got ${typeof value}`);
  }
  const dbi = parseDbiDataSource(dataSource, /^pg$/i);
  if (dbi) {
    const port = dbi.port === undefined ? undefined : Number(dbi.port);
    return {
      database: dbi.dbname ?? dbi.database ?? dbi.db,
      host: dbi.host ?? dbi.hostaddr,
      port,
      user: (user as string | undefined) ?? dbi.user,
      password: (password as string | undefined) ?? dbi.password,
    };
  }
  if (/^postgres(ql)?:\/\//i.test(dataSource)) {
    // pg lets a connection string's own user and password win over separate ones; the
    // separate User / Password args are the more specific, so they go into the URL.
    let url: URL;
    try {
      url = new URL(dataSource);
    } catch {
      throw invalidArgument(NAME, `DataSource is not a valid URL: ${maskPassword(dataSource)}`);
    }
    if (user !== undefined) url.username = encodeURIComponent(user as string);
    if (password !== undefined) url.password = encodeURIComponent(password as string);
    return { connectionString: url.toString() };
  }
  return { connectionString: dataSource, user: user as string | undefined, password: password as string | undefined };
}

/**
 * `postgresql` (alias `pg`): one row per session in `TableName` (default `sessions`), created
 * on first use. Args: `Handle` (your pg Pool or connected Client, never closed here) or
 * `DataSource` (a `postgres://` URL or a DBI `dbi:Pg:dbname=…` string; a pool opened here and
 * closed by `close()`), `User`, `Password`, `TableName`, `IdColName` (`id`), `DataColName`
 * (`a_session`), `Timeout` (seconds, default 5: every call settles within it, rejecting with
 * `STORE_UNAVAILABLE` while the database is unreachable). `update` first tries a
 * compare-and-swap on the row's version (on the copy this process just read), and otherwise
 * runs a transaction around `SELECT … FOR UPDATE`, so concurrent flushes of one session
 * queue instead of losing writes.
 */
export async function createPostgresqlDriver(args: DsnArgs = {}): Promise<SqlDriver> {
  const options = parseSqlOptions(NAME, args);
  const { timeoutMs } = options;
  if (args.Handle !== undefined && args.DataSource !== undefined) {
    throw invalidArgument(NAME, 'give either Handle (your pg Pool or Client) or DataSource, not both');
  }

  let pool: Pool | undefined;
  let single: ClientBase | undefined;
  let owned = false;
  let where: string;
  if (args.Handle !== undefined) {
    if (isPool(args.Handle)) pool = args.Handle;
    else if (isClient(args.Handle)) single = args.Handle;
    else throw invalidArgument(NAME, 'Handle must be a pg Pool or a connected pg Client (from the "pg" package)');
    where = 'the given Handle';
  } else if (typeof args.DataSource === 'string' && args.DataSource !== '') {
    const config = connectionConfig(args.DataSource, args.User, args.Password);
    const { default: pg } = await import('pg');
    pool = new pg.Pool({
      application_name: 'isosession',
      ...config,
      // A store that is down fails the call within Timeout instead of queueing (issue 3).
      connectionTimeoutMillis: timeoutMs,
      idleTimeoutMillis: 10_000,
      // A CLI or test that forgets close() still exits once the pool is idle.
      allowExitOnIdle: true,
      keepAlive: true,
    });
    // An idle connection that dies (server restart, pg_terminate_backend) is dropped by the
    // pool, which then emits 'error': without a listener that would crash the process.
    pool.on('error', ignore);
    // pg emits 'error' on a connected client the server ends while no query runs on it
    // (pg_terminate_backend, a restart). There are moments with neither the pool's listener nor
    // lease()'s on a client, and an unheard 'error' kills the process (found by the reliability
    // battery: pg_terminate_backend under load). A dead client still fails its next query.
    pool.on('connect', (client) => client.on('error', ignore));
    owned = true;
    where = maskPassword(args.DataSource);
  } else {
    throw invalidArgument(NAME, `give DataSource (e.g. "postgres://user@127.0.0.1:5432/app") or Handle (a pg Pool or Client); got DataSource ${JSON.stringify(args.DataSource)}`);
  }

  const table = `"${options.table}"`;
  const idCol = `"${options.idCol}"`;
  const dataCol = `"${options.dataCol}"`;
  // COLLATE "C": ids compare byte by byte, so traverse's keyset pages (id > last ORDER BY id)
  // walk the primary key index whatever the database's default collation is.
  const CREATE = `CREATE TABLE IF NOT EXISTS ${table} (
  ${idCol} TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  ${dataCol} BYTEA NOT NULL,
  atime BIGINT NOT NULL,
  expires_at BIGINT,
  version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS "${options.indexName}" ON ${table} (expires_at)`;
  const selectText = `SELECT ${dataCol} AS data, atime, version FROM ${table} WHERE ${idCol} = $1`;
  const updateText = `UPDATE ${table} SET ${dataCol} = $2, atime = $3, expires_at = $4, version = version + 1 WHERE ${idCol} = $1`;
  const deleteText = `DELETE FROM ${table} WHERE ${idCol} = $1`;
  const SELECT = named(selectText);
  const SELECT_FOR_UPDATE = named(`${selectText} FOR UPDATE`);
  const UPSERT = named(`INSERT INTO ${table} (${idCol}, ${dataCol}, atime, expires_at, version) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (${idCol}) DO UPDATE SET ${dataCol} = EXCLUDED.${dataCol}, atime = EXCLUDED.atime, expires_at = EXCLUDED.expires_at, version = ${table}.version + 1
RETURNING version`);
  const INSERT_NEW = named(`INSERT INTO ${table} (${idCol}, ${dataCol}, atime, expires_at, version) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (${idCol}) DO NOTHING`);
  const UPDATE = named(updateText);
  const SWAP = named(`${updateText} AND version = $5`);
  // Every write moves version, a touch too: a copy read before it can no longer be swapped.
  const TOUCH = named(`UPDATE ${table} SET atime = $2, expires_at = $3, version = version + 1 WHERE ${idCol} = $1`);
  const DELETE = named(deleteText);
  const DELETE_IF = named(`${deleteText} AND version = $2`);
  const PAGE = named(`SELECT ${idCol} AS id FROM ${table} WHERE ${idCol} > $1 ORDER BY ${idCol} LIMIT ${PAGE_SIZE}`);
  const PURGE = named(`DELETE FROM ${table} WHERE expires_at <= $1`);

  const lock = single ? createConnectionLock() : undefined;
  const recent = createRecentCopies();
  let tableReady = false;
  let creating: Promise<void> | undefined;
  let closed = false;

  function unavailable(what: string, cause?: unknown): SessionError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new SessionError(
      'STORE_UNAVAILABLE',
      `postgresql driver: ${what} at ${where}${reason}; check that PostgreSQL is running and reachable, or raise Timeout (now ${timeoutMs / 1000} s)`,
      { cause },
    );
  }

  /** Database errors a user can act on get a hint; connection errors become STORE_UNAVAILABLE. */
  function translate(what: string, error: unknown): unknown {
    if (isConnectionError(error)) return unavailable(`${what} failed`, error);
    const code = errorCode(error);
    if (code === '42703' || code === '42804') {
      return new SessionError('STORE_ERROR', `postgresql driver: ${what} failed: ${(error as Error).message}; table ${options.table} does not have the columns this driver needs (see "SQL schema" in docs/drivers.md, or use a new TableName)`, { cause: error });
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
      return { client: single, done: release, destroy: ignore };
    }
    // A checked-out client has no pool listener, so a dying socket would emit an unhandled
    // 'error' and end the process. The listener goes on in the callback, synchronously: the
    // pool calls it while pg parses the server's reply, and when a just-opened connection is
    // terminated its FATAL can come in the same packet as ReadyForQuery, parsed before an
    // awaited promise resumes (reliability/faults.postgresql.test.ts crashed the app so).
    const client = await new Promise<PoolClient>((resolve, reject) => {
      pool!.connect((error, connected) => {
        if (error || !connected) return reject(error ?? new Error('the pool gave no connection'));
        connected.on('error', ignore);
        resolve(connected);
      });
    });
    if (deadline.passed) {
      client.off('error', ignore);
      client.release();
      throw unavailable('gave up waiting for a connection');
    }
    let released = false;
    return {
      client,
      done(broken) {
        if (released) return;
        released = true;
        client.off('error', ignore);
        client.release(broken || undefined);
      },
      destroy() {
        // What pg-pool itself does to a connection that times out: end the socket now,
        // which fails the query in flight (and a transaction never reaches COMMIT).
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      },
    };
  }

  async function createTable(client: ClientBase): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(CREATE);
        tableReady = true;
        return;
      } catch (error) {
        if (attempt < 5 && CREATE_RACE_CODES.has(errorCode(error) ?? '')) continue;
        throw error;
      }
    }
  }

  /**
   * One call: a connection (from the pool, or the Handle's own, one call at a time), the
   * table made on first use, the work, all within Timeout. A connection that turns out dead
   * (an idle one the server terminated) is replaced once if nothing can have been committed;
   * a transaction that lost a race runs again.
   */
  function run<T>(what: string, work: (client: ClientBase, progress: { committing: boolean }) => Promise<T>): Promise<T> {
    return withDeadline(timeoutMs, () => unavailable(`${what} got no answer within ${timeoutMs / 1000} s`), async (deadline) => {
      let replaced = 0;
      for (;;) {
        let current: Lease | undefined;
        const progress = { committing: false };
        try {
          current = await lease(deadline);
          deadline.abort = current.destroy;
          if (!tableReady) {
            creating ??= createTable(current.client).finally(() => {
              creating = undefined;
            });
            await creating;
          }
          const result = await work(current.client, progress);
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
          // Once COMMIT is sent its outcome is unknown: running the merge again could apply
          // it twice, so only a call that cannot have written anything is retried.
          if (broken && !progress.committing && replaced++ < 1) continue;
          throw translate(what, error);
        }
      }
    });
  }

  function copyOf(row: QueryResultRow): VersionedCopy {
    return { record: { data: row.data as Buffer, atime: Number(row.atime) }, version: Number(row.version) };
  }

  function values(id: string, data: RawSession, meta: StoreMeta): unknown[] {
    return [id, toBytes(data), meta.atime, meta.expiresAt ?? null];
  }

  function written(id: string, data: RawSession, meta: StoreMeta, version: number): void {
    recent.set(id, { record: { data, atime: meta.atime }, version });
  }

  /**
   * Compare-and-swap, no transaction. First on what this process knows: the copy it last read
   * (the load just before a flush), or else the guess "not stored yet" (a new session's first
   * flush); the write lands only if the row's version is still that copy's, or (an INSERT)
   * if there is still no row. Load + flush is then one SELECT + one UPDATE, create + flush one
   * INSERT. A merge that throws or keeps on such a copy, or a write that did not land, is
   * tried once more on a fresh read. False when that loses too: the caller takes the lock.
   */
  async function optimistic(client: ClientBase, id: string, merge: Merge, progress: { committing: boolean }): Promise<boolean> {
    let copy = recent.get(id) ?? null;
    for (let fresh = false; ; fresh = true) {
      const outcome = await swap(client, id, merge, copy, fresh);
      if (outcome !== 'stale') return outcome === 'done';
      if (fresh) return false;
      const { rows } = await client.query(SELECT([id]));
      copy = rows[0] ? copyOf(rows[0]) : null;
      // The next write is not this call's first statement: if the connection dies under it,
      // it may have landed, and the call must not be run again. The first write is, and a
      // pooled connection the server closed while it sat idle fails it unrun: then a new
      // connection is taken and the call retried.
      progress.committing = true;
    }
  }

  /** One compare-and-swap of `merge(copy)`; 'stale' when the copy did not decide or lost. */
  async function swap(client: ClientBase, id: string, merge: Merge, copy: VersionedCopy | null, fresh: boolean): Promise<'done' | 'stale'> {
    let result: MergeResult;
    try {
      result = merge(copy ? { ...copy.record } : null);
    } catch (error) {
      // On a fresh read the merge's verdict stands, as it would under the lock.
      if (fresh) throw new MergeThrew(error);
      return 'stale';
    }
    if (result.action === 'keep') return fresh ? 'done' : 'stale';
    if (result.action === 'remove') {
      if (!copy) return fresh ? 'done' : 'stale';
      recent.forget(id);
      return (await client.query(DELETE_IF([id, copy.version]))).rowCount === 1 ? 'done' : 'stale';
    }
    const { data, meta } = result;
    if (copy) {
      if ((await client.query(SWAP([...values(id, data, meta), copy.version]))).rowCount === 1) {
        written(id, data, meta, copy.version + 1);
        return 'done';
      }
    } else {
      const version = firstVersion();
      if ((await client.query(INSERT_NEW([...values(id, data, meta), version]))).rowCount === 1) {
        written(id, data, meta, version);
        return 'done';
      }
    }
    recent.forget(id);
    return 'stale';
  }

  /** The merge under the row lock: for a write that lost its compare-and-swap to another. */
  async function locked(client: ClientBase, id: string, merge: Merge, progress: { committing: boolean }): Promise<void> {
    await client.query('BEGIN');
    let after: (() => void) | undefined;
    try {
      // The row lock makes every other update (and store, touch, remove) of this id wait
      // until COMMIT, so the merge sees the latest copy and nothing lands in between.
      const { rows } = await client.query(SELECT_FOR_UPDATE([id]));
      const copy = rows[0] ? copyOf(rows[0]) : null;
      let result: MergeResult;
      try {
        result = merge(copy ? { ...copy.record } : null);
      } catch (error) {
        throw new MergeThrew(error);
      }
      if (result.action === 'store') {
        const { data, meta } = result;
        if (copy) {
          await client.query(UPDATE(values(id, data, meta)));
          after = () => written(id, data, meta, copy.version + 1);
        } else {
          // No row to lock: another transaction may insert the same id meanwhile. Then ours
          // inserts nothing (after waiting for theirs to commit) and the merge runs again.
          const version = firstVersion();
          const inserted = await client.query(INSERT_NEW([...values(id, data, meta), version]));
          if (inserted.rowCount === 0) throw RACE_LOST;
          after = () => written(id, data, meta, version);
        }
      } else if (result.action === 'remove' && copy) {
        await client.query(DELETE([id]));
      }
      progress.committing = true;
      recent.forget(id);
      await client.query('COMMIT');
      after?.();
    } catch (error) {
      if (!progress.committing) await client.query('ROLLBACK').catch(ignore);
      throw error;
    }
  }

  return {
    retrieve(id) {
      return run('retrieve', async (client): Promise<StoredRecord | null> => {
        const { rows } = await client.query(SELECT([id]));
        if (!rows[0]) {
          recent.forget(id);
          return null;
        }
        const copy = copyOf(rows[0]);
        recent.set(id, copy);
        return { ...copy.record };
      });
    },
    store(id, data, meta) {
      return run('store', async (client) => {
        recent.forget(id);
        const { rows } = await client.query(UPSERT([...values(id, data, meta), firstVersion()]));
        written(id, data, meta, Number(rows[0]!.version));
      });
    },
    remove(id) {
      return run('remove', async (client) => {
        recent.forget(id);
        await client.query(DELETE([id]));
      });
    },
    async traverse(visit) {
      // Keyset pages of ids, each fetched on its own; the visitor runs between pages with no
      // connection held, so it may load, flush or remove sessions itself.
      let after = '';
      for (;;) {
        const ids = await run('traverse', async (client) => {
          const { rows } = await client.query(PAGE([after]));
          return rows.map((row) => row.id as string);
        });
        for (const id of ids) await visit(id);
        if (ids.length < PAGE_SIZE) return;
        after = ids[ids.length - 1]!;
      }
    },
    update(id, merge) {
      let first = true;
      return run('update', async (client, progress) => {
        // A retry of this call (a dead connection, a lost race) goes straight to the lock.
        if (first) {
          first = false;
          if (await optimistic(client, id, merge, progress)) return;
          // Not landed, so nothing was written: the locked attempt may be retried as a whole.
          progress.committing = false;
        }
        await locked(client, id, merge, progress);
      });
    },
    touch(id, meta) {
      return run('touch', async (client) => {
        recent.forget(id);
        const result = await client.query(TOUCH([id, meta.atime, meta.expiresAt ?? null]));
        return result.rowCount === 1;
      });
    },
    purgeExpired(now) {
      const cutoff = purgeTime(NAME, now);
      return run('purgeExpired', async (client) => (await client.query(PURGE([cutoff]))).rowCount ?? 0);
    },
    async close() {
      if (!owned || closed) return;
      closed = true;
      await withDeadline(timeoutMs, () => unavailable('close got no answer'), () => pool!.end()).catch(ignore);
    },
  };
}
