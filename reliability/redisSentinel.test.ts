import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Session } from '@isosession/server';
import { collector, isResync, runConcurrencyContract, runDriverContract, runSessionBusContract } from '@isosession/test-support/contracts';
import { redisServerInstalled } from '@isosession/test-support/redisInstalled';
import { startRedisSentinel } from '@isosession/test-support/redisSentinel';
import type { PrivateRedisSentinel } from '@isosession/test-support/redisSentinel';
import { randomPrefix } from '@isosession/test-support/redisServer';
import { createRedisSessionBus } from '@isosession/trpc';
import { recordFigures } from './support/figures.js';
import { failoverUnderLoad } from './support/failoverRun.js';
import type { Failover } from './support/failoverRun.js';
import { startApp } from './support/startApp.js';
import type { RunningApp } from './support/startApp.js';
import { takeWarnings } from '@isosession/test-support/capturedWarnings';

// The redis driver and the Redis session bus through Redis Sentinel: a master, a replica and
// three sentinels of the test's own (quorum 2, down-after 1 s). The driver opens its own
// Sentinel client from `Sentinels` + `MasterName`; the bus is given an ioredis Sentinel client.

let sentinel: PrivateRedisSentinel;
let app: RunningApp | undefined;
const clients: Redis[] = [];

function sentinelClient(): Redis {
  const client = new Redis({
    sentinels: sentinel.sentinelUrls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
    name: sentinel.masterName,
    failoverDetector: true,
  });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

/** Drops the connections named `name` on both data nodes. */
async function killConnections(name: string): Promise<number> {
  let killed = 0;
  for (const port of sentinel.dataPorts) {
    const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    admin.on('error', () => {});
    try {
      await admin.connect();
      for (const line of String(await admin.client('LIST')).split('\n')) {
        const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
        if (id && / name=(\S*)/.exec(line)?.[1] === name) killed += Number(await admin.client('KILL', 'ID', id));
      }
    } catch {
      // a dead node has no connections
    } finally {
      admin.disconnect();
    }
  }
  return killed;
}

function killMaster(restartAfter: boolean): Failover {
  let killed = 0;
  return {
    async kill() {
      killed = await sentinel.master();
      await sentinel.kill(killed);
    },
    async heal() {
      // Promoted: the sentinels name the replica, and it says it is the master.
      await waitFor(async () => {
        const master = await sentinel.master();
        return master !== killed && master !== 0;
      }, 30_000, 'the sentinels to promote the replica');
      if (restartAfter) {
        await sentinel.restart(killed);
        await sentinel.healthy();
      }
    },
  };
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.runIf(redisServerInstalled('the Redis Sentinel tests'))('Redis Sentinel (master + replica + 3 sentinels)', () => {
  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });
  afterAll(async () => {
    await Session.closeAll();
    for (const client of clients) client.disconnect();
    await sentinel?.stop();
  });

  describe('driver: Sentinels + MasterName', () => {
    runDriverContract({
      name: 'redis sentinel',
      dsn: 'driver:redis',
      serializers: ['default'],
      dsnArgs: () => ({ Sentinels: sentinel.sentinelUrls, MasterName: sentinel.masterName, Prefix: randomPrefix('sentinel') }),
    });
    runConcurrencyContract({
      name: 'redis sentinel',
      dsn: 'driver:redis',
      dsnArgs: () => ({ Sentinels: sentinel.sentinelUrls, MasterName: sentinel.masterName, Prefix: randomPrefix('sentinel') }),
    });
  });

  runSessionBusContract({
    name: 'Redis Sentinel (client)',
    namespace: () => randomPrefix('bus'),
    create: (channelPrefix, connectionName) => createRedisSessionBus({ client: sentinelClient(), channelPrefix, connectionName }),
    async kill(name) {
      if ((await killConnections(name)) === 0) throw new Error(`no connection named ${name}`);
    },
    async store() {
      return { dsn: 'driver:redis;serializer:superjson', dsnArgs: { Client: sentinelClient(), Prefix: randomPrefix('busstore') }, cleanup: async () => {} };
    },
  });

  it('failover under load: the master SIGKILLed, only 200 or 503, writes succeed again after the promotion', async () => {
    await sentinel.healthy();
    app = await startApp({ kind: 'isosession', dsn: 'driver:redis', dsnArgs: { Sentinels: sentinel.sentinelUrls, MasterName: sentinel.masterName, Prefix: randomPrefix('sentinel-failover'), Timeout: 1 } });
    const failover = killMaster(false);
    const figures = await failoverUnderLoad('failover: redis sentinel master SIGKILL (no WAIT)', app.base, failover, { figures: { downAfterMs: 1000, driverTimeoutS: 1 } });
    expect(app.crash()).toBeUndefined();
    expect(figures.writesBackAfterMs).toBeLessThan(15_000);
    // The killed node back as a replica, for the next scenario.
    await sentinel.restart(await deadNode());
    await sentinel.healthy();
  });

  it('failover under load with WaitReplicas: 1: no acknowledged write lost', async () => {
    await sentinel.healthy();
    app = await startApp({ kind: 'isosession', dsn: 'driver:redis', dsnArgs: { Sentinels: sentinel.sentinelUrls, MasterName: sentinel.masterName, Prefix: randomPrefix('sentinel-wait'), Timeout: 1, WaitReplicas: 1 } });
    const figures = await failoverUnderLoad('failover: redis sentinel master SIGKILL (WaitReplicas 1)', app.base, killMaster(true), { figures: { downAfterMs: 1000, driverTimeoutS: 1, waitReplicas: 1 } });
    expect(app.crash()).toBeUndefined();
    expect(figures.lost).toBe(0);
  });

  it('the bus: a subscriber whose master is SIGKILLed is told to reload and hears changes again', async () => {
    await sentinel.healthy();
    const prefix = randomPrefix('bus-failover');
    const publisher = createRedisSessionBus({ client: sentinelClient(), channelPrefix: prefix });
    const subscriber = createRedisSessionBus({ client: sentinelClient(), channelPrefix: prefix });
    try {
      const id = randomBytes(16).toString('hex');
      const heard = collector();
      subscriber.subscribe(id, heard.listener);
      await heard.until(isResync);
      const before = heard.changes.length;
      const killed = await sentinel.master();
      const killedAt = Date.now();
      await sentinel.kill(killed);
      await waitFor(() => heard.changes.slice(before).some(isResync), 30_000, 'a resync after the failover');
      const resyncAfterMs = Date.now() - killedAt;
      let version = 100;
      while (!heard.changes.slice(before).some((change) => change.version >= 100)) {
        if (Date.now() - killedAt > 30_000) throw new Error(`no change heard after the failover; heard ${JSON.stringify(heard.changes.slice(before))}`);
        await publisher.publish({ id, version: version++ });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // The lost subscriber connection is reported as a process warning; expected here.
      for (const warning of await takeWarnings('ISOSESSION_BUS')) expect(warning.message).toMatch(/Redis session bus: the (subscriber|publishing) connection failed|publishing failed/);
      recordFigures('bus: redis sentinel, subscriber\'s master SIGKILLed', { downAfterMs: 1000, resyncAfterMs, changesAgainAfterMs: Date.now() - killedAt });
      await sentinel.restart(killed);
      await sentinel.healthy();
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });
});

/** The data node that is not the master: after a failover, the one that was killed. */
async function deadNode(): Promise<number> {
  const master = await sentinel.master();
  return sentinel.dataPorts.find((port) => port !== master)!;
}
