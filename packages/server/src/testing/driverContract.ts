import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseDsn } from '@isosession/core';
import { Session, SessionError } from '../index.js';
import type { Driver, DsnArgs, SessionParams, StoredRecord } from '../index.js';
import { tombstoneKey } from '../tombstone.js';

export interface DriverContractOptions {
  /** Shown in the describe titles, e.g. "postgresql". */
  name: string;
  /** The DSN naming the driver, e.g. "driver:file"; the contract adds the serializer part. */
  dsn: string;
  /** A fresh, isolated store for every call (temp dir, random table / key prefix / Namespace). */
  dsnArgs: () => DsnArgs | Promise<DsnArgs>;
  /** Runs once after the whole suite (drop the tables, remove the temp dirs). */
  cleanup?: () => Promise<void>;
  /** @default ['default', 'json', 'superjson', 'yaml', 'v8'] */
  serializers?: string[];
  /**
   * The store keeps atime only inside the data (Perl CGI::Session's two-column table): the
   * driver has no touch(), and the Session rewrites the data instead. @default true
   */
  touch?: boolean;
}

const ALL_SERIALIZERS = ['default', 'json', 'superjson', 'yaml', 'v8'];

/** The data part of what a driver returned, as bytes: drivers may hand back a string or a Buffer. */
export function storedBytes(record: StoredRecord | null): Uint8Array | null {
  if (record === null) return null;
  const data = typeof record === 'string' || record instanceof Uint8Array ? record : record.data;
  return typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
}

