import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { Session } from '@isosession/server';
import { runConcurrencyContract, runDriverContract } from '@isosession/test-support/contracts';
import { cliSource } from '@isosession/test-support/serverInternals';
import { redisServerInstalled } from '@isosession/test-support/redisInstalled';
import { startRedisCluster } from '@isosession/test-support/redisCluster';
import type { PrivateRedisCluster } from '@isosession/test-support/redisCluster';
import { randomPrefix } from '@isosession/test-support/redisServer';

// The redis driver on a real Redis Cluster of the test's own (three masters, one replica
// each): the driver contract and the concurrency contract with the driver's own Cluster
// client (`Url` as a list of nodes) and with a Cluster client of the caller's (`Client`),
// find/purge across every master, and the CLI.

const BIN = cliSource;
const DAY = 86_400_000;

let cluster: PrivateRedisCluster;
const clients: Cluster[] = [];

describe.runIf(redisServerInstalled('the Redis Cluster tests'))('redis driver on a Redis Cluster (3 masters + 3 replicas)', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster();
  });
  afterAll(async () => {
    await Session.closeAll();
    for (const client of clients) client.disconnect();
    await cluster?.stop();
  });

  describe('Url: the list of nodes (the driver opens a Cluster client)', () => {
    runDriverContract({
      name: 'redis cluster (Url list)',
      dsn: 'driver:redis',
      serializers: ['default', 'storable'],
      dsnArgs: () => ({ Url: cluster.urls, Prefix: randomPrefix('cluster') }),
    });
    runConcurrencyContract({
      name: 'redis cluster (Url list)',
      dsn: 'driver:redis',
      dsnArgs: () => ({ Url: cluster.urls, Prefix: randomPrefix('cluster') }),
    });
  });

  describe('WaitReplicas: 1 (each write confirmed by the key master\'s replica)', () => {
    runDriverContract({
      name: 'redis cluster (WaitReplicas 1)',
      dsn: 'driver:redis',
      serializers: ['default'],
      dsnArgs: () => ({ Url: cluster.urls, Prefix: randomPrefix('cluster'), WaitReplicas: 1 }),
    });
  });

  describe('Client: an ioredis Cluster of the caller', () => {
    runDriverContract({
      name: 'redis cluster (Client)',
      dsn: 'driver:redis',
      serializers: ['default'],
      dsnArgs: () => {
        const client = cluster.client();
        clients.push(client);
        return { Client: client, Prefix: randomPrefix('cluster') };
      },
    });
  });

  describe('find and purge walk every master', () => {
    async function seed(args: Record<string, unknown>, count: number, daysAgo: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const session = await Session.new('driver:redis', null, args, { now: () => Date.now() - daysAgo * DAY });
        session.param('i', i);
        session.expire('1d');
        await session.flush();
        ids.push(session.id()!);
      }
      return ids;
    }

    it('Session.find visits the sessions of all three masters, and deletes the expired ones', async () => {
      const args = { Url: cluster.urls, Prefix: randomPrefix('cluster-find') };
      const live = await seed(args, 30, 0);
      const expired = await seed(args, 30, 3);
      const masters = new Set(await Promise.all(live.map((id) => cluster.masterOf(args.Prefix + id))));
      // 30 random ids over 16384 slots in three ranges: all three masters hold some.
      expect(masters.size).toBe(3);

      const seen: string[] = [];
      const report = await Session.find('driver:redis', (session) => {
        // find() purges the expired ones it meets and hands them over empty (no id).
        if (!session.isExpired()) seen.push(session.id()!);
      }, args);
      expect(report).toMatchObject({ visited: 60, purged: 30, failed: [] });
      expect(seen.sort()).toEqual([...live].sort());
      const again: string[] = [];
      await Session.find('driver:redis', (session) => {
        again.push(session.id()!);
      }, args);
      expect(again.sort()).toEqual([...live].sort());
      const probe = cluster.client();
      clients.push(probe);
      for (const id of expired) expect(await probe.exists(args.Prefix + id)).toBe(0);
    });

    it('the CLI: stats, then find --expired --purge, on the cluster', async () => {
      const args = { Url: cluster.urls, Prefix: randomPrefix('cluster-cli') };
      const live = await seed(args, 12, 0);
      const expired = await seed(args, 12, 3);
      await Session.closeAll();
      const cli = ['--dsn', 'driver:redis', '--args', JSON.stringify(args), '--json', '--full-ids'];
      const run = (extra: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', BIN, ...extra, ...cli], { encoding: 'utf8' }, (error, stdout, stderr) => {
            resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
          });
        });
      const lines = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const stats = await run(['stats']);
      expect(stats.stderr).toBe('');
      expect(lines(stats.stdout)[0]).toMatchObject({ count: 24, expired: 12, failed: 0 });
      const purge = await run(['find', '--expired', '--purge']);
      expect(purge.code).toBe(0);
      expect(lines(purge.stdout).filter((line) => line.type === 'session').map((line) => line.id).sort()).toEqual([...expired].sort());
      const after = await run(['find']);
      expect(lines(after.stdout).filter((line) => line.type === 'session').map((line) => line.id).sort()).toEqual([...live].sort());
    });
  });
});
