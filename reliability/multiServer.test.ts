import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DsnArgs } from '@isosession/server';
import { redisServerInstalled } from '@isosession/test-support/redisInstalled';
import { startRedisCluster } from '@isosession/test-support/redisCluster';
import { randomPrefix } from '@isosession/test-support/redisServer';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { recordFigures } from './support/figures.js';
import { dumpSessions, newSessions, runLoad, verify } from './support/loadClients.js';
import { startRoundRobinProxy } from './support/roundRobinProxy.js';
import type { RoundRobinProxy } from './support/roundRobinProxy.js';
import { scaled } from './support/scale.js';
import type { BusConfig } from './support/sessionRouterRoute.js';
import { startApp } from './support/startApp.js';
import type { RunningApp } from './support/startApp.js';
import { postgresqlStore } from './support/stores.js';
import { openWatch } from './support/watchStream.js';

// Several app servers sharing one store: four app server processes behind a round-robin TCP
// proxy (a new connection per request, so consecutive requests of one client land on
// different servers), each with the session router and a bus shared by all four. Meanwhile:
// clients writing disjoint params of shared sessions through the proxy (no lost update),
// `watch` streams opened on server 0 timing how soon they see a `set` made through servers
// 1-3, and server 3 SIGKILLed and restarted on its port halfway.

const SERVERS = 4;
const CLIENTS = 40;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function post(base: string, path: string, body: unknown, cookie?: string): Promise<{ status: number; cookie?: string }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ json: body }) });
  await response.text();
  return { status: response.status, cookie: response.headers.getSetCookie()[0]?.split(';')[0] };
}

async function severalServers(scenario: string, dsn: string, dsnArgs: DsnArgs, bus: BusConfig): Promise<void> {
  const apps: RunningApp[] = [];
  for (let i = 0; i < SERVERS; i++) apps.push(await startApp({ kind: 'isosession', dsn, dsnArgs, bus }));
  cleanups.push(async () => {
    for (const app of apps) await app.stop();
  });
  const proxy: RoundRobinProxy = await startRoundRobinProxy(apps.map((app) => app.port));
  cleanups.push(() => proxy.close());

  const cookies = await newSessions(proxy.base, 10);
  let phase = 'before';
  const load = runLoad({
    base: () => proxy.base,
    cookies,
    clients: CLIENTS,
    durationMs: 120_000,
    stopped: () => phase === 'done',
    keepAlive: false,
    phase: () => phase,
    mix: { set: 3, clear: 1, expire: 1 },
  });
  const loadStarted = Date.now();

  // At 2 s server 3 dies mid-request; the proxy skips it until it is back on its port (1 s later).
  let handedAtRestart = 0;
  const outage = (async () => {
    await sleep(scaled(2));
    phase = 'server 3 down';
    await apps[3]!.kill('SIGKILL');
    await sleep(1000);
    apps[3] = await startApp({ kind: 'isosession', dsn, dsnArgs, bus, port: apps[3]!.port });
    handedAtRestart = proxy.handed[3]!;
    // Requests sent while it was down may still be answered (or cut off) in this phase.
    await sleep(500);
    phase = 'after';
    await sleep(scaled(3));
    phase = 'done';
  })();

  // Watchers on server 0; each write goes through server 1, 2 or 3 directly, one at a time.
  const watched = await Promise.all([0, 1, 2].map(async () => (await post(apps[1]!.base, '/trpc/set', { name: 'counter', value: 1 })).cookie!));
  const watches = await Promise.all(watched.map((cookie) => openWatch(apps[0]!.base, cookie)));
  cleanups.push(async () => watches.forEach((watch) => watch.close()));
  await Promise.all(watches.map((watch) => watch.until((event) => event.params.counter === 1, 10_000)));
  const delays: number[] = [];
  const writeErrors: number[] = [];
  for (let k = 2; phase !== 'done'; k++) {
    const index = k % watches.length;
    const through = apps[1 + (k % 3)]!;
    // Server 3 while it is down: that write goes through server 1 instead.
    const server = phase === 'server 3 down' && through === apps[3] ? apps[1]! : through;
    const from = watches[index]!.events.length;
    const answer = await post(server.base, '/trpc/set', { name: 'counter', value: k }, watched[index]).catch((error: unknown) => {
      // Cut off by the SIGKILL (sent just before it): no answer, so nothing to wait for.
      if (server === apps[3] || server.crash() !== undefined || phase !== 'before') return undefined;
      throw error;
    });
    const acked = Date.now();
    if (answer === undefined) continue;
    if (answer.status !== 200) {
      writeErrors.push(answer.status);
      continue;
    }
    const event = await watches[index]!.until((seen) => seen.params.counter === k, 10_000, from);
    delays.push(Math.max(0, event.at - acked));
  }
  await outage;
  const report = await load;
  const verdict = verify(report.params, await dumpSessions(proxy.base, cookies));
  delays.sort((a, b) => a - b);
  recordFigures(scenario, {
    servers: SERVERS,
    clients: CLIENTS,
    seconds: (Date.now() - loadStarted) / 1000,
    answers: Object.fromEntries(Object.entries(report.counts).filter(([label]) => label !== 'done')),
    acknowledged: report.acked,
    paramsChecked: verdict.checked,
    lostUpdates: verdict.lost.length,
    connectionsPerServer: proxy.handed,
    watchedWrites: delays.length,
    watchDelayMs: { p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays.at(-1) },
  });

  expect(verdict.lost).toEqual([]);
  expect(writeErrors).toEqual([]);
  expect(delays.length).toBeGreaterThan(10);
  // Every server took part, the restarted one after its restart too.
  expect(proxy.handed.every((count) => count > 0)).toBe(true);
  expect(proxy.handed[3]!).toBeGreaterThan(handedAtRestart);
  expect(report.counts.after?.['200'] ?? 0).toBeGreaterThan(0);
  for (const [label, answers] of Object.entries(report.counts)) {
    // A request cut off by the SIGKILL has no answer ("network"); nothing else but 200.
    const allowed = label === 'server 3 down' ? ['200', 'network'] : ['200'];
    expect(Object.keys(answers).filter((status) => !allowed.includes(status)), label).toEqual([]);
  }
  for (const app of apps) expect(app.crash()).toBeUndefined();
}

const clusterPossible = redisServerInstalled('the several-app-servers scenario on a Redis Cluster');
const postgresqlUp = await serviceAvailable('postgresql');

describe('four app servers behind a round-robin proxy, one store', () => {
  it.runIf(clusterPossible)('Redis Cluster store and bus', async () => {
    const cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    await severalServers('several app servers: redis cluster', 'driver:redis', { Url: cluster.urls, Prefix: randomPrefix('servers'), Timeout: 2 }, { kind: 'redis', url: cluster.urls });
  });

  it.runIf(postgresqlUp)('PostgreSQL store and bus', async () => {
    const store = postgresqlStore();
    cleanups.push(() => store.cleanup());
    await severalServers('several app servers: postgresql', store.dsn, store.dsnArgs, { kind: 'postgresql', url: SERVICE_URLS.postgresql, channel: `isosession_rel_${randomBytes(4).toString('hex')}` });
  });
});
