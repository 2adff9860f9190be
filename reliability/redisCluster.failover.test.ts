import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisServerInstalled } from '@isosession/test-support/redisInstalled';
import { startRedisCluster } from '@isosession/test-support/redisCluster';
import type { PrivateRedisCluster } from '@isosession/test-support/redisCluster';
import { randomPrefix } from '@isosession/test-support/redisServer';
import { failoverUnderLoad } from './support/failoverRun.js';
import type { Failover } from './support/failoverRun.js';
import { startApp } from './support/startApp.js';
import type { RunningApp } from './support/startApp.js';

// A master of a real Redis Cluster (cluster-node-timeout 1 s) SIGKILLed while 100 clients
// write through an app server; its replica is promoted. The app's driver has Timeout 1 s.

let cluster: PrivateRedisCluster;
let app: RunningApp | undefined;

/** Kills the master holding most of the load's sessions; heals when its replica took over. */
function killMaster(prefix: string, alsoRestart: boolean): Failover & { killed?: number } {
  const failover: Failover & { killed?: number } = {
    async kill(ids) {
      const masters = await Promise.all(ids.map((id) => cluster.masterOf(prefix + id)));
      const counts = new Map<number, number>();
      for (const master of masters) counts.set(master, (counts.get(master) ?? 0) + 1);
      failover.killed = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      await cluster.kill(failover.killed);
    },
    async heal() {
      await cluster.healthy(30_000);
      // With WaitReplicas the promoted master needs a replica again before writes succeed.
      if (alsoRestart) {
        await cluster.restart(failover.killed!);
        await cluster.healthy(30_000);
      }
    },
  };
  return failover;
}

describe.runIf(redisServerInstalled('the Redis Cluster failover tests'))('Redis Cluster failover under load', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster({ nodeTimeoutMs: 1000 });
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('a master SIGKILLed: only 200 or 503, writes succeed again once the replica is promoted', async () => {
    const prefix = randomPrefix('failover');
    app = await startApp({ kind: 'isosession', dsn: 'driver:redis', dsnArgs: { Url: cluster.urls, Prefix: prefix, Timeout: 1 } });
    const failover = killMaster(prefix, false);
    const figures = await failoverUnderLoad('failover: redis cluster master SIGKILL (no WAIT)', app.base, failover, { figures: { nodeTimeoutMs: 1000, driverTimeoutS: 1 } });
    expect(app.crash()).toBeUndefined();
    expect(figures.writesBackAfterMs).toBeLessThan(15_000);
    // Put the killed node back (it rejoins as a replica) for the next scenario.
    await cluster.restart(failover.killed!);
    await cluster.healthy(30_000);
  });

  it('WaitReplicas: 1: a master SIGKILLed loses no acknowledged write', async () => {
    const prefix = randomPrefix('failover-wait');
    app = await startApp({ kind: 'isosession', dsn: 'driver:redis', dsnArgs: { Url: cluster.urls, Prefix: prefix, Timeout: 1, WaitReplicas: 1 } });
    const figures = await failoverUnderLoad('failover: redis cluster master SIGKILL (WaitReplicas 1)', app.base, killMaster(prefix, true), { figures: { nodeTimeoutMs: 1000, driverTimeoutS: 1, waitReplicas: 1 } });
    expect(app.crash()).toBeUndefined();
    expect(figures.lost).toBe(0);
    expect(figures.writesBackAfterMs).toBeLessThan(20_000);
  });
});