function storedAtime(record: StoredRecord | null): number | undefined {
  return record !== null && typeof record === 'object' && !(record instanceof Uint8Array) ? record.atime : undefined;
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A 32-hex id, the shape md5 ids have, so that every driver (and key scheme) accepts it. */
export function randomId(): string {
  return randomBytes(16).toString('hex');
}

/** A clock for `sessionParams.now`, starting at the real time so store-side TTLs stay in the future. */
export function clock() {
  let ms = Math.floor(Date.now() / 1000) * 1000;
  return {
    now: () => ms,
    seconds: () => ms / 1000,
    advance(seconds: number) {
      ms += seconds * 1000;
    },
  };
}

function withSerializer(dsn: string, serializer: string): string {
  const parsed = parseDsn(dsn);
  return `driver:${parsed.driver ?? 'file'};serializer:${serializer};id:${parsed.id ?? 'md5'}`;
}

/**
 * The behaviour every driver must have, checked through the Driver interface (reached as
 * `s.driver()` of a Session made on the DSN, so the registered factory is what is tested) and
 * through whole Session round trips with every serializer. `postgresql.test.ts` is a call of
 * this with its DSN and a dsnArgs factory.
 */
export function runDriverContract(options: DriverContractOptions): void {
  const { name, dsn } = options;
  const serializers = options.serializers ?? ALL_SERIALIZERS;

  afterEach(async () => {
    // Every test opened its own store through getDriver's cache: close the pools / clients.
    await Session.closeAll();
  });
  if (options.cleanup) afterAll(options.cleanup);

  async function openDriver(): Promise<{ driver: Driver; args: DsnArgs }> {
    const args = await options.dsnArgs();
    const session = await Session.new(dsn, null, args);
    return { driver: session.driver(), args };
  }

  describe(`${name} driver contract: Driver interface`, () => {
    it('S77: retrieve of an id that was never stored is null, not an error', async () => {
      const { driver } = await openDriver();
      await expect(driver.retrieve(randomId())).resolves.toBeNull();
    });

    it('stores and retrieves string data unchanged', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      const text = '{"a":"héllo ✓ \\u0000","b":[1,2,3]}\n';
      await driver.store(id, text, { atime: 1_700_000_000 });
      expect(storedBytes(await driver.retrieve(id))).toEqual(bytes(text));
    });

    it('stores and retrieves binary (Uint8Array) data byte for byte', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      // Every byte value, NUL and invalid UTF-8 included: what the v8 serializer writes.
      const data = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
      await driver.store(id, data, { atime: 1_700_000_000 });
      expect(storedBytes(await driver.retrieve(id))).toEqual(data);
    });

    it('an atime the driver returns beside the data is the one it was given', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      const atime = Math.floor(Date.now() / 1000) - 5;
      await driver.store(id, 'x', { atime, etime: 3600, expiresAt: atime + 3600 });
      const atimeBack = storedAtime(await driver.retrieve(id));
      // Drivers that keep atime only inside the data return none: then there is nothing to compare.
      expect(atimeBack === undefined || atimeBack === atime).toBe(true);
    });

    it('storing an id again replaces its data', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      await driver.store(id, 'first', { atime: 1_700_000_000 });
      await driver.store(id, 'second, longer than the first', { atime: 1_700_000_001 });
      expect(storedBytes(await driver.retrieve(id))).toEqual(bytes('second, longer than the first'));
    });

    it('keeps ids apart', async () => {
      const { driver } = await openDriver();
      const [a, b] = [randomId(), randomId()];
      await driver.store(a, 'A', { atime: 1_700_000_000 });
      await driver.store(b, 'B', { atime: 1_700_000_000 });
      expect(storedBytes(await driver.retrieve(a))).toEqual(bytes('A'));
      expect(storedBytes(await driver.retrieve(b))).toEqual(bytes('B'));
    });

    it('remove deletes the stored copy; removing a missing id resolves', async () => {
      const { driver } = await openDriver();
      const [id, other] = [randomId(), randomId()];
      await driver.store(id, 'x', { atime: 1_700_000_000 });
      await driver.store(other, 'y', { atime: 1_700_000_000 });
      await driver.remove(id);
      await expect(driver.retrieve(id)).resolves.toBeNull();
      expect(storedBytes(await driver.retrieve(other))).toEqual(bytes('y'));
      await expect(driver.remove(id)).resolves.toBeUndefined();
      await expect(driver.remove(randomId())).resolves.toBeUndefined();
    });

    it('S79: traverse visits every stored id exactly once (an id stored many times too)', async () => {
      const { driver } = await openDriver();
      const ids = [randomId(), randomId(), randomId()];
      for (let i = 0; i < 5; i++) await driver.store(ids[0]!, `v${i}`, { atime: 1_700_000_000 + i });
      await driver.store(ids[1]!, 'b', { atime: 1_700_000_000 });
      await driver.store(ids[2]!, 'c', { atime: 1_700_000_000 });
      const removed = randomId();
      await driver.store(removed, 'gone', { atime: 1_700_000_000 });
      await driver.remove(removed);
      const visited: string[] = [];
      await driver.traverse(async (id) => {
        await Promise.resolve();
        visited.push(id);
      });
      expect(visited.sort()).toEqual([...ids].sort());
    });

    it('traverse of an empty store visits nothing', async () => {
      const { driver } = await openDriver();
      const visited: string[] = [];
      await driver.traverse((id) => {
        visited.push(id);
      });
      expect(visited).toEqual([]);
    });

    it(options.touch === false ? 'has the atomic update() the Session relies on, and no touch() (atime is in the data)' : 'has the atomic update() and the cheap touch() the Session relies on', async () => {
      const { driver } = await openDriver();
      expect(typeof driver.update).toBe('function');
      expect(typeof driver.touch).toBe(options.touch === false ? 'undefined' : 'function');
    });

    it('update: merge sees null for a missing id, and its "store" is written', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      const seen: (Uint8Array | null)[] = [];
      await driver.update!(id, (current) => {
        seen.push(storedBytes(current));
        return { action: 'store', data: 'created', meta: { atime: 1_700_000_000 } };
      });
      expect(seen).toEqual([null]);
      expect(storedBytes(await driver.retrieve(id))).toEqual(bytes('created'));
    });

    it('update: merge sees the stored data and may replace it, binary included', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      const binary = Uint8Array.from([0, 255, 128, 10, 13, 0]);
      await driver.store(id, 'before', { atime: 1_700_000_000 });
      const seen: (Uint8Array | null)[] = [];
      await driver.update!(id, (current) => {
        seen.push(storedBytes(current));
        return { action: 'store', data: binary, meta: { atime: 1_700_000_001 } };
      });
      expect(seen).toEqual([bytes('before')]);
      expect(storedBytes(await driver.retrieve(id))).toEqual(binary);
    });

    it('update: "remove" deletes the stored copy', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      await driver.store(id, 'doomed', { atime: 1_700_000_000 });
      await driver.update!(id, () => ({ action: 'remove' }));
      await expect(driver.retrieve(id)).resolves.toBeNull();
    });

    it('update: "keep" leaves the stored copy (and a missing id) as they were', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      const atime = Math.floor(Date.now() / 1000) - 100;
      await driver.store(id, 'kept', { atime });
      const before = await driver.retrieve(id);
      await driver.update!(id, () => ({ action: 'keep' }));
      const after = await driver.retrieve(id);
      expect(storedBytes(after)).toEqual(bytes('kept'));
      expect(storedAtime(after)).toBe(storedAtime(before));
      const missing = randomId();
      await driver.update!(missing, () => ({ action: 'keep' }));
      await expect(driver.retrieve(missing)).resolves.toBeNull();
    });

    it('update: a merge that throws writes nothing and rejects with that same error', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      await driver.store(id, 'untouched', { atime: 1_700_000_000 });
      const gone = new SessionError('GONE', 'thrown by the merge');
      await expect(driver.update!(id, () => {
        throw gone;
      })).rejects.toBe(gone);
      expect(storedBytes(await driver.retrieve(id))).toEqual(bytes('untouched'));

      const missing = randomId();
      const conflict = new SessionError('CONFLICT', 'thrown by the merge');
      await expect(driver.update!(missing, () => {
        throw conflict;
      })).rejects.toBe(conflict);
      await expect(driver.retrieve(missing)).resolves.toBeNull();
      // The id is not left locked: the next update goes through.
      await driver.update!(id, () => ({ action: 'store', data: 'after', meta: { atime: 1_700_000_001 } }));
      expect(storedBytes(await driver.retrieve(id))).toEqual(bytes('after'));
    });

    it('update: concurrent updates of one id from this process lose nothing', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      const atime = Math.floor(Date.now() / 1000);
      await Promise.all(Array.from({ length: 25 }, () => driver.update!(id, (current) => {
        const count = current === null ? 0 : Number(new TextDecoder().decode(storedBytes(current)!));
        return { action: 'store', data: String(count + 1), meta: { atime } };
      })));
      expect(storedBytes(await driver.retrieve(id))).toEqual(bytes('25'));
    });

    // A driver whose table keeps no access time apart from the data (CGI::Session's own
    // two-column table) offers no touch: the session writes its data instead. Asserted, not skipped.
    if (options.touch === false) {
      it('touch: not offered (the store keeps no access time apart from the data)', async () => {
        const { driver } = await openDriver();
        expect(driver.touch).toBeUndefined();
      });
    } else it('touch: moves atime without changing the data; false (and nothing stored) for a missing id', async () => {
      const { driver } = await openDriver();
      const id = randomId();
      const atime = Math.floor(Date.now() / 1000) - 100;
      const data = Uint8Array.from([1, 2, 3, 0, 255]);
      await driver.store(id, data, { atime, etime: 3600, expiresAt: atime + 3600 });
      await expect(driver.touch!(id, { atime: atime + 50, etime: 3600, expiresAt: atime + 3650 })).resolves.toBe(true);
      const record = await driver.retrieve(id);
      expect(storedBytes(record)).toEqual(data);
      const atimeBack = storedAtime(record);
      expect(atimeBack === undefined || atimeBack === atime + 50).toBe(true);

      const missing = randomId();
      await expect(driver.touch!(missing, { atime })).resolves.toBe(false);
      await expect(driver.retrieve(missing)).resolves.toBeNull();
    });
  });

  describe(`${name} driver contract: tombstones of regenerated and deleted ids`, () => {
    const request = (id: string) => new Request('http://contract.test/', { headers: { cookie: `CGISESSID=${id}` } });
    const staleCode = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: unknown) => (error as SessionError).code);

    it('a login (regenerate) and a logout (delete) leave a tombstone: the old cookie is STALE, find() skips it, the grace period ends it', async () => {
      const time = clock();
      const args = await options.dsnArgs();
      const params: SessionParams = { now: time.now, staleGrace: 30 };
      const created = await Session.new(dsn, null, args, params);
      created.param('cart', ['mug']);
      await created.flush();
      const oldId = created.id()!;
      const login = await Session.new(dsn, request(oldId), args, params);
      login.regenerate();
      await login.flush();
      const other = await Session.new(dsn, null, args, params);
      other.param('n', 1);
      await other.flush();
      const logout = await Session.load(dsn, request(other.id()!), args, params);
      logout.delete();
      await logout.flush();

      expect(await staleCode(Session.new(dsn, request(oldId), args, params))).toBe('STALE');
      expect(await staleCode(Session.new(dsn, request(other.id()!), args, params))).toBe('STALE');
      const tombstone = await login.driver().retrieve(tombstoneKey(oldId));
      expect(tombstone).not.toBeNull();
      expect(new TextDecoder().decode(storedBytes(tombstone)!)).not.toContain(login.id()!);
      const visited: string[] = [];
      const report = await Session.find(dsn, (s) => { visited.push(s.id()!); }, args, params);
      expect(visited).toEqual([login.id()]);
      expect(report).toEqual({ visited: 1, purged: 0, failed: [] });

      time.advance(30);
      const fresh = await Session.new(dsn, request(oldId), args, params);
      expect(fresh.isNew()).toBe(true);
      expect(fresh.id()).not.toBe(login.id());
      await expect(login.driver().retrieve(tombstoneKey(oldId))).resolves.toBeNull();
      // Purged like an expired session: by the SQL drivers' expiry index, else by find().
      const driver = login.driver() as Driver & { purgeExpired?: (now?: number) => Promise<number> };
      if (typeof driver.purgeExpired === 'function') expect(await driver.purgeExpired(time.seconds())).toBeGreaterThanOrEqual(1);
      else await Session.find(dsn, () => undefined, args, params);
      await expect(login.driver().retrieve(tombstoneKey(other.id()!))).resolves.toBeNull();
    });
  });

  for (const serializer of serializers) {
    describe(`${name} driver contract: Session round trips (serializer ${serializer})`, () => {
      const sessionDsn = withSerializer(dsn, serializer);

      async function start(): Promise<{ args: DsnArgs; time: ReturnType<typeof clock>; params: SessionParams }> {
        const time = clock();
        return { args: await options.dsnArgs(), time, params: { now: time.now } };
      }

      const values = {
        text: 'héllo ✓ "quoted" \n line',
        empty: '',
        integer: 42,
        negative: -7,
        float: 1.5,
        yes: true,
        no: false,
        nothing: null,
        list: [1, 'two', { three: 3 }],
        nested: { a: { b: [null, 'c'] } },
      };

      it('S47: params flushed by one session load in the next, whatever their type', async () => {
        const { args, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param(values);
        await s.flush();
        expect(s.isNew()).toBe(false);
        const again = await Session.load(sessionDsn, s.id()!, args, params);
        expect(again.isEmpty()).toBe(false);
        expect(again.id()).toBe(s.id());
        expect(again.param().sort()).toEqual(Object.keys(values).sort());
        for (const [key, value] of Object.entries(values)) expect(again.param(key)).toEqual(value);
        expect(again.ctime()).toBe(s.ctime());
      });

      it('a flush after changes replaces, adds and clears params', async () => {
        const { args, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param({ keep: 1, change: 'old', drop: 'x' });
        await s.flush();
        const b = await Session.load(sessionDsn, s.id()!, args, params);
        b.param('change', 'new');
        b.param('added', [1, 2]);
        b.clear('drop');
        await b.flush();
        const c = await Session.load(sessionDsn, s.id()!, args, params);
        expect(Object.fromEntries(c.param().map((k) => [k, c.param(k)]))).toEqual({ keep: 1, change: 'new', added: [1, 2] });
      });

      it('S44: a load that is flushed moves atime (touch), and keeps an idle session alive', async () => {
        const { args, time, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.expire(100);
        s.param('kept', 'yes');
        await s.flush();
        for (let step = 0; step < 3; step++) {
          time.advance(80);
          const visit = await Session.load(sessionDsn, s.id()!, args, params);
          expect(visit.isEmpty()).toBe(false);
          await visit.flush();
        }
        time.advance(80);
        const last = await Session.load(sessionDsn, s.id()!, args, params);
        expect(last.isExpired()).toBe(false);
        expect(last.param('kept')).toBe('yes');
      });

      it('S44, S57: a flush that only moves atime stores it (find sees the stored atime)', async () => {
        const { args, time, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param('a', 1);
        await s.flush();
        time.advance(30);
        const visit = await Session.load(sessionDsn, s.id()!, args, params);
        await visit.flush();
        const seen: (number | undefined)[] = [];
        await Session.find(sessionDsn, (found) => {
          seen.push(found.atime());
        }, args, params);
        expect(seen).toEqual([time.seconds()]);
      });

      it('S41: a session idle past its expiry loads expired and empty, and is removed from the store', async () => {
        const { args, time, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.expire('1m');
        s.param('secret', 'x');
        await s.flush();
        const id = s.id()!;
        time.advance(61);
        const late = await Session.load(sessionDsn, id, args, params);
        expect(late.isExpired()).toBe(true);
        expect(late.isEmpty()).toBe(true);
        await expect(late.driver().retrieve(id)).resolves.toBeNull();
      });

      it('S43: an idle-expired param is cleared at load, the rest survives, and the clear persists', async () => {
        const { args, time, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param({ otp: '123456', user: 'ann' });
        s.expire('otp', 10);
        await s.flush();
        time.advance(11);
        const later = await Session.load(sessionDsn, s.id()!, args, params);
        expect(later.param('otp')).toBeUndefined();
        expect(later.param('user')).toBe('ann');
        await later.flush();
        const again = await Session.load(sessionDsn, s.id()!, args, params);
        expect(again.param().sort()).toEqual(['user']);
      });

      it('S49: delete + flush removes the stored session', async () => {
        const { args, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param('a', 1);
        await s.flush();
        const id = s.id()!;
        const b = await Session.load(sessionDsn, id, args, params);
        b.delete();
        await b.flush();
        expect(b.isEmpty()).toBe(true);
        await expect(b.driver().retrieve(id)).resolves.toBeNull();
        expect((await Session.load(sessionDsn, id, args, params)).isEmpty()).toBe(true);
      });

      it('S55, S56: find visits every stored session once and purges the expired one', async () => {
        const { args, time, params } = await start();
        const ids: string[] = [];
        for (const expiry of [0, 3600, 10]) {
          const s = await Session.new(sessionDsn, null, args, params);
          s.param('n', ids.length);
          if (expiry) s.expire(expiry);
          await s.flush();
          ids.push(s.id()!);
        }
        time.advance(20);
        const visited: string[] = [];
        const report = await Session.find(sessionDsn, (found) => {
          if (!found.isExpired()) visited.push(found.id()!);
        }, args, params);
        expect(report.purged).toBe(1);
        expect(report.failed).toEqual([]);
        expect(visited.sort()).toEqual([ids[0]!, ids[1]!].sort());
        const driver = (await Session.load(sessionDsn, null, args, params)).driver();
        await expect(driver.retrieve(ids[2]!)).resolves.toBeNull();
        expect(storedBytes(await driver.retrieve(ids[0]!))).not.toBeNull();
        const second: string[] = [];
        await Session.find(sessionDsn, (found) => {
          second.push(found.id()!);
        }, args, params);
        expect(second.sort()).toEqual([ids[0]!, ids[1]!].sort());
      });

      it('S58: a change made inside find persists', async () => {
        const { args, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param('visits', 1);
        await s.flush();
        await Session.find(sessionDsn, (found) => {
          found.param('visits', (found.param('visits') as number) + 1);
        }, args, params);
        expect((await Session.load(sessionDsn, s.id()!, args, params)).param('visits')).toBe(2);
      });

      it('regenerate: the old id is gone and the new id has the data', async () => {
        const { args, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param({ user: 'ann', cart: [1, 2] });
        await s.flush();
        const oldId = s.id()!;
        const b = await Session.load(sessionDsn, oldId, args, params);
        b.regenerate();
        await b.flush();
        const newId = b.id()!;
        expect(newId).not.toBe(oldId);
        expect((await Session.load(sessionDsn, oldId, args, params)).isEmpty()).toBe(true);
        await expect(b.driver().retrieve(oldId)).resolves.toBeNull();
        const moved = await Session.load(sessionDsn, newId, args, params);
        expect(moved.param('user')).toBe('ann');
        expect(moved.param('cart')).toEqual([1, 2]);
        const all: string[] = [];
        await Session.find(sessionDsn, (found) => {
          all.push(found.id()!);
        }, args, params);
        expect(all).toEqual([newId]);
      });

      it('Session.update increments a counter without losing concurrent increments', async () => {
        const { args, params } = await start();
        const s = await Session.new(sessionDsn, null, args, params);
        s.param('count', 0);
        await s.flush();
        await Promise.all(Array.from({ length: 10 }, () => Session.update(s.id()!, (live) => {
          live.param('count', (live.param('count') as number) + 1);
        }, { dsn: sessionDsn, dsnArgs: args, sessionParams: params })));
        expect((await Session.load(sessionDsn, s.id()!, args, params)).param('count')).toBe(10);
      });
    });
  }
}
