import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Session, SessionError, purgeExpired } from '../index.js';
import type { DsnArgs, Merge, SqlDriver, StoredRecord } from '../index.js';
import { randomId } from './driverContract.js';
import { firstUseFromProcesses } from './firstUse.js';
import { freePort } from '@isosession/test-support/freePort';
import { dropTables, randomTableName } from './sqlTables.js';
import { startTcpProxy } from '@isosession/test-support/tcpProxy';
import type { TcpProxy } from '@isosession/test-support/tcpProxy';

/** What the suite needs to look inside the database, per server. */
export interface SqlServerSuiteOptions {
  name: 'postgresql' | 'mysql';
  /** The driver's DSN, e.g. "driver:postgresql". */
  dsn: string;
  /** Another registered name for the same driver, e.g. "driver:pg". */
  aliasDsn: string;
  /** The shared server, as a URL with user and database. */
  url: string;
  /** The client module the driver imports, loaded early by child processes. */
  clientModule: string;
  /** The driver's factory, for two instances on one table (two processes' worth of caches). */
  createDriver(args: DsnArgs): Promise<SqlDriver>;
  rowCount(table: string): Promise<number>;
  /** Column names of `table`, lower case. */
  columns(table: string): Promise<string[]>;
  /** The first column of every index of `table`, lower case. */
  indexedColumns(table: string): Promise<string[]>;
  /** Inserts rows directly (bytes "x", no expiry), to build a large table fast. */
  insertIds(table: string, ids: string[]): Promise<void>;
  /** The plan of the purge's DELETE on `table`, as text. */
  purgePlan(table: string): Promise<string>;
  /** A DBI data source ("dbi:Pg:…") for the shared server, with the user it needs. */
  dbi: { DataSource: string; User: string };
}

function atPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

async function codeOf(pending: Promise<unknown>): Promise<string | undefined> {
  try {
    await pending;
    return undefined;
  } catch (error) {
    if (!(error instanceof SessionError)) throw error;
    return error.code;
  }
}

/**
 * The SQL server drivers' own behaviour (the contracts cover the Driver interface and the
 * concurrency guarantees): the table and its names, one row per session, keyset traverse,
 * purgeExpired, argument checks, first use from many processes, and bounded failure while
 * the server is unreachable (a TCP proxy in front of the shared server is cut or silenced).
 */
