import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Session } from '@isosession/server';
import { redisServerInstalled } from '@isosession/test-support/redisInstalled';
import { startRedisCluster } from '@isosession/test-support/redisCluster';
import type { PrivateRedisCluster } from '@isosession/test-support/redisCluster';
import { randomPrefix } from '@isosession/test-support/redisServer';
import { createRedisSessionBus } from '@isosession/trpc';
import { sessionIdHash } from '@isosession/test-support/serverInternals';
import { collector, isResync, runSessionBusContract } from '@isosession/test-support/contracts';
import { recordFigures } from './support/figures.js';
import { takeWarnings } from '@isosession/test-support/capturedWarnings';

// The Redis session bus on a real Redis Cluster: sharded pub/sub (SSUBSCRIBE / SPUBLISH, one
// subscriber connection per master that serves a watched channel), the bus contract, and a
// subscriber whose master is SIGKILLed and replaced by its replica.

let cluster: PrivateRedisCluster;

/** Drops, on every node, the connections whose CLIENT SETNAME contains `name`. */
async function killConnections(name: string): Promise<number> {
  let killed = 0;
  for (const port of cluster.ports) {
    const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    admin.on('error', () => {});
    try {
      await admin.connect();
      const list = String(await admin.client('LIST'));
      for (const line of list.split('\n')) {
        const connection = / name=(\S*)/.exec(line)?.[1] ?? '';
        const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
        if (id && connection.includes(name)) killed += Number(await admin.client('KILL', 'ID', id));
      }
    } catch {
      // a dead node has no connections to kill
    } finally {
      admin.disconnect();
    }
  }
  return killed;
}

describe.runIf(redisServerInstalled('the Redis Cluster bus tests'))('Redis session bus on a Redis Cluster (sharded pub/sub)', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await Session.closeAll();
    await cluster?.stop();
  });

  runSessionBusContract({
    name: 'Redis Cluster',
    namespace: () => randomPrefix('bus'),
    create: (channelPrefix, connectionName) => createRedisSessionBus({ url: cluster.urls, channelPrefix, connectionName }),
    async kill(name) {
      if ((await killConnections(name)) === 0) throw new Error(`no connection named ${name} on any node`);
    },
    async store() {
      return { dsn: 'driver:redis;serializer:superjson', dsnArgs: { Url: cluster.urls, Prefix: randomPrefix('busstore') }, cleanup: async () => {} };
    },
  });

  it('messages cross one shard: SPUBLISH reaches the master of the channel, not a broadcast to every node', async () => {
    const prefix = randomPrefix('bus');
    const publisher = createRedisSessionBus({ url: cluster.urls, channelPrefix: prefix });
    const subscriber = createRedisSessionBus({ url: cluster.urls, channelPrefix: prefix });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      subscriber.subscribe(id, heard.listener);
      await heard.until(isResync);
      const master = await cluster.masterOf(prefix + sessionIdHash(id));
      const admin = new Redis({ host: '127.0.0.1', port: master });
      try {
        // Only the master of the channel's slot has the channel (PUBSUB SHARDCHANNELS is per node).
        expect(await admin.call('PUBSUB', 'SHARDCHANNELS', `${prefix}*`)).toEqual([prefix + sessionIdHash(id)]);
      } finally {
        admin.disconnect();
      }
      await publisher.publish({ id, version: 4 });
      expect(await heard.until((change) => change.version === 4)).toEqual({ id, version: 4 });
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });

  it('given the caller\'s Cluster client: publishes through it, subscribes on a duplicate, never closes it', async () => {
    const prefix = randomPrefix('bus-client');
    const client = cluster.client();
    const publisher = createRedisSessionBus({ client, channelPrefix: prefix });
    const subscriberClient = cluster.client();
    const subscriber = createRedisSessionBus({ client: subscriberClient, channelPrefix: prefix });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      subscriber.subscribe(id, heard.listener);
      await heard.until(isResync);
      await publisher.publish({ id, version: 9 });
      expect(await heard.until((change) => change.version === 9)).toEqual({ id, version: 9 });
      await publisher.close();
      expect(await client.set(`${prefix}still-open`, '1')).toBe('OK');
    } finally {
      await publisher.close();
      await subscriber.close();
      client.disconnect();
      subscriberClient.disconnect();
    }
  });

  it('the master serving a watched channel SIGKILLed: the watcher is told to reload and hears changes again after the failover', async () => {
    const prefix = randomPrefix('bus-failover');
    const publisher = createRedisSessionBus({ url: cluster.urls, channelPrefix: prefix });
    const subscriber = createRedisSessionBus({ url: cluster.urls, channelPrefix: prefix });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      subscriber.subscribe(id, heard.listener);
      await heard.until(isResync);
      await publisher.publish({ id, version: 1 });
      await heard.until((change) => change.version === 1);

      const master = await cluster.masterOf(prefix + sessionIdHash(id));
      const before = heard.changes.length;
      const killedAt = Date.now();
      await cluster.kill(master);
      // The resync: whatever was published while the shard had no subscriber is reloaded.
      await waitFor(() => heard.changes.slice(before).some(isResync), 30_000, 'a resync after the failover');
      const resyncAfterMs = Date.now() - killedAt;
      // Publish until one arrives: the publisher's own client may need a moment for the new slot map.
      let version = 100;
      const heardAgain = async () => heard.changes.slice(before).some((change) => change.version >= 100);
      while (!(await heardAgain())) {
        if (Date.now() - killedAt > 30_000) throw new Error(`no change heard after the failover; heard ${JSON.stringify(heard.changes.slice(before))}`);
        await publisher.publish({ id, version: version++ });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const changesAgainAfterMs = Date.now() - killedAt;
      // The lost subscriber connection is reported as a process warning; expected here.
      for (const warning of await takeWarnings('ISOSESSION_BUS')) expect(warning.message).toMatch(/Redis session bus: the (subscriber|publishing) connection failed|publishing failed/);
      recordFigures('bus: redis cluster, subscriber\'s master SIGKILLed', { nodeTimeoutMs: 1000, resyncAfterMs, changesAgainAfterMs });
      await cluster.restart(master);
      await cluster.healthy();
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
