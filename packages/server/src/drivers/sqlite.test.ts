import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Session, SessionError, purgeExpired } from '../index.js';
import type { DsnArgs, SqlDriver } from '../index.js';
import { firstUseFromProcesses } from '../testing/firstUse.js';
import { randomId } from '../testing/driverContract.js';

const directory = await mkdtemp(join(tmpdir(), 'isosession-sqlite-'));
let files = 0;
const handles: Database.Database[] = [];

function freshFile(): string {
  return join(directory, `store${++files}.db`);
}

/** A connection of the test's own to a database file, closed after the test. */
function inspect(path: string): Database.Database {
  const db = new Database(path);
  handles.push(db);
  return db;
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

afterEach(async () => {
  await Session.closeAll();
  for (const db of handles.splice(0)) if (db.open) db.close();
});
afterAll(() => rm(directory, { recursive: true, force: true }));

describe('sqlite driver: table and rows', () => {
  it('S79: the table is created on first use with TableName, IdColName and DataColName, and an index on expires_at', async () => {
    const path = freshFile();
    const args = { DataSource: path, TableName: 'web_sessions', IdColName: 'sid', DataColName: 'payload' };
    const s = await Session.new('driver:sqlite', null, args);
    s.param('color', 'blue');
    s.expire('1h');
    await s.flush();
    const db = inspect(path);
    const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('web_sessions')").all().map((row) => row.name);
    expect(columns.sort()).toEqual(['atime', 'expires_at', 'payload', 'sid', 'version']);
    expect(db.prepare<[], { name: string }>("SELECT name FROM pragma_index_info('web_sessions_expires_at')").all()).toEqual([{ name: 'expires_at' }]);
    expect(db.prepare('SELECT sid FROM web_sessions').all()).toEqual([{ sid: s.id() }]);
  });

  it('S79: storing one session many times keeps one row, and find visits it once', async () => {
    const path = freshFile();
    const args = { DataSource: path };
    const s = await Session.new('driver:sqlite', null, args);
    await s.flush();
    for (let i = 0; i < 20; i++) {
      const visit = await Session.load('driver:sqlite', s.id()!, args);
      if (i % 2 === 0) visit.param('visits', i);
      else visit.touch();
      await visit.flush();
    }
    expect(inspect(path).prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 1 });
    const found: string[] = [];
    await Session.find('driver:sqlite', (session) => {
      found.push(session.id()!);
    }, args);
    expect(found).toEqual([s.id()]);
  });

  it('a serializer\'s text is stored as TEXT (readable in the sqlite3 shell), storable\'s bytes as a BLOB', async () => {
    const path = freshFile();
    const text = await Session.new('driver:sqlite;serializer:json', null, { DataSource: path });
    text.param('k', 'v');
    await text.flush();
    const bytes = await Session.new('driver:sqlite;serializer:storable', null, { DataSource: path });
    bytes.param('k', 'v');
    await bytes.flush();
    const kind = inspect(path).prepare<[string], { kind: string }>('SELECT typeof(a_session) AS kind FROM sessions WHERE id = ?');
    expect(kind.get(text.id()!)).toEqual({ kind: 'text' });
    expect(kind.get(bytes.id()!)).toEqual({ kind: 'blob' });
  });

  it('traverse pages through more ids than one page holds, each exactly once', async () => {
    const path = freshFile();
    const s = await Session.new('driver:sqlite', null, { DataSource: path });
    await s.flush();
    const ids = Array.from({ length: 1203 }, () => randomId());
    const db = inspect(path);
    const insert = db.prepare("INSERT INTO sessions (id, a_session, atime) VALUES (?, 'x', 0)");
    db.transaction(() => ids.forEach((id) => insert.run(id)))();
    const visited: string[] = [];
    await s.driver().traverse((id) => {
      visited.push(id);
    });
    expect(visited).toHaveLength(ids.length + 1);
    expect(new Set(visited)).toEqual(new Set([...ids, s.id()!]));
  });

  it('purgeExpired deletes the sessions whose expiry passed, through the expires_at index', async () => {
    const path = freshFile();
    const driver = (await Session.new('driver:sqlite', null, { DataSource: path })).driver() as SqlDriver;
    const now = Math.floor(Date.now() / 1000);
    await driver.store('forever', 'x', { atime: now - 7200 });
    await driver.store('later', 'x', { atime: now, etime: 3600, expiresAt: now + 3600 });
    await driver.store('past', 'x', { atime: now - 7200, etime: 3600, expiresAt: now - 3600 });
    await expect(driver.purgeExpired(now)).resolves.toBe(1);
    await expect(driver.retrieve('past')).resolves.toBeNull();
    await expect(purgeExpired(driver, now + 7200)).resolves.toBe(1);
    expect(await driver.retrieve('forever')).not.toBeNull();
    const plan = inspect(path).prepare<[], { detail: string }>('EXPLAIN QUERY PLAN DELETE FROM sessions WHERE expires_at <= 1700000000').all();
    expect(plan.map((row) => row.detail).join('\n')).toMatch(/USING (COVERING )?INDEX sessions_expires_at/);
  });

  it('the first use of a new database file from 8 processes at once: all succeed, 8 rows', async () => {
    const path = freshFile();
    await firstUseFromProcesses('driver:sqlite', { DataSource: path }, 8, 'better-sqlite3');
    expect(inspect(path).prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 8 });
  }, 60_000);
});

