import type { Merge, MergeResult, RawSession, StoreMeta, StoredRecord } from '../../types.js';
import { createConnectionLock } from '../connectionLock.js';
import { withDeadline } from '../deadline.js';
import type { Deadline } from '../deadline.js';
import { createRecentCopies, firstVersion } from '../recentCopies.js';
import type { VersionedCopy } from '../recentCopies.js';
import { purgeTime, toBytes } from '../sqlOptions.js';
import type { SqlDriver, SqlOptions } from '../sqlOptions.js';
import { MergeThrew, classifyError, errorCode, schemaMismatch, storeUnavailable } from '../storeErrors.js';
import type { StorePlace } from '../storeErrors.js';
import type { Lease, SqlConnections, SqlDialect } from './dialect.js';
import { PAGE_SIZE } from './statements.js';
import { isExpiredByData } from '../cgiSessionSchema.js';

/** Thrown by update when its INSERT met a row another transaction created meanwhile. */
const RACE_LOST = new Error('a concurrent insert won; merging again');

/** Set once a call's statement may have written: from then on it must not be run again. */
interface Progress {
  committing: boolean;
}

function ignore(): void {}

/**
 * A SQL driver: one row per session (id, data, atime, expires_at, version), the table made on
 * first use, every call within Timeout. `update` first tries a compare-and-swap on the row's
 * version (on the copy this process just read), and otherwise runs a transaction around
 * `SELECT … FOR UPDATE`, so concurrent flushes of one session queue instead of losing writes.
 * The dialect says how its database words each of these; all the logic is here, once.
 */
