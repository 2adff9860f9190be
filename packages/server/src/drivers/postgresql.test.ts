import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createPostgresqlDriver } from '../index.js';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { dropTables, onPostgresql, randomTableName } from '../testing/sqlTables.js';
import { runSqlServerSuite } from '../testing/sqlServerSuite.js';

const server = new URL(SERVICE_URLS.postgresql);

describe.runIf(await serviceAvailable('postgresql'))('postgresql', () => {
  runSqlServerSuite({
    name: 'postgresql',
    dsn: 'driver:postgresql',
    aliasDsn: 'driver:pg',
    url: SERVICE_URLS.postgresql,
    clientModule: 'pg',
    createDriver: createPostgresqlDriver,
    rowCount: (table) => onPostgresql(async (query) => Number((await query(`SELECT count(*) AS n FROM "${table}"`)).rows[0]!.n)),
    columns: (table) => onPostgresql(async (query) =>
      (await query('SELECT column_name AS c FROM information_schema.columns WHERE table_name = $1', [table])).rows.map((row) => String(row.c).toLowerCase())),
    indexedColumns: (table) => onPostgresql(async (query) =>
      (await query('SELECT a.attname AS c FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = $1::regclass', [`"${table}"`])).rows.map((row) => String(row.c).toLowerCase())),
    insertIds: (table, ids) => onPostgresql(async (query) => {
      await query(`INSERT INTO "${table}" (id, a_session, atime) SELECT unnest($1::text[]), '\\x78'::bytea, 0`, [ids]);
    }),
    purgePlan: (table) => onPostgresql(async (query) => {
      // A table this small is scanned whatever its indexes: forbid that to see which index serves.
      await query('SET enable_seqscan = off');
      return (await query(`EXPLAIN DELETE FROM "${table}" WHERE expires_at <= 1700000000`)).rows.map((row) => row['QUERY PLAN']).join('\n');
    }),
    dbi: {
      DataSource: `dbi:Pg:dbname=${server.pathname.slice(1)};host=${server.hostname};port=${server.port || 5432}`,
      User: decodeURIComponent(server.username),
    },
  });

  describe('postgresql driver: Handle and connections', () => {
    const tables: string[] = [];
    const ends: (() => Promise<void>)[] = [];

    afterEach(async () => {
      await Session.closeAll();
      await Promise.all(ends.splice(0).map((end) => end()));
    });
    afterAll(() => dropTables('postgresql', tables));

    function table(): string {
      const name = randomTableName('handle');
      tables.push(name);
      return name;
    }

    it('a Pool passed as Handle is used and never closed, by close() or Session.closeAll()', async () => {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: SERVICE_URLS.postgresql });
      ends.push(() => pool.end());
      const args = { Handle: pool, TableName: table() };
      const s = await Session.new('driver:postgresql', null, args);
      s.param('via', 'pool');
      await s.flush();
      await s.driver().close!();
      await Session.closeAll();
      expect(pool.ended).toBe(false);
      expect((await pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
      expect((await Session.load('driver:postgresql', s.id()!, args)).param('via')).toBe('pool');
    });

    it('a Client passed as Handle is shared one call at a time (concurrent updates lose nothing) and never closed', async () => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
      await client.connect();
      ends.push(() => client.end());
      const args = { Handle: client, TableName: table() };
      const s = await Session.new('driver:postgresql', null, args);
      s.param('count', 0);
      await s.flush();
      // Each update is a transaction on the one connection: interleaved, they would mix.
      await Promise.all(Array.from({ length: 10 }, () => Session.update(s.id()!, (live) => {
        live.param('count', (live.param('count') as number) + 1);
      }, { dsn: 'driver:postgresql', dsnArgs: args })));
      expect((await Session.load('driver:postgresql', s.id()!, args)).param('count')).toBe(10);
      await Session.closeAll();
      expect((await client.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    });

    it('a connection terminated by the server (pg_terminate_backend) is replaced: the next load and flush work', async () => {
      // Our own pool's connections only: they carry an application_name no one else uses.
      const applicationName = `isosession-test-${randomBytes(4).toString('hex')}`;
      const url = new URL(SERVICE_URLS.postgresql);
      url.searchParams.set('application_name', applicationName);
      const args = { DataSource: url.toString(), TableName: table() };
      const s = await Session.new('driver:postgresql', null, args);
      s.param('before', 1);
      await s.flush();
      const terminate = () => onPostgresql(async (query) =>
        (await query('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rows.length);

      expect(await terminate()).toBeGreaterThan(0);
      const loaded = await Session.load('driver:postgresql', s.id()!, args);
      expect(loaded.param('before')).toBe(1);
      expect(await terminate()).toBeGreaterThan(0);
      loaded.param('after', 2);
      await loaded.flush();
      expect((await Session.load('driver:postgresql', s.id()!, args)).param('after')).toBe(2);
    });

    it('connections terminated again and again under load: calls fail only with STORE_UNAVAILABLE, and work afterwards', async () => {
      const applicationName = `isosession-test-${randomBytes(4).toString('hex')}`;
      const url = new URL(SERVICE_URLS.postgresql);
      url.searchParams.set('application_name', applicationName);
      const args = { DataSource: url.toString(), TableName: table() };
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const s = await Session.new('driver:postgresql', null, args);
        await s.flush();
        ids.push(s.id()!);
      }
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
      await admin.connect();
      ends.push(() => admin.end());
      // A terminated connection that has just been opened is the case that once crashed the
      // process (an 'error' event with no listener): terminate again and again, hundreds of
      // times a second, with a pause of a few milliseconds at random so that on a busy machine
      // some calls still get through (with none, "work afterwards" says nothing).
      let terminating = true;
      const terminator = (async () => {
        while (terminating) {
          await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        }
      })();
      const failures = new Set<string>();
      let succeeded = 0;
      try {
        await Promise.all(ids.map(async (id) => {
          for (let i = 0; i < 40; i++) {
            try {
              const s = await Session.load('driver:postgresql', id, args);
              s.param('n', i);
              await s.flush();
              succeeded += 1;
            } catch (error) {
              failures.add(error instanceof SessionError ? error.code : String(error));
            }
          }
        }));
      } finally {
        terminating = false;
        await terminator;
      }
      expect([...failures].filter((code) => code !== 'STORE_UNAVAILABLE')).toEqual([]);
      expect(succeeded).toBeGreaterThan(0);
      const after = await Session.load('driver:postgresql', ids[0]!, args);
      after.param('after', true);
      await after.flush();
      expect((await Session.load('driver:postgresql', ids[0]!, args)).param('after')).toBe(true);
    });

    it('a table without the columns the driver needs fails with STORE_ERROR pointing to the schema', async () => {
      const name = table();
      // CGI::Session's own PostgreSQL table: id and a_session only.
      await onPostgresql((query) => query(`CREATE TABLE "${name}" (id CHAR(32) NOT NULL PRIMARY KEY, a_session TEXT NOT NULL)`));
      const error = await Session.load('driver:postgresql', 'a'.repeat(32), { DataSource: SERVICE_URLS.postgresql, TableName: name })
        .then(() => undefined, (reason: unknown) => reason);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('STORE_ERROR');
      expect((error as SessionError).message).toMatch(/docs\/drivers\.md/);
    });
  });
});