describe('sqlite driver: DataSource and Handle', () => {
  it('a database file the driver opens is in WAL mode', async () => {
    const path = freshFile();
    await (await Session.new('driver:sqlite', null, { DataSource: path })).flush();
    expect(inspect(path).pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it(':memory: is a private database, shared by the sessions of one driver', async () => {
    const args = { DataSource: ':memory:' };
    const s = await Session.new('driver:sqlite', null, args);
    s.param('here', true);
    await s.flush();
    expect((await Session.load('driver:sqlite', s.id()!, args)).param('here')).toBe(true);
  });

  it('a Perl DBI data source (dbi:SQLite:dbname=path) works', async () => {
    const path = freshFile();
    const s = await Session.new('driver:sqlite', null, { DataSource: `dbi:SQLite:dbname=${path}` });
    s.param('from', 'perl');
    await s.flush();
    expect((await Session.load('driver:sqlite', s.id()!, { DataSource: path })).param('from')).toBe('perl');
  });

  it('a Database passed as Handle is used as it is (journal mode kept) and never closed', async () => {
    const path = freshFile();
    const db = inspect(path);
    const args = { Handle: db };
    const s = await Session.new('driver:sqlite', null, args);
    s.param('via', 'handle');
    await s.flush();
    await s.driver().close!();
    await Session.closeAll();
    expect(db.open).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 1 });
  });

  it('a file that cannot be opened rejects Session.new with STORE_UNAVAILABLE naming the path', async () => {
    const path = join(directory, 'no-such-directory', 'sessions.db');
    const error = await Session.new('driver:sqlite', null, { DataSource: path }).then(() => undefined, (reason: unknown) => reason);
    expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
    expect((error as SessionError).message).toContain(path);
  });

  const bad: [string, DsnArgs][] = [
    ['no DataSource and no Handle', {}],
    ['an empty DataSource', { DataSource: '' }],
    ['both DataSource and Handle', { DataSource: ':memory:', Handle: {} }],
    ['a Handle that is no Database', { Handle: { prepare: 1 } }],
    ['a TableName with SQL in it', { DataSource: ':memory:', TableName: 'x"; DROP TABLE y; --' }],
    ['a Timeout below zero', { DataSource: ':memory:', Timeout: -1 }],
  ];
  for (const [what, args] of bad) {
    it(`${what} is refused with INVALID_ARGUMENT`, async () => {
      expect(await codeOf(Session.new('driver:sqlite', null, args))).toBe('INVALID_ARGUMENT');
    });
  }
});

describe('sqlite driver: bounded failure', () => {
  it('another process holding the write lock past Timeout: flush is STORE_UNAVAILABLE, reads go on, the next flush works', async () => {
    const path = freshFile();
    const args = { DataSource: path, Timeout: 0.2 };
    const s = await Session.new('driver:sqlite', null, args);
    s.param('kept', 1);
    await s.flush();
    const during = await Session.load('driver:sqlite', s.id()!, args);
    during.param('blocked', 2);

    // Another connection (as another process would) takes the write lock and keeps it.
    const other = inspect(path);
    other.exec('BEGIN IMMEDIATE');
    expect(await codeOf(during.flush())).toBe('STORE_UNAVAILABLE');
    // WAL: readers are not blocked by a writer.
    expect((await Session.load('driver:sqlite', s.id()!, args)).param('kept')).toBe(1);
    other.exec('COMMIT');

    const after = await Session.load('driver:sqlite', s.id()!, args);
    expect(after.param('blocked')).toBeUndefined();
    after.param('again', 3);
    await after.flush();
    expect((await Session.load('driver:sqlite', s.id()!, args)).param('again')).toBe(3);
  });

  it('a driver used after close() rejects with STORE_UNAVAILABLE', async () => {
    const s = await Session.new('driver:sqlite', null, { DataSource: freshFile() });
    const driver = s.driver();
    await driver.close!();
    expect(await codeOf(driver.retrieve(randomId()))).toBe('STORE_UNAVAILABLE');
  });
});