export function createSqlEngine<C>(dialect: SqlDialect<C>, options: SqlOptions, connections: SqlConnections<C>): SqlDriver {
  const { name, errors } = dialect;
  const { timeoutMs } = options;
  const place: StorePlace = { driver: name, where: connections.where, server: dialect.server, timeoutMs };
  const sql = dialect.statements(options);
  // Schema 'cgi-session': Perl CGI::Session's table, id and data only. atime and expiry live in
  // the data; update() always takes the row lock (there is no version to swap on), and Perl's
  // own UPDATE waits for it.
  const perl = options.schema === 'cgi-session';
  // Perl's default TEXT column takes text; BYTEA (ColumnType 'binary') and the own table bytes.
  const bindData = (data: RawSession): string | Buffer => (perl && !options.binaryData && typeof data === 'string' ? data : toBytes(data));
  const lock = connections.single !== undefined ? createConnectionLock() : undefined;
  const recent = createRecentCopies<VersionedCopy>();
  let tableReady = false;
  let creating: Promise<void> | undefined;
  let closed = false;

  const unavailable = (what: string, cause?: unknown) => storeUnavailable(place, what, cause);

  /** Database errors a user can act on get a hint; connection errors become STORE_UNAVAILABLE. */
  function translate(what: string, error: unknown): unknown {
    const kind = classifyError(errors, error);
    if (kind === 'unavailable') return unavailable(`${what} failed`, error);
    if (kind === 'schema') return schemaMismatch(name, what, options.table, error);
    return error;
  }

  async function lease(deadline: Deadline): Promise<Lease<C>> {
    if (closed) throw unavailable('the driver was closed (close() or Session.closeAll())');
    if (lock) {
      const release = await lock();
      if (deadline.passed) {
        release();
        throw unavailable('gave up waiting for the connection');
      }
      return { conn: connections.single!, done: release, destroy: ignore };
    }
    const leased = await connections.lease!();
    if (deadline.passed) {
      leased.done(false);
      throw unavailable('gave up waiting for a connection');
    }
    return leased;
  }

  async function createTable(conn: C): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await dialect.query(conn, sql.create);
        tableReady = true;
        return;
      } catch (error) {
        if (attempt < 5 && dialect.createRaceCodes.has(errorCode(error) ?? '')) continue;
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
  function run<T>(what: string, work: (conn: C, progress: Progress) => Promise<T>): Promise<T> {
    return withDeadline(timeoutMs, () => unavailable(`${what} got no answer within ${timeoutMs / 1000} s`), async (deadline) => {
      let replaced = 0;
      for (;;) {
        let current: Lease<C> | undefined;
        const progress: Progress = { committing: false };
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
          const kind = classifyError(errors, error);
          current?.done(kind === 'unavailable');
          if (deadline.passed) throw error;
          if (error === RACE_LOST || kind === 'race') continue;
          // Once COMMIT is sent its outcome is unknown: running the merge again could apply
          // it twice, so only a call that cannot have written anything is retried.
          if (kind === 'unavailable' && !progress.committing && replaced++ < 1) continue;
          throw translate(what, error);
        }
      }
    });
  }

  async function select(conn: C, text: string, id: string): Promise<VersionedCopy | null> {
    const row = (await dialect.query(conn, text, [id])).rows[0];
    if (!row) return null;
    return perl ? { record: { data: row.data as Buffer | string }, version: 0 } : { record: { data: row.data as Buffer, atime: Number(row.atime) }, version: Number(row.version) };
  }

  /** The values of a write, in the order of `update` and `swap`: data, atime, expires_at, id. */
  function values(id: string, data: RawSession, meta: StoreMeta): unknown[] {
    return perl ? [bindData(data), id] : [toBytes(data), meta.atime, meta.expiresAt ?? null, id];
  }

  /** The values of `insert` and `upsert`: id, data, atime, expires_at, version. */
  function row(id: string, data: RawSession, meta: StoreMeta, version: number): unknown[] {
    return perl ? [id, bindData(data)] : [id, toBytes(data), meta.atime, meta.expiresAt ?? null, version];
  }

  function written(id: string, data: RawSession, meta: StoreMeta, version: number): void {
    recent.set(id, { record: { data, atime: meta.atime }, version });
  }

  function merged(merge: Merge, copy: VersionedCopy | null): MergeResult {
    return merge(copy ? { ...copy.record } : null);
  }

  /**
   * Compare-and-swap, no transaction. First on what this process knows: the copy it last read
   * (the load just before a flush), or else the guess "not stored yet" (a new session's first
   * flush); the write lands only if the row's version is still that copy's, or (an INSERT)
   * if there is still no row. Load + flush is then one SELECT + one UPDATE, create + flush one
   * INSERT. A merge that throws or keeps on such a copy, or a write that did not land, is
   * tried once more on a fresh read. False when that loses too: the caller takes the lock.
   */
  async function optimistic(conn: C, id: string, merge: Merge, progress: Progress): Promise<boolean> {
    let copy = recent.get(id) ?? null;
    for (let fresh = false; ; fresh = true) {
      const outcome = await swap(conn, id, merge, copy, fresh);
      if (outcome !== 'stale') return outcome === 'done';
      if (fresh) return false;
      copy = await select(conn, sql.select, id);
      // The next write is not this call's first statement: if the connection dies under it,
      // it may have landed, and the call must not be run again. The first write is, and a
      // pooled connection the server closed while it sat idle fails it unrun: then a new
      // connection is taken and the call retried.
      progress.committing = true;
    }
  }

  /** One compare-and-swap of `merge(copy)`; 'stale' when the copy did not decide or lost. */
  async function swap(conn: C, id: string, merge: Merge, copy: VersionedCopy | null, fresh: boolean): Promise<'done' | 'stale'> {
    let result: MergeResult;
    try {
      result = merged(merge, copy);
    } catch (error) {
      // On a fresh read the merge's verdict stands, as it would under the lock.
      if (fresh) throw new MergeThrew(error);
      return 'stale';
    }
    if (result.action === 'keep') return fresh ? 'done' : 'stale';
    if (result.action === 'remove') {
      if (!copy) return fresh ? 'done' : 'stale';
      recent.forget(id);
      return (await dialect.query(conn, sql.deleteIf, [id, copy.version])).count === 1 ? 'done' : 'stale';
    }
    const { data, meta } = result;
    if (copy) {
      if ((await dialect.query(conn, sql.swap, [...values(id, data, meta), copy.version])).count === 1) {
        written(id, data, meta, copy.version + 1);
        return 'done';
      }
    } else {
      const version = firstVersion();
      if (await dialect.insertIfAbsent(conn, sql.insert, row(id, data, meta, version))) {
        written(id, data, meta, version);
        return 'done';
      }
    }
    recent.forget(id);
    return 'stale';
  }

  /** The merge under the row lock: for a write that lost its compare-and-swap to another. */
  async function locked(conn: C, id: string, merge: Merge, progress: Progress): Promise<void> {
    await dialect.query(conn, sql.begin);
    let after: (() => void) | undefined;
    try {
      // The row lock makes every other update (and store, touch, remove) of this id wait
      // until COMMIT, so the merge sees the latest copy and nothing lands in between.
      const copy = await select(conn, sql.selectForUpdate, id);
      let result: MergeResult;
      try {
        result = merged(merge, copy);
      } catch (error) {
        throw new MergeThrew(error);
      }
      if (result.action === 'store') {
        const { data, meta } = result;
        if (copy) {
          await dialect.query(conn, sql.update, values(id, data, meta));
          after = () => written(id, data, meta, copy.version + 1);
        } else {
          // No row to lock: another transaction may insert the same id meanwhile. Then ours
          // inserts nothing (after waiting for theirs to commit) and the merge runs again.
          const version = firstVersion();
          if (!(await dialect.insertIfAbsent(conn, sql.insert, row(id, data, meta, version)))) throw RACE_LOST;
          after = () => written(id, data, meta, version);
        }
      } else if (result.action === 'remove' && copy) {
        await dialect.query(conn, sql.delete, [id]);
      }
      progress.committing = true;
      recent.forget(id);
      await dialect.query(conn, 'COMMIT');
      after?.();
    } catch (error) {
      if (!progress.committing) await dialect.query(conn, 'ROLLBACK').catch(ignore);
      throw error;
    }
  }

  return {
    retrieve(id) {
      return run('retrieve', async (conn): Promise<StoredRecord | null> => {
        const copy = await select(conn, sql.select, id);
        if (!copy) {
          recent.forget(id);
          return null;
        }
        recent.set(id, copy);
        return { ...copy.record };
      });
    },
    store(id, data, meta) {
      return run('store', async (conn) => {
        recent.forget(id);
        const proposed = firstVersion();
        const { rows, count } = await dialect.query(conn, sql.upsert, row(id, data, meta, proposed));
        // PostgreSQL returns the row's version; MySQL only says 1 (inserted, with ours) or 2
        // (an existing row changed, to a version we do not know: nothing to remember).
        const version = rows[0]?.version !== undefined ? Number(rows[0].version) : count === 1 ? proposed : undefined;
        if (version !== undefined && !perl) written(id, data, meta, version);
      });
    },
    remove(id) {
      return run('remove', async (conn) => {
        recent.forget(id);
        await dialect.query(conn, sql.delete, [id]);
      });
    },
    async traverse(visit) {
      // Keyset pages of ids, each fetched on its own; the visitor runs between pages with no
      // connection held, so it may load, flush or remove sessions itself.
      let after = '';
      for (;;) {
        const ids = await run('traverse', async (conn) => {
          const { rows } = await dialect.query(conn, sql.page, [after]);
          // A binary id column comes back as a Buffer; a user-made text column as a string.
          return rows.map((page) => (typeof page.id === 'string' ? page.id : (page.id as Buffer).toString('utf8')));
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
        if (first && !perl) {
          first = false;
          if (await optimistic(conn, id, merge, progress)) return;
          // Not landed, so nothing was written: the locked attempt may be retried as a whole.
          progress.committing = false;
        }
        await locked(conn, id, merge, progress);
      });
    },
    // Perl's table has no atime column: no cheap touch (the Session rewrites the data instead).
    ...(perl ? {} : {
      touch(id: string, meta: StoreMeta) {
        return run('touch', async (conn) => {
          recent.forget(id);
          return (await dialect.query(conn, sql.touch, [meta.atime, meta.expiresAt ?? null, id])).count > 0;
        });
      },
    }),
    async purgeExpired(now) {
      const cutoff = purgeTime(name, now);
      if (!perl) return run('purgeExpired', async (conn) => (await dialect.query(conn, sql.purge, [cutoff])).count);
      // Expiry is only in the data, as Perl keeps it: read every row (in pages, as traverse
      // does) and delete each expired one only if its data is still what was read.
      let purged = 0;
      let after = '';
      for (;;) {
        const rows = await run('purgeExpired', async (conn) => (await dialect.query(conn, sql.dataPage!, [after])).rows);
        for (const page of rows) {
          const data = page.data as Buffer | string;
          if (isExpiredByData(data, cutoff)) {
            purged += await run('purgeExpired', async (conn) => (await dialect.query(conn, sql.deleteIf, [page.id, data])).count);
          }
        }
        if (rows.length < PAGE_SIZE) return purged;
        const last = rows[rows.length - 1]!.id;
        after = typeof last === 'string' ? last : (last as Buffer).toString('utf8');
      }
    },
    async close() {
      const end = connections.end;
      if (!end || closed) return;
      closed = true;
      await withDeadline(timeoutMs, () => unavailable('close got no answer'), end).catch(ignore);
    },
  };
}