export function runSqlServerSuite(options: SqlServerSuiteOptions): void {
  const { name, dsn, url } = options;
  const tables: string[] = [];
  const proxies: TcpProxy[] = [];

  function freshTable(label: string): string {
    const table = randomTableName(label);
    tables.push(table);
    return table;
  }

  function argsFor(table: string, extra: DsnArgs = {}): DsnArgs {
    return { DataSource: url, TableName: table, ...extra };
  }

  afterEach(async () => {
    await Session.closeAll();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });
  afterAll(() => dropTables(name, tables));

  describe(`${name} driver: table and rows`, () => {
    it('S79: the table is created on first use with TableName, IdColName and DataColName, and an index on expires_at', async () => {
      const table = freshTable('names');
      const args = argsFor(table, { IdColName: 'sid', DataColName: 'payload' });
      const s = await Session.new(dsn, null, args);
      s.param('color', 'blue');
      s.expire('1h');
      await s.flush();
      expect((await options.columns(table)).sort()).toEqual(['atime', 'expires_at', 'payload', 'sid', 'version']);
      expect(await options.indexedColumns(table)).toContain('expires_at');
      expect((await Session.load(dsn, s.id()!, args)).param('color')).toBe('blue');
    });

    it('S79: storing one session many times keeps one row, and find visits it once', async () => {
      const table = freshTable('rows');
      const args = argsFor(table);
      const s = await Session.new(dsn, null, args);
      await s.flush();
      for (let i = 0; i < 20; i++) {
        const visit = await Session.load(dsn, s.id()!, args);
        // Every other visit only moves atime (a touch), the rest rewrite the data.
        if (i % 2 === 0) visit.param('visits', i);
        else visit.touch();
        await visit.flush();
      }
      expect(await options.rowCount(table)).toBe(1);
      const found: string[] = [];
      await Session.find(dsn, (session) => {
        found.push(session.id()!);
      }, args);
      expect(found).toEqual([s.id()]);
    });

    it('traverse pages through more ids than one page holds, each exactly once', async () => {
      const table = freshTable('pages');
      const s = await Session.new(dsn, null, argsFor(table));
      await s.flush();
      const ids = Array.from({ length: 1203 }, () => randomId());
      await options.insertIds(table, ids);
      const visited: string[] = [];
      await s.driver().traverse((id) => {
        visited.push(id);
      });
      expect(visited).toHaveLength(ids.length + 1);
      expect(new Set(visited)).toEqual(new Set([...ids, s.id()!]));
    });

    it('purgeExpired deletes the sessions whose expiry passed, through the expires_at index', async () => {
      const table = freshTable('purge');
      const s = await Session.new(dsn, null, argsFor(table));
      const driver = s.driver() as SqlDriver;
      const now = Math.floor(Date.now() / 1000);
      await driver.store('forever', 'x', { atime: now - 7200 });
      await driver.store('later', 'x', { atime: now, etime: 3600, expiresAt: now + 3600 });
      await driver.store('past', 'x', { atime: now - 7200, etime: 3600, expiresAt: now - 3600 });
      await driver.store('now', 'x', { atime: now - 60, etime: 60, expiresAt: now });
      await expect(driver.purgeExpired(now)).resolves.toBe(2);
      await expect(driver.retrieve('past')).resolves.toBeNull();
      await expect(driver.retrieve('now')).resolves.toBeNull();
      expect(await driver.retrieve('later')).not.toBeNull();
      // The exported helper takes a session's driver; a session that never expires stays.
      await expect(purgeExpired(driver, now + 10 * 365 * 86_400)).resolves.toBe(1);
      await expect(driver.retrieve('later')).resolves.toBeNull();
      expect(await driver.retrieve('forever')).not.toBeNull();
      await expect(driver.purgeExpired()).resolves.toBe(0);
      expect(await options.purgePlan(table)).toMatch(new RegExp(`${table}_expires_at`));
    });

    it('purgeExpired(driver) of a driver without an expiry index is INVALID_ARGUMENT', async () => {
      const s = await Session.new('driver:memory', null, { Namespace: randomId() });
      expect(await codeOf(purgeExpired(s.driver()))).toBe('INVALID_ARGUMENT');
    });

    it(`the alias ${options.aliasDsn} is the same driver on the same table`, async () => {
      const args = argsFor(freshTable('alias'));
      const s = await Session.new(dsn, null, args);
      s.param('via', 'main name');
      await s.flush();
      expect((await Session.load(options.aliasDsn, s.id()!, args)).param('via')).toBe('main name');
    });

    it('the first use of a new table from 8 processes at once: all succeed, one table, 8 rows', async () => {
      const table = freshTable('firstuse');
      await firstUseFromProcesses(dsn, argsFor(table), 8, options.clientModule);
      expect(await options.rowCount(table)).toBe(8);
    }, 60_000);
  });

  describe(`${name} driver: compare-and-swap on a remembered copy`, () => {
    // Two driver instances on one table stand for two app servers: each remembers what it
    // read, and neither knows what the other wrote since.
    const opened: SqlDriver[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((driver) => driver.close()));
    });

    async function twoServers(): Promise<[SqlDriver, SqlDriver]> {
      const args = argsFor(freshTable('cas'));
      const a = await options.createDriver(args);
      const b = await options.createDriver(args);
      opened.push(a, b);
      return [a, b];
    }

    const text = (record: StoredRecord | null) =>
      record === null ? null : Buffer.from((typeof record === 'object' && 'data' in record ? record.data : record) as Uint8Array).toString();

    /** A merge that appends `suffix` to what it is given, and records what it was given. */
    function append(suffix: string, seen: (string | null)[]): Merge {
      return (current) => {
        seen.push(text(current));
        return { action: 'store', data: `${text(current) ?? ''}${suffix}`, meta: { atime: 1_700_000_100 } };
      };
    }

    it('a copy that another server overwrote since is never written back: the merge runs again on the new data', async () => {
      const [a, b] = await twoServers();
      const id = randomId();
      await a.store(id, 'first', { atime: 1_700_000_000 });
      await a.retrieve(id);
      await b.store(id, 'by b', { atime: 1_700_000_050 });
      const seen: (string | null)[] = [];
      await a.update!(id, append(' + a', seen));
      expect(text(await b.retrieve(id))).toBe('by b + a');
      // First on the remembered copy (its swap fails), then on what b wrote.
      expect(seen).toEqual(['first', 'by b']);
    });

    it('a session deleted and created again under the same id is not mistaken for the copy read before', async () => {
      const [a, b] = await twoServers();
      const id = randomId();
      await a.update!(id, append('first life', []));
      await a.retrieve(id);
      await b.remove(id);
      await b.update!(id, append('second life', []));
      const seen: (string | null)[] = [];
      await a.update!(id, append(' + a', seen));
      expect(text(await b.retrieve(id))).toBe('second life + a');
      expect(seen).toEqual(['first life', 'second life']);
    });

    it('a touch by another server makes the copy stale too (the merge sees the new atime)', async () => {
      const [a, b] = await twoServers();
      const id = randomId();
      await a.store(id, 'data', { atime: 1_700_000_000 });
      await a.retrieve(id);
      await expect(b.touch!(id, { atime: 1_700_000_070 })).resolves.toBe(true);
      const atimes: (number | undefined)[] = [];
      await a.update!(id, (current) => {
        atimes.push((current as { atime?: number }).atime);
        return { action: 'store', data: 'data', meta: { atime: 1_700_000_080 } };
      });
      expect(atimes.at(-1)).toBe(1_700_000_070);
    });

    it('a merge that throws on a stale copy decides again on the stored one', async () => {
      const [a, b] = await twoServers();
      const id = randomId();
      await a.store(id, 'stale', { atime: 1_700_000_000 });
      await a.retrieve(id);
      await b.store(id, 'fresh', { atime: 1_700_000_000 });
      await a.update!(id, (current) => {
        if (text(current) === 'stale') throw new SessionError('CONFLICT', 'changed since it was loaded');
        return { action: 'store', data: 'merged onto fresh', meta: { atime: 1_700_000_001 } };
      });
      expect(text(await b.retrieve(id))).toBe('merged onto fresh');
    });

    it('a removal on a stale copy removes nothing another server wrote since, unless the merge says so again', async () => {
      const [a, b] = await twoServers();
      const id = randomId();
      await a.store(id, 'old', { atime: 1_700_000_000 });
      await a.retrieve(id);
      await b.store(id, 'new', { atime: 1_700_000_000 });
      await a.update!(id, (current) => (text(current) === 'old' ? { action: 'remove' } : { action: 'keep' }));
      expect(text(await b.retrieve(id))).toBe('new');
    });
  });

  describe(`${name} driver: arguments`, () => {
    const bad: [string, DsnArgs][] = [
      ['TableName with SQL in it', { TableName: 'sessions; DROP TABLE users' }],
      ['TableName starting with a digit', { TableName: '1sessions' }],
      ['TableName with a dash', { TableName: 'my-sessions' }],
      ['TableName of 64 characters', { TableName: 'a'.repeat(64) }],
      ['TableName not a string', { TableName: 42 }],
      ['IdColName with a quote', { IdColName: 'id"' }],
      ['DataColName named like a column the driver keeps', { DataColName: 'expires_at' }],
      ['IdColName equal to DataColName', { IdColName: 'data', DataColName: 'data' }],
      ['Timeout of zero', { Timeout: 0 }],
      ['Timeout that is no duration', { Timeout: 'soon' }],
      ['no DataSource and no Handle', { DataSource: undefined }],
      ['both DataSource and Handle', { Handle: {} }],
      ['a Handle that is no client', { DataSource: undefined, Handle: { query: 1 } }],
      ['a User that is no string', { User: 7 }],
    ];
    for (const [what, extra] of bad) {
      it(`${what} is refused with INVALID_ARGUMENT`, async () => {
        expect(await codeOf(Session.new(dsn, null, argsFor('isosession_never_created', extra)))).toBe('INVALID_ARGUMENT');
      });
    }

    it('User and Password given beside the DataSource win over its own', async () => {
      const parsed = new URL(url);
      const user = decodeURIComponent(parsed.username);
      parsed.username = 'isosession_no_such_user';
      parsed.password = 'wrong';
      const args = { DataSource: parsed.toString(), User: user, Password: '', TableName: freshTable('user') };
      const s = await Session.new(dsn, null, args);
      s.param('ok', true);
      await s.flush();
      expect((await Session.load(dsn, s.id()!, args)).param('ok')).toBe(true);
    });

    it('a Perl DBI data source (as CGI::Session users wrote it) works', async () => {
      const args = { ...options.dbi, TableName: freshTable('dbi') };
      const s = await Session.new(dsn, null, args);
      s.param('from', 'perl');
      await s.flush();
      expect((await Session.load(dsn, s.id()!, args)).param('from')).toBe('perl');
    });
  });

  describe(`${name} driver: bounded failure`, () => {
    it('a server that refuses connections: load and flush reject with STORE_UNAVAILABLE', async () => {
      const args = { DataSource: atPort(url, await freePort()), TableName: freshTable('refused'), Timeout: 2 };
      expect(await codeOf(Session.load(dsn, randomId(), args))).toBe('STORE_UNAVAILABLE');
      const s = await Session.new(dsn, null, args);
      s.param('lost', true);
      const error = await s.flush().then(() => undefined, (reason: unknown) => reason);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
      expect((error as SessionError).message).toMatch(/Timeout/);
    });

    it('the server goes away and comes back: calls meanwhile are STORE_UNAVAILABLE, nothing half-written, the next call works', async () => {
      const proxy = await startTcpProxy('127.0.0.1', Number(new URL(url).port));
      proxies.push(proxy);
      const args = { DataSource: atPort(url, proxy.port), TableName: freshTable('down'), Timeout: 2 };
      const s = await Session.new(dsn, null, args);
      s.param('kept', 1);
      await s.flush();
      const during = await Session.load(dsn, s.id()!, args);
      during.param('lost', 2);

      await proxy.down();
      expect(await codeOf(Session.load(dsn, s.id()!, args))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(during.flush())).toBe('STORE_UNAVAILABLE');

      await proxy.up();
      const after = await Session.load(dsn, s.id()!, args);
      expect(after.param('kept')).toBe(1);
      expect(after.param('lost')).toBeUndefined();
      after.param('again', 3);
      await after.flush();
      expect((await Session.load(dsn, s.id()!, args)).param('again')).toBe(3);
    });

    // The vitest timeout (30 s) is the bound: without Timeout these calls would wait on the
    // silent sockets for as long as TCP keeps them (minutes).
    it('the server stops answering: load and flush reject with STORE_UNAVAILABLE after Timeout, then recover', async () => {
      const proxy = await startTcpProxy('127.0.0.1', Number(new URL(url).port));
      proxies.push(proxy);
      const args = { DataSource: atPort(url, proxy.port), TableName: freshTable('silent'), Timeout: 1 };
      const s = await Session.new(dsn, null, args);
      s.param('kept', 1);
      await s.flush();
      const during = await Session.load(dsn, s.id()!, args);
      during.param('lost', 2);

      proxy.blackhole();
      expect(await codeOf(Session.load(dsn, s.id()!, args))).toBe('STORE_UNAVAILABLE');
      expect(await codeOf(during.flush())).toBe('STORE_UNAVAILABLE');

      await proxy.up();
      const after = await Session.load(dsn, s.id()!, args);
      expect(after.param('kept')).toBe(1);
      expect(after.param('lost')).toBeUndefined();
      after.param('again', 3);
      await after.flush();
      expect((await Session.load(dsn, s.id()!, args)).param('again')).toBe(3);
    });
  });
}
