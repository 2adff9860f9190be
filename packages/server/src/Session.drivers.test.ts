import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createFileDriver, createMemoryDriver, registerDriver } from '@isosession/server';
import type { Driver, DsnArgs, RawSession } from '@isosession/server';

const T0 = 1_700_000_000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-drivers-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The smallest driver DESIGN allows: retrieve, store, remove, traverse over a Map. */
function mapDriver(): { driver: Driver; rows: Map<string, RawSession>; fail: { retrieve?: Error; traverse?: Error } } {
  const rows = new Map<string, RawSession>();
  const fail: { retrieve?: Error; traverse?: Error } = {};
  const driver: Driver = {
    async retrieve(id) {
      if (fail.retrieve) throw fail.retrieve;
      return rows.get(id) ?? null;
    },
    async store(id, data) {
      rows.set(id, data);
    },
    async remove(id) {
      rows.delete(id);
    },
    async traverse(visit) {
      if (fail.traverse) throw fail.traverse;
      for (const id of [...rows.keys()]) await visit(id);
    },
  };
  return { driver, rows, fail };
}

function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SessionError);
  return error as SessionError;
}

describe('drivers', () => {
  it('S77: retrieve of a missing id is null for the built-in drivers', async () => {
    expect(await createFileDriver({ Directory: dir }).retrieve('0'.repeat(32))).toBeNull();
    expect(await createFileDriver({ Directory: join(dir, 'not-yet') }).retrieve('0'.repeat(32))).toBeNull();
    expect(await createMemoryDriver({ Namespace: uniqueName('s77') }).retrieve('0'.repeat(32))).toBeNull();
  });

  it('S77: "not found" from a driver is an empty load, not an error', async () => {
    const name = uniqueName('s77nf');
    registerDriver(name, () => mapDriver().driver);
    const loaded = await Session.load(`driver:${name}`, 'a'.repeat(32), {});
    expect(loaded.isEmpty()).toBe(true);
    expect(loaded.isExpired()).toBe(false);
  });

  it('S77: a driver error rejects with SessionError, the driver error kept as cause', async () => {
    const name = uniqueName('s77err');
    const { driver, fail } = mapDriver();
    registerDriver(name, () => driver);
    const broken = new Error('disk on fire');
    fail.retrieve = broken;
    for (const call of [
      () => Session.load(`driver:${name}`, 'a'.repeat(32), {}),
      () => Session.new(`driver:${name}`, 'a'.repeat(32), {}),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe('STORE_ERROR');
      expect(error.cause).toBe(broken);
      expect(error.message).toContain('disk on fire');
      expect(Session.errstr()).toBe(error.message);
    }
    fail.traverse = broken;
    expect((await rejection(Session.find(`driver:${name}`, () => {}, {}))).cause).toBe(broken);
  });

  it('S77: an unreachable store is STORE_UNAVAILABLE', async () => {
    const name = uniqueName('s77down');
    const { driver, fail } = mapDriver();
    registerDriver(name, () => driver);
    fail.retrieve = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const error = await rejection(Session.load(`driver:${name}`, 'a'.repeat(32), {}));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.cause).toBe(fail.retrieve);
  });

  it("S78: the caller's dsnArgs object is never modified", async () => {
    const args: DsnArgs = { Directory: dir, IDFile: join(dir, 'ids', 'last'), IDInit: 10, UMask: '0600' };
    const snapshot = structuredClone(args);
    Object.freeze(args);
    const s = await Session.new('driver:file;id:incr', null, args);
    s.param('a', 1);
    await s.flush();
    const loaded = await Session.load('driver:file;id:incr', s.id()!, args);
    loaded.delete();
    await loaded.flush();
    await Session.find('driver:file;id:incr', () => {}, args);
    expect(args).toEqual(snapshot);
  });

  it('S78: a driver factory that changes its arguments does not change the caller’s', async () => {
    const name = uniqueName('s78');
    const { driver } = mapDriver();
    registerDriver(name, (factoryArgs) => {
      factoryArgs.Injected = true;
      delete factoryArgs.Keep;
      return driver;
    });
    const args: DsnArgs = { Keep: 'me' };
    const s = await Session.new(`driver:${name}`, null, args);
    await s.flush();
    expect(args).toEqual({ Keep: 'me' });
  });

  describe.each([
    ['file', 'driver:file', () => ({ Directory: dir })],
    ['memory', 'driver:memory', () => ({ Namespace: uniqueName('s79') })],
  ])('S79 on %s', (_label, dsn, makeArgs) => {
    it('S79: storing one session many times keeps one stored copy (find visits it once)', async () => {
      const args = makeArgs();
      const clock = { ms: T0 * 1000 };
      const params = { now: () => clock.ms };
      const s = await Session.new(dsn, null, args, params);
      await s.flush();
      for (let i = 0; i < 5; i++) {
        clock.ms += 1000;
        const loaded = await Session.load(dsn, s.id()!, args, params);
        loaded.param('i', i);
        await loaded.flush();
        await loaded.flush();
      }
      const seen: (string | undefined)[] = [];
      await Session.find(dsn, (found) => { seen.push(found.id()); }, args, params);
      expect(seen).toEqual([s.id()]);
      if (dsn === 'driver:file') expect(await readdir(dir)).toEqual([`cgisess_${s.id()}`]);
    });
  });

  // S79's other half (SQL drivers create their table on demand) needs the SQL drivers of
  // elsewhere; their own test files cover it through the driver contract.

  it('S79: storing one session many times keeps one row in a four-method driver', async () => {
    const name = uniqueName('s79rows');
    const { driver, rows } = mapDriver();
    registerDriver(name, () => driver);
    const s = await Session.new(`driver:${name}`, null, {});
    for (let i = 0; i < 5; i++) {
      s.param('i', i);
      await s.flush();
    }
    expect([...rows.keys()]).toEqual([s.id()]);
  });

  it('S80: registerDriver makes driver:<name> usable by new, load and find; four methods suffice', async () => {
    const name = uniqueName('s80');
    const { driver, rows } = mapDriver();
    registerDriver(name, () => driver);
    const dsn = `driver:${name.toUpperCase()}`;
    const clock = { ms: T0 * 1000 };
    const params = { now: () => clock.ms };

    const s = await Session.new(dsn, null, null, params);
    s.param({ cart: ['apple'], user: 'ann' });
    s.expire('cart', '1h');
    await s.flush();
    expect(rows.size).toBe(1);

    clock.ms += 60_000;
    const loaded = await Session.load(dsn, s.id()!, null, params);
    expect(loaded.param('cart')).toEqual(['apple']);
    expect(loaded.atime()).toBe(T0 + 60);
    loaded.param('cart', ['apple', 'pear']);
    await loaded.flush();

    const resumed = await Session.new(dsn, s.id()!, null, params);
    expect(resumed.id()).toBe(s.id());
    expect(resumed.param('cart')).toEqual(['apple', 'pear']);

    const visited: unknown[] = [];
    await Session.find(dsn, (found) => { visited.push(found.param('user')); }, null, params);
    expect(visited).toEqual(['ann']);

    clock.ms += 3600_000;
    const later = await Session.load(dsn, s.id()!, null, params);
    expect(later.param('cart')).toBeUndefined();
    expect(later.param('user')).toBe('ann');
    later.delete();
    await later.flush();
    expect(rows.size).toBe(0);
  });

  it('S80: an async driver factory is awaited', async () => {
    const name = uniqueName('s80async');
    const { driver, rows } = mapDriver();
    registerDriver(name, async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return driver;
    });
    const s = await Session.new(`driver:${name}`, null, {});
    await s.flush();
    expect(rows.has(s.id()!)).toBe(true);
  });
});
