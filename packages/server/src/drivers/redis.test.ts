import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Session, SessionError } from '../index.js';
import type { DsnArgs, SessionParams } from '../index.js';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { deleteKeys, randomPrefix, startPrivateRedis } from '@isosession/test-support/redisServer';
import type { PrivateRedis } from '@isosession/test-support/redisServer';
import { createRedisDriver } from './redis.js';
import { clock, randomId, storedBytes } from '../testing/driverContract.js';

const DSN = 'driver:redis';
const DAY = 86_400;

function text(record: Parameters<typeof storedBytes>[0]): string | null {
  const bytes = storedBytes(record);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

async function rejection(pending: Promise<unknown>): Promise<SessionError> {
  const error = await pending.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(SessionError);
  return error as SessionError;
}

/** Rejects with STORE_UNAVAILABLE, and settles within Timeout (+ slack for a busy machine). */
async function unavailableWithin(timeoutSeconds: number, pending: Promise<unknown>): Promise<SessionError> {
  const started = Date.now();
  const error = await rejection(pending);
  // The promise under test is a bound on waiting (a paused Redis must not hang a request
  // forever), not a speed: the slack is generous.
  expect(Date.now() - started).toBeLessThan(timeoutSeconds * 1000 + 3000);
  expect(error.code).toBe('STORE_UNAVAILABLE');
  return error;
}

describe.runIf(await serviceAvailable('redis'))('redis driver', () => {
  const prefixes: string[] = [];
  let shared: Redis;

  function args(extra: DsnArgs = {}): DsnArgs & { Prefix: string } {
    const prefix = randomPrefix('redis');
    prefixes.push(prefix);
    return { Url: SERVICE_URLS.redis, Prefix: prefix, ...extra };
  }

  beforeAll(() => {
    shared = new Redis(SERVICE_URLS.redis);
  });
  afterEach(async () => {
    await Session.closeAll();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(shared, prefix);
    shared.disconnect();
  });

  describe('storage layout and TTL', () => {
    it('keeps a session as one hash under Prefix + id: data, enc, atime, ver', async () => {
      const a = args();
      const time = clock();
      const s = await Session.new(DSN, null, a, { now: time.now });
      s.param('a', 1);
      await s.flush();
      const fields = await shared.hgetall(a.Prefix + s.id()!);
      expect(Object.keys(fields).sort()).toEqual(['atime', 'data', 'enc', 'ver']);
      expect(JSON.parse(fields.data!).a).toBe(1);
      expect(fields.enc).toBe('t');
      expect(Number(fields.atime)).toBe(time.seconds());
    });

    it('S40: expire() becomes the key TTL (expiry + Grace); without expiry there is none; expire(0) removes it', async () => {
      const a = args({ Grace: 60 });
      const params: SessionParams = { now: clock().now };
      const s = await Session.new(DSN, null, a, params);
      s.param('a', 1);
      await s.flush();
      const key = a.Prefix + s.id()!;
      expect(await shared.pttl(key)).toBe(-1);

      const b = await Session.load(DSN, s.id()!, a, params);
      b.expire('10m');
      await b.flush();
      const ttl = await shared.pttl(key);
      expect(ttl).toBeGreaterThan((600 + 60) * 1000 - 10_000);
      expect(ttl).toBeLessThanOrEqual((600 + 60) * 1000);

      const c = await Session.load(DSN, s.id()!, a, params);
      c.expire(0);
      await c.flush();
      expect(await shared.pttl(key)).toBe(-1);
      expect((await Session.load(DSN, s.id()!, a, params)).param('a')).toBe(1);
    });

    it('the default Grace is one day', async () => {
      const a = args();
      const s = await Session.new(DSN, null, a, { now: clock().now });
      s.expire('1h');
      await s.flush();
      const ttl = await shared.pttl(a.Prefix + s.id()!);
      expect(ttl).toBeGreaterThan((3600 + DAY) * 1000 - 10_000);
      expect(ttl).toBeLessThanOrEqual((3600 + DAY) * 1000);
    });

    it('S42: maxAge caps the TTL; Grace 0 makes the TTL the remaining lifetime exactly', async () => {
      const a = args({ Grace: 0 });
      const s = await Session.new(DSN, null, a, { now: clock().now, maxAge: '30m' });
      s.expire('2h');
      await s.flush();
      const ttl = await shared.pttl(a.Prefix + s.id()!);
      expect(ttl).toBeGreaterThan(1800 * 1000 - 10_000);
      expect(ttl).toBeLessThanOrEqual(1800 * 1000);
    });

    it('S44: a flush that only moves atime is a touch: atime and TTL move, data and ver stay', async () => {
      const a = args({ Grace: 0 });
      const time = clock();
      const params = { now: time.now };
      const s = await Session.new(DSN, null, a, params);
      s.param('a', 1);
      s.expire('10m');
      await s.flush();
      const key = a.Prefix + s.id()!;
      const before = await shared.hgetall(key);
      await shared.pexpire(key, 5000);
      time.advance(120);
      const visit = await Session.load(DSN, s.id()!, a, params);
      await visit.flush();
      const after = await shared.hgetall(key);
      expect(Number(after.atime)).toBe(time.seconds());
      expect(after.data).toBe(before.data);
      expect(after.ver).toBe(before.ver);
      expect(await shared.pttl(key)).toBeGreaterThan(500_000);
    });

    it('S41 + Grace: a session loaded after its expiry but within Grace is seen as expired, then removed', async () => {
      const a = args();
      const time = clock();
      const params = { now: time.now };
      const s = await Session.new(DSN, null, a, params);
      s.param('secret', 'x');
      s.expire('1h');
      await s.flush();
      const id = s.id()!;
      time.advance(2 * 3600);
      const late = await Session.load(DSN, id, a, params);
      // Without the grace period Redis would have dropped the key, and this would be a stranger.
      expect(late.isExpired()).toBe(true);
      expect(late.isEmpty()).toBe(true);
      expect(await shared.exists(a.Prefix + id)).toBe(0);
    });

    it('touch of a session deleted meanwhile stores nothing (no resurrection) and says false', async () => {
      const a = args();
      const s = await Session.new(DSN, null, a);
      await s.flush();
      const id = s.id()!;
      await shared.del(a.Prefix + id);
      const now = Math.floor(Date.now() / 1000);
      await expect(s.driver().touch!(id, { atime: now, etime: 60, expiresAt: now + 60 })).resolves.toBe(false);
      expect(await shared.exists(a.Prefix + id)).toBe(0);
    });

    it('S16: storable data (Map, Date, bytes that are not UTF-8) round-trips through the hash as bytes', async () => {
      const a = args();
      const dsn = 'driver:redis;serializer:storable';
      const s = await Session.new(dsn, null, a);
      const blob = Uint8Array.from([0, 255, 254, 128, 10, 0]);
      s.param({ when: new Date(0), tags: new Map([['a', 1]]), blob });
      await s.flush();
      expect(await shared.hget(a.Prefix + s.id()!, 'enc')).toBe('b');
      const back = await Session.load(dsn, s.id()!, a);
      expect(back.param('when')).toEqual(new Date(0));
      expect(back.param('tags')).toEqual(new Map([['a', 1]]));
      expect(back.param('blob')).toEqual(blob);
    });
  });

  describe('clients and configuration', () => {
    it('a user Client is used as it is and never closed, by closeAll() or the driver', async () => {
      const client = new Redis(SERVICE_URLS.redis);
      try {
        const a = { Client: client, Prefix: randomPrefix('redis') };
        prefixes.push(a.Prefix);
        const s = await Session.new(DSN, null, a);
        s.param('a', 1);
        await s.flush();
        await s.driver().close!();
        await Session.closeAll();
        expect(client.status).toBe('ready');
        await expect(client.ping()).resolves.toBe('PONG');
        expect(await client.exists(a.Prefix + s.id()!)).toBe(1);
      } finally {
        client.disconnect();
      }
    });

    it('a client opened from Url is closed by Session.closeAll(): its driver then reports the store unavailable', async () => {
      const a = args();
      const s = await Session.new(DSN, null, a);
      await s.flush();
      const driver = s.driver();
      await Session.closeAll();
      const error = await rejection(driver.retrieve(s.id()!));
      expect(error.code).toBe('STORE_UNAVAILABLE');
    });

    it('a user Client with keyPrefix: sessions are stored and traversed under keyPrefix + Prefix', async () => {
      const keyPrefix = randomPrefix('keyprefix');
      const client = new Redis(SERVICE_URLS.redis, { keyPrefix });
      try {
        const a = { Client: client, Prefix: 'cgisess:' };
        const s = await Session.new(DSN, null, a);
        await s.flush();
        expect(await shared.exists(`${keyPrefix}cgisess:${s.id()!}`)).toBe(1);
        const seen: string[] = [];
        await s.driver().traverse((id) => {
          seen.push(id);
        });
        expect(seen).toEqual([s.id()]);
      } finally {
        await deleteKeys(shared, keyPrefix);
        client.disconnect();
      }
    });

    const bad: [string, DsnArgs, string][] = [
      ['neither Url nor Client', { Prefix: 'x:' }, 'INVALID_ARGUMENT'],
      ['both Url and Client', { Url: SERVICE_URLS.redis, Client: {} }, 'INVALID_ARGUMENT'],
      ['a Url that is not redis://', { Url: 'http://127.0.0.1:6379' }, 'INVALID_ARGUMENT'],
      ['a node-redis-like Client', { Client: { get() {}, set() {} } }, 'INVALID_ARGUMENT'],
      ['an empty Prefix (traverse would see every key)', { Url: SERVICE_URLS.redis, Prefix: '' }, 'INVALID_ARGUMENT'],
      ['a zero Timeout', { Url: SERVICE_URLS.redis, Timeout: 0 }, 'INVALID_ARGUMENT'],
      ['a negative Grace', { Url: SERVICE_URLS.redis, Grace: -1 }, 'INVALID_ARGUMENT'],
      ['a Timeout that is not a duration', { Url: SERVICE_URLS.redis, Timeout: 'soon' }, 'INVALID_DURATION'],
      ['an empty Url list (a Redis Cluster needs seed nodes)', { Url: [] }, 'INVALID_ARGUMENT'],
      ['a Url list with a host:port that is not a redis:// URL', { Url: ['redis://127.0.0.1:7000', '127.0.0.1:7001'] }, 'INVALID_ARGUMENT'],
      ['Sentinels without MasterName', { Sentinels: ['redis://127.0.0.1:26379'] }, 'INVALID_ARGUMENT'],
      ['Sentinels and Url', { Sentinels: ['redis://127.0.0.1:26379'], MasterName: 'm', Url: SERVICE_URLS.redis }, 'INVALID_ARGUMENT'],
      ['Sentinels and Client', { Sentinels: ['redis://127.0.0.1:26379'], MasterName: 'm', Client: {} }, 'INVALID_ARGUMENT'],
      ['a WaitReplicas that is not a whole number', { Url: SERVICE_URLS.redis, WaitReplicas: 1.5 }, 'INVALID_ARGUMENT'],
      ['a negative WaitReplicas', { Url: SERVICE_URLS.redis, WaitReplicas: -1 }, 'INVALID_ARGUMENT'],
    ];
    for (const [what, dsnArgs, code] of bad) {
      it(`broken configuration fails at the first Session: ${what}`, async () => {
        const error = await rejection(Session.new(DSN, null, dsnArgs));
        expect(error.code).toBe(code);
        expect(error.message).toMatch(/redis driver|duration/);
      });
    }
  });

  describe('WaitReplicas', () => {
    it('a write no replica confirms is refused with STORE_UNAVAILABLE saying so (a server without replicas)', async () => {
      const a = args({ WaitReplicas: 1, Timeout: 2 });
      const s = await Session.new(DSN, null, a);
      s.param('a', 1);
      const error = await unavailableWithin(2, s.flush());
      expect(error.message).toMatch(/only 0 of the 1 replicas of WaitReplicas confirmed it/);
    });

    it('WaitReplicas: 0 writes as without it', async () => {
      const a = args({ WaitReplicas: 0 });
      const s = await Session.new(DSN, null, a);
      s.param('a', 1);
      await s.flush();
      expect(await shared.exists(a.Prefix + s.id()!)).toBe(1);
    });
  });

  describe('traverse', () => {
    it('S79: walks thousands of sessions with SCAN (never KEYS), each id once, nothing outside Prefix', async () => {
      const client = new Redis(SERVICE_URLS.redis);
      const used = new Set<string>();
      // Records which client methods the driver calls.
      const spy = new Proxy(client, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          used.add(String(property));
          return value.bind(target);
        },
      });
      const base = randomPrefix('scan');
      // Glob characters in Prefix match themselves only.
      const prefix = `${base}[ab]*:`;
      const neighbour = `${base}a-other:`;
      prefixes.push(base);
      try {
        const driver = await createRedisDriver({ Client: spy, Prefix: prefix });
        const ids = Array.from({ length: 3000 }, () => randomId());
        const atime = Math.floor(Date.now() / 1000);
        for (let i = 0; i < ids.length; i += 500) {
          await Promise.all(ids.slice(i, i + 500).map((id) => driver.store(id, 'x', { atime })));
        }
        await client.hset(`${neighbour}${randomId()}`, 'data', 'not ours');
        const visited: string[] = [];
        await driver.traverse((id) => {
          visited.push(id);
        });
        expect(visited.length).toBe(ids.length);
        expect(new Set(visited)).toEqual(new Set(ids));
        expect(used.has('scan')).toBe(true);
        expect(used.has('keys')).toBe(false);
      } finally {
        client.disconnect();
      }
    });
  });

  describe('update: compare-and-swap', () => {
    it('a write between the read and the write makes the merge run again on the newer copy', async () => {
      const client = new Redis(SERVICE_URLS.redis);
      const prefix = randomPrefix('cas');
      prefixes.push(prefix);
      try {
        const driver = await createRedisDriver({ Client: client, Prefix: prefix });
        const id = randomId();
        await driver.store(id, 'original', { atime: 1_700_000_000 });
        await driver.retrieve(id);
        const seen: (string | null)[] = [];
        await driver.update!(id, (current) => {
          seen.push(text(current));
          if (seen.length === 1) {
            // Same connection, so Redis runs this before the update's write.
            void client.hset(prefix + id, 'data', 'intruder', 'enc', 't', 'ver', 'intruder');
          }
          return { action: 'store', data: `${text(current)}+mine`, meta: { atime: 1_700_000_001 } };
        });
        expect(seen).toEqual(['original', 'intruder']);
        expect(text(await driver.retrieve(id))).toBe('intruder+mine');
      } finally {
        client.disconnect();
      }
    });

    it('a copy this process read before another process wrote is never the base of a write', async () => {
      const a = args();
      const mine = await createRedisDriver(a);
      const theirs = await createRedisDriver(a);
      try {
        const id = randomId();
        await mine.store(id, 'v1', { atime: 1_700_000_000 });
        await mine.retrieve(id);
        await theirs.store(id, 'v2 from another process', { atime: 1_700_000_001 });
        await mine.update!(id, (current) => ({ action: 'store', data: `${text(current)}+mine`, meta: { atime: 1_700_000_002 } }));
        expect(text(await theirs.retrieve(id))).toBe('v2 from another process+mine');
      } finally {
        await mine.close!();
        await theirs.close!();
      }
    });

    it('a merge that throws or keeps on a remembered copy that is stale runs again on a fresh read', async () => {
      const a = args();
      const mine = await createRedisDriver(a);
      const theirs = await createRedisDriver(a);
      try {
        const id = randomId();
        await mine.store(id, 'v1', { atime: 1_700_000_000 });
        await mine.retrieve(id);
        await theirs.store(id, 'v2', { atime: 1_700_000_001 });
        const seen: (string | null)[] = [];
        await mine.update!(id, (current) => {
          seen.push(text(current));
          if (text(current) === 'v1') throw new SessionError('CONFLICT', 'judged on the stale copy');
          return { action: 'store', data: 'v3', meta: { atime: 1_700_000_002 } };
        });
        expect(seen).toEqual(['v1', 'v2']);
        await mine.retrieve(id);
        await theirs.store(id, 'v4', { atime: 1_700_000_003 });
        await mine.update!(id, (current) => (text(current) === 'v3' ? { action: 'keep' } : { action: 'store', data: `${text(current)}+5`, meta: { atime: 1_700_000_004 } }));
        expect(text(await theirs.retrieve(id))).toBe('v4+5');
      } finally {
        await mine.close!();
        await theirs.close!();
      }
    });

    it('a key under Prefix that is not a session hash is a STORE_ERROR, not a crash or an empty session', async () => {
      const a = args();
      const id = randomId();
      await shared.set(a.Prefix + id, 'a plain string');
      const error = await rejection(Session.load(DSN, id, a));
      expect(error.code).toBe('STORE_ERROR');
      expect(error.message).toMatch(/WRONGTYPE/);
    });

    it('a remove loses the race to a concurrent write: the merge sees the new copy', async () => {
      const client = new Redis(SERVICE_URLS.redis);
      const prefix = randomPrefix('cas');
      prefixes.push(prefix);
      try {
        const driver = await createRedisDriver({ Client: client, Prefix: prefix });
        const id = randomId();
        await driver.store(id, 'original', { atime: 1_700_000_000 });
        const seen: (string | null)[] = [];
        await driver.update!(id, (current) => {
          seen.push(text(current));
          if (seen.length === 1) {
            void client.hset(prefix + id, 'data', 'changed', 'ver', 'someone else');
            return { action: 'remove' };
          }
          return { action: 'keep' };
        });
        expect(seen).toEqual(['original', 'changed']);
        expect(text(await driver.retrieve(id))).toBe('changed');
      } finally {
        client.disconnect();
      }
    });
  });

  describe('outage (a private redis-server that is paused, killed and restarted)', () => {
    const TIMEOUT = 1;
    let server: PrivateRedis;

    beforeAll(async () => {
      server = await startPrivateRedis();
    });
    afterAll(async () => {
      await server?.stop();
    });

    function privateArgs(): DsnArgs {
      return { Url: server.url, Prefix: randomPrefix('outage'), Timeout: TIMEOUT };
    }

    it('paused (SIGSTOP): load and flush reject with STORE_UNAVAILABLE within Timeout; after SIGCONT the next request works', async () => {
      const a = privateArgs();
      const s = await Session.new(DSN, null, a);
      s.param('kept', 1);
      await s.flush();
      const id = s.id()!;
      const loaded = await Session.load(DSN, id, a);
      loaded.param('during', 'outage');

      server.pause();
      try {
        const error = await unavailableWithin(TIMEOUT, Session.load(DSN, id, a));
        expect(error.message).toMatch(/Timeout/);
        await unavailableWithin(TIMEOUT, loaded.flush());
        const fresh = await Session.new(DSN, null, a);
        await unavailableWithin(TIMEOUT, fresh.flush());
      } finally {
        server.resume();
      }

      const after = await Session.load(DSN, id, a);
      expect(after.param('kept')).toBe(1);
      // The paused flush either landed whole after SIGCONT or not at all.
      expect([undefined, 'outage']).toContain(after.param('during'));
      after.param('after', 2);
      await after.flush();
      expect((await Session.load(DSN, id, a)).param('after')).toBe(2);
    });

    it('killed: load and flush reject with STORE_UNAVAILABLE; after a restart on the same port the next request works', async () => {
      const a = privateArgs();
      const s = await Session.new(DSN, null, a);
      s.param('kept', 1);
      await s.flush();
      const id = s.id()!;
      const loaded = await Session.load(DSN, id, a);
      loaded.param('during', 'outage');

      await server.kill();
      try {
        await unavailableWithin(TIMEOUT, Session.load(DSN, id, a));
        await unavailableWithin(TIMEOUT, loaded.flush());
      } finally {
        await server.restart();
      }

      // No persistence on the private server: the session is gone, and that is not an error.
      const next = await Session.new(DSN, id, a);
      expect(next.isNew()).toBe(true);
      next.param('after', 2);
      await next.flush();
      expect((await Session.load(DSN, next.id()!, a)).param('after')).toBe(2);
    });

    it('down at the first request: it rejects with STORE_UNAVAILABLE within Timeout, and works once Redis is up', async () => {
      await server.kill();
      const a = privateArgs();
      try {
        await unavailableWithin(TIMEOUT, Session.load(DSN, randomId(), a));
      } finally {
        await server.restart();
      }
      const s = await Session.new(DSN, null, a);
      await s.flush();
      expect((await Session.load(DSN, s.id()!, a)).isEmpty()).toBe(false);
    });

    it('a server busy in a long script answers BUSY: STORE_UNAVAILABLE, and the next request after it works', async () => {
      const admin = new Redis(server.url);
      const a = privateArgs();
      try {
        const s = await Session.new(DSN, null, a);
        s.param('kept', 1);
        await s.flush();
        await admin.config('SET', 'busy-reply-threshold', '50');
        const blocker = new Redis(server.url);
        blocker.on('error', () => {});
        const spinning = blocker.eval('while true do end', 0).catch(() => 'killed');
        try {
          // Redis answers BUSY to everyone once the script has run past busy-reply-threshold.
          while (await admin.ping().then(() => true, (reason: Error) => !/BUSY/.test(reason.message)));
          const error = await unavailableWithin(TIMEOUT, Session.load(DSN, s.id()!, a));
          expect(error.message).toMatch(/BUSY/);
        } finally {
          await admin.script('KILL').catch(() => {});
          await spinning;
          blocker.disconnect();
        }
        expect((await Session.load(DSN, s.id()!, a)).param('kept')).toBe(1);
      } finally {
        admin.disconnect();
      }
    });

    it('a user Client without commandTimeout (ioredis queues while offline) still rejects within Timeout', async () => {
      const client = new Redis(server.url);
      client.on('error', () => {});
      try {
        const a = { Client: client, Prefix: randomPrefix('outage'), Timeout: TIMEOUT };
        const s = await Session.new(DSN, null, a);
        s.param('kept', 1);
        await s.flush();
        server.pause();
        try {
          await unavailableWithin(TIMEOUT, Session.load(DSN, s.id()!, a));
        } finally {
          server.resume();
        }
        expect((await Session.load(DSN, s.id()!, a)).param('kept')).toBe(1);
      } finally {
        client.disconnect();
      }
    });
  });
});
