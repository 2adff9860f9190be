import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createMysqlDriver } from '../index.js';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { dropTables, onMysql, randomTableName } from '../testing/sqlTables.js';
import { runSqlServerSuite } from '../testing/sqlServerSuite.js';

const server = new URL(SERVICE_URLS.mysql);

describe.runIf(await serviceAvailable('mysql'))('mysql', () => {
  runSqlServerSuite({
    name: 'mysql',
    dsn: 'driver:mysql',
    aliasDsn: 'driver:mariadb',
    url: SERVICE_URLS.mysql,
    clientModule: 'mysql2/promise',
    createDriver: createMysqlDriver,
    rowCount: (table) => onMysql(async (query) => Number((await query(`SELECT COUNT(*) AS n FROM \`${table}\``))[0]!.n)),
    columns: (table) => onMysql(async (query) =>
      (await query('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [table])).map((row) => String(row.c).toLowerCase())),
    indexedColumns: (table) => onMysql(async (query) =>
      (await query('SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1', [table])).map((row) => String(row.c).toLowerCase())),
    insertIds: (table, ids) => onMysql(async (query) => {
      await query(`INSERT INTO \`${table}\` (id, a_session, atime) VALUES ?`, [ids.map((id) => [id, 'x', 0])]);
    }),
    // The index the DELETE uses (EXPLAIN's `key`), not merely one it could use.
    purgePlan: (table) => onMysql(async (query) =>
      (await query(`EXPLAIN DELETE FROM \`${table}\` WHERE expires_at <= 1700000000`)).map((row) => String(row.key)).join('\n')),
    dbi: {
      DataSource: `dbi:mysql:database=${server.pathname.slice(1)};host=${server.hostname};port=${server.port || 3306}`,
      User: decodeURIComponent(server.username),
    },
  });

  describe('mysql driver: Handle and connections', () => {
    const tables: string[] = [];
    const ends: (() => Promise<void>)[] = [];

    afterEach(async () => {
      await Session.closeAll();
      await Promise.all(ends.splice(0).map((end) => end()));
    });
    afterAll(() => dropTables('mysql', tables));

    function table(): string {
      const name = randomTableName('handle');
      tables.push(name);
      return name;
    }

    it('a promise Pool passed as Handle is used and never closed, by close() or Session.closeAll()', async () => {
      const mysql = await import('mysql2/promise');
      const pool = mysql.createPool(SERVICE_URLS.mysql);
      ends.push(() => pool.end());
      const args = { Handle: pool, TableName: table() };
      const s = await Session.new('driver:mysql', null, args);
      s.param('via', 'pool');
      await s.flush();
      await s.driver().close!();
      await Session.closeAll();
      const [rows] = await pool.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
      expect((await Session.load('driver:mysql', s.id()!, args)).param('via')).toBe('pool');
    });

    it('a callback-style Pool (require("mysql2")) works as Handle too', async () => {
      const mysql = await import('mysql2');
      const pool = mysql.createPool(SERVICE_URLS.mysql);
      ends.push(() => pool.promise().end());
      const args = { Handle: pool, TableName: table() };
      const s = await Session.new('driver:mysql', null, args);
      s.param('via', 'callback pool');
      await s.flush();
      expect((await Session.load('driver:mysql', s.id()!, args)).param('via')).toBe('callback pool');
    });

    it('a Connection passed as Handle is shared one call at a time (concurrent updates lose nothing) and never closed', async () => {
      const mysql = await import('mysql2/promise');
      const connection = await mysql.createConnection(SERVICE_URLS.mysql);
      ends.push(() => connection.end());
      const args = { Handle: connection, TableName: table() };
      const s = await Session.new('driver:mysql', null, args);
      s.param('count', 0);
      await s.flush();
      await Promise.all(Array.from({ length: 10 }, () => Session.update(s.id()!, (live) => {
        live.param('count', (live.param('count') as number) + 1);
      }, { dsn: 'driver:mysql', dsnArgs: args })));
      expect((await Session.load('driver:mysql', s.id()!, args)).param('count')).toBe(10);
      await Session.closeAll();
      const [rows] = await connection.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    });

    it('a connection killed by the server (KILL CONNECTION) is replaced: the next load and flush work', async () => {
      const mysql = await import('mysql2/promise');
      const pool = mysql.createPool(SERVICE_URLS.mysql);
      ends.push(() => pool.end());
      // Our pool's connections only: their ids are known from the pool's own events.
      const threads = new Set<number>();
      pool.pool.on('connection', (connection: { threadId: number }) => {
        threads.add(connection.threadId);
      });
      const args = { Handle: pool, TableName: table() };
      const s = await Session.new('driver:mysql', null, args);
      s.param('before', 1);
      await s.flush();
      const kill = () => onMysql(async (query) => {
        for (const thread of threads) await query(`KILL CONNECTION ${Number(thread)}`).catch(() => {});
        const killed = threads.size;
        threads.clear();
        return killed;
      });

      expect(await kill()).toBeGreaterThan(0);
      const loaded = await Session.load('driver:mysql', s.id()!, args);
      expect(loaded.param('before')).toBe(1);
      expect(await kill()).toBeGreaterThan(0);
      loaded.param('after', 2);
      await loaded.flush();
      expect((await Session.load('driver:mysql', s.id()!, args)).param('after')).toBe(2);
    });

    it('connections killed again and again under load: calls fail only with STORE_UNAVAILABLE, and work afterwards', async () => {
      const mysql = await import('mysql2/promise');
      const pool = mysql.createPool(SERVICE_URLS.mysql);
      ends.push(() => pool.end());
      const threads = new Set<number>();
      pool.pool.on('connection', (connection: { threadId: number }) => {
        threads.add(connection.threadId);
      });
      const args = { Handle: pool, TableName: table(), Timeout: 5 };
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const s = await Session.new('driver:mysql', null, args);
        await s.flush();
        ids.push(s.id()!);
      }
      const admin = await mysql.createConnection(SERVICE_URLS.mysql);
      ends.push(() => admin.end());
      let killing = true;
      const killer = (async () => {
        while (killing) {
          const victims = [...threads];
          threads.clear();
          for (const thread of victims) await admin.query(`KILL CONNECTION ${Number(thread)}`).catch(() => {});
          await admin.query('SELECT 1');
        }
      })();
      const failures = new Set<string>();
      let succeeded = 0;
      try {
        await Promise.all(ids.map(async (id) => {
          for (let i = 0; i < 40; i++) {
            try {
              const s = await Session.load('driver:mysql', id, args);
              s.param('n', i);
              await s.flush();
              succeeded += 1;
            } catch (error) {
              failures.add(error instanceof SessionError ? error.code : String(error));
            }
          }
        }));
      } finally {
        killing = false;
        await killer;
      }
      expect([...failures].filter((code) => code !== 'STORE_UNAVAILABLE')).toEqual([]);
      expect(succeeded).toBeGreaterThan(0);
      const after = await Session.load('driver:mysql', ids[0]!, args);
      after.param('after', true);
      await after.flush();
      expect((await Session.load('driver:mysql', ids[0]!, args)).param('after')).toBe(true);
    });

    it('a table without the columns the driver needs fails with STORE_ERROR pointing to the schema', async () => {
      const name = table();
      // CGI::Session's own MySQL table: id and a_session only.
      await onMysql((query) => query(`CREATE TABLE \`${name}\` (id CHAR(32) NOT NULL PRIMARY KEY, a_session TEXT NOT NULL)`));
      const error = await Session.load('driver:mysql', 'a'.repeat(32), { DataSource: SERVICE_URLS.mysql, TableName: name })
        .then(() => undefined, (reason: unknown) => reason);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('STORE_ERROR');
      expect((error as SessionError).message).toMatch(/docs\/drivers\.md/);
    });

    it('ids are compared byte for byte: case and trailing spaces make other sessions', async () => {
      const args = { DataSource: SERVICE_URLS.mysql, TableName: table() };
      const driver = (await Session.new('driver:mysql', null, args)).driver();
      await driver.store('abc', 'lower', { atime: 1_700_000_000 });
      await expect(driver.retrieve('ABC')).resolves.toBeNull();
      await expect(driver.retrieve('abc ')).resolves.toBeNull();
      expect(new TextDecoder().decode((await driver.retrieve('abc') as { data: Uint8Array }).data)).toBe('lower');
    });
  });
});
