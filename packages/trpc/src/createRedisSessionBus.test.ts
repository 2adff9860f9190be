import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSessionError } from '@isosession/core';
import { deleteKeys, randomPrefix } from '@isosession/test-support/redisServer';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { createRedisSessionBus } from './createRedisSessionBus.js';
import { sessionIdHash } from './sessionBusHub.js';
import { busWarnings, collector, isResync, runSessionBusContract } from './testing/busContract.js';

const available = await serviceAvailable('redis');
const url = SERVICE_URLS.redis;

/** The id CLIENT LIST gives the connection named `name` (set with CLIENT SETNAME). */
async function clientIdByName(admin: Redis, name: string): Promise<string | undefined> {
  const list = await admin.client('LIST');
  const line = String(list)
    .split('\n')
    .find((entry) => entry.split(' ').includes(`name=${name}`));
  return line ? /(?:^| )id=(\d+)/.exec(line)?.[1] : undefined;
}

describe.runIf(available)('createRedisSessionBus', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(url);
  });
  afterAll(() => admin.disconnect());

  runSessionBusContract({
    name: 'Redis',
    namespace: () => randomPrefix('bus'),
    create: (channelPrefix, connectionName) => createRedisSessionBus({ url, channelPrefix, connectionName }),
    async kill(name) {
      const id = await clientIdByName(admin, name);
      if (id === undefined) throw new Error(`no connection named ${name}`);
      await admin.client('KILL', 'ID', id);
    },
    async store() {
      const prefix = randomPrefix('busstore');
      return { dsn: 'driver:redis;serializer:superjson', dsnArgs: { Url: url, Prefix: prefix }, cleanup: async () => void (await deleteKeys(admin, prefix)) };
    },
  });

  it('puts no session id on the wire: the channel is prefix + SHA-256 of the id, the message version and origin', async () => {
    const prefix = randomPrefix('bus');
    const spy = new Redis(url);
    const bus = createRedisSessionBus({ url, channelPrefix: prefix });
    try {
      const seen: Array<[string, string]> = [];
      let wake: (() => void) | undefined;
      spy.on('pmessage', (_pattern: string, channel: string, message: string) => {
        seen.push([channel, message]);
        wake?.();
      });
      await spy.psubscribe(`${prefix}*`);
      const id = randomBytes(16).toString('hex');
      await bus.publish({ id, version: 3, snapshot: { tag: 'tag-of-the-session', params: { theme: 'dark' }, version: 3, ctime: 1, atime: 1, expiresAt: null, paramExpiresAt: {}, isNew: false } });
      await bus.publish({ id, version: 0, deleted: true });
      while (seen.length < 2) await new Promise<void>((resolve) => (wake = resolve));
      expect(seen.map(([channel]) => channel)).toEqual([prefix + sessionIdHash(id), prefix + sessionIdHash(id)]);
      expect(sessionIdHash(id)).toMatch(/^[0-9a-f]{64}$/);
      for (const [, message] of seen) {
        expect(message).not.toContain(id);
        expect(message).not.toContain('dark');
      }
      expect(JSON.parse(seen[0]![1])).toMatchObject({ v: 3 });
      expect(JSON.parse(seen[1]![1])).toMatchObject({ v: 0, d: 1 });
    } finally {
      spy.disconnect();
      await bus.close();
    }
  });

  it('subscribes on a duplicate of your client, publishes through it, and close() leaves it open', async () => {
    const prefix = randomPrefix('bus');
    const client = new Redis(url);
    const other = createRedisSessionBus({ url, channelPrefix: prefix });
    const connectionName = `isosession-test-${randomBytes(6).toString('hex')}`;
    const bus = createRedisSessionBus({ client, channelPrefix: prefix, connectionName });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      const fromOther = collector();
      bus.subscribe(id, heard.listener);
      other.subscribe(id, fromOther.listener);
      await heard.until(isResync);
      await fromOther.until(isResync);
      // A separate subscriber connection: the user's client stays usable for commands.
      expect(await clientIdByName(admin, connectionName)).toBeDefined();
      expect(await client.ping()).toBe('PONG');
      await other.publish({ id, version: 4 });
      await heard.until((c) => c.version === 4);
      await bus.publish({ id, version: 5 });
      await fromOther.until((c) => c.version === 5);

      // Only the channel of a watched session is subscribed, and only while it is watched.
      const channel = prefix + sessionIdHash(id);
      expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 2]);
      await bus.close();
      expect(await client.ping()).toBe('PONG');
      expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
      // After close() the bus still reaches this process, and nothing else.
      const late = collector();
      bus.subscribe(id, late.listener);
      await bus.publish({ id, version: 6 });
      expect(late.changes).toEqual([{ id, version: 6 }]);
    } finally {
      await other.close();
      client.disconnect();
    }
  });

  it('unsubscribes the channel when the last watcher of a session leaves', async () => {
    const prefix = randomPrefix('bus');
    const bus = createRedisSessionBus({ url, channelPrefix: prefix });
    try {
      const id = randomBytes(16).toString('hex');
      const channel = prefix + sessionIdHash(id);
      const heard = collector();
      const stop = bus.subscribe(id, heard.listener);
      await heard.until(isResync);
      expect(await admin.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
      stop();
      // Quick come-and-go: the last call decides.
      bus.subscribe(id, () => undefined)();
      const deadline = Date.now() + 5_000;
      let count: unknown;
      while (Date.now() < deadline && (count = (await admin.pubsub('NUMSUB', channel))[1]) !== 0) await new Promise((resolve) => setImmediate(resolve));
      expect(count).toBe(0);
    } finally {
      await bus.close();
    }
  });

  it('a Redis that does not answer never fails a publish or a subscribe: one warning, local delivery goes on', async () => {
    const capture = busWarnings();
    const bus = createRedisSessionBus({ url: 'redis://127.0.0.1:1', channelPrefix: randomPrefix('bus') });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      const stop = bus.subscribe(id, heard.listener);
      await expect(bus.publish({ id, version: 1 })).resolves.toBeUndefined();
      await expect(bus.publish({ id, version: 2 })).resolves.toBeUndefined();
      expect(heard.changes).toEqual([{ id, version: 1 }, { id, version: 2 }]);
      stop();
      await new Promise((resolve) => setImmediate(resolve));
      const publishing = capture.warnings.filter((w) => w.includes('publishing failed'));
      expect(publishing).toHaveLength(1);
      expect(publishing[0]).toMatch(/^isosession: Redis session bus: publishing failed: /);
    } finally {
      capture.stop();
      await bus.close();
    }
  });

  it('refuses both client and url, a connection name Redis would refuse, and an empty or broken node list', () => {
    const client = new Redis(url, { lazyConnect: true });
    const attempts = [
      () => createRedisSessionBus({ client, url }),
      () => createRedisSessionBus({ connectionName: 'has space' }),
      () => createRedisSessionBus({ url: [] }),
      () => createRedisSessionBus({ url: [6379] as unknown as string[] }),
    ];
    for (const attempt of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (caught) {
        error = caught;
      }
      expect(isSessionError(error) && error.code === 'INVALID_ARGUMENT').toBe(true);
    }
    client.disconnect();
  });
});
