import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { randomPrefix } from '@isosession/test-support/redisServer';
import type { AppConfig } from './support/appServer.js';
import { recordFigures } from './support/figures.js';
import { dumpSessions, newSessions, runLoad, verify } from './support/loadClients.js';
import type { Verdict } from './support/loadClients.js';
import { scaled } from './support/scale.js';
import { startApp } from './support/startApp.js';
import type { RunningApp } from './support/startApp.js';
import { deleteRedisPrefix, redisStore } from './support/stores.js';
import type { TestStore } from './support/stores.js';

// "Lost updates, side by side": the same workload — 10 clients per session at once,
// each setting only its own param — against express-session + connect-redis and isosession on
// the same Redis, and against express-session + session-file-store and isosession's file
// store. express-session saves the whole session it loaded, so a request that loaded before
// another's save writes the other's param back to its old value.

const SESSIONS = 10;
const CLIENTS = 100;

let app: RunningApp | undefined;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function disjointWrites(config: AppConfig): Promise<Verdict & { acked: number }> {
  app = await startApp(config);
  const base = app.base;
  const cookies = await newSessions(base, SESSIONS);
  const report = await runLoad({ base: () => base, cookies, clients: CLIENTS, durationMs: scaled(3), paramsPerClient: 1 });
  expect(Object.keys(report.counts.all ?? {})).toEqual(['200']);
  const verdict = verify(report.params, await dumpSessions(base, cookies));
  await app.stop();
  app = undefined;
  return { ...verdict, acked: report.acked };
}

describe.runIf(await serviceAvailable('redis'))('lost updates: express-session + connect-redis vs isosession (redis)', () => {
  it('S54: isosession keeps every acknowledged write; express-session loses some under the same load', async () => {
    const prefix = randomPrefix('reliability-express');
    cleanups.push(() => deleteRedisPrefix(SERVICE_URLS.redis, prefix));
    const express = await disjointWrites({ kind: 'express-redis', url: SERVICE_URLS.redis, prefix });
    const store: TestStore = redisStore();
    cleanups.push(() => store.cleanup());
    const ours = await disjointWrites({ kind: 'isosession', dsn: store.dsn, dsnArgs: store.dsnArgs });
    recordFigures('lost updates side by side (redis)', {
      sessions: SESSIONS,
      clients: CLIENTS,
      seconds: scaled(3) / 1000,
      expressSession: { acknowledged: express.acked, paramsChecked: express.checked, paramsLost: new Set(express.lost.map((loss) => loss.name)).size, lossRate: +express.lossRate.toFixed(4) },
      isosession: { acknowledged: ours.acked, paramsChecked: ours.checked, paramsLost: ours.lost.length, lossRate: ours.lossRate },
    });
    expect(ours.lost).toEqual([]);
    // The workload really races: the same load makes express-session lose writes. Without
    // this, a zero for isosession could just mean the requests never overlapped.
    expect(express.lost.length).toBeGreaterThan(0);
  });
});

describe('lost updates: express-session + session-file-store vs isosession (file)', () => {
  it('S54: isosession keeps every acknowledged write; express-session loses some under the same load', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'isosession-reliability-lost-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const express = await disjointWrites({ kind: 'express-file', directory: join(directory, 'express') });
    const ours = await disjointWrites({ kind: 'isosession', dsn: 'driver:file', dsnArgs: { Directory: join(directory, 'isosession') } });
    recordFigures('lost updates side by side (file)', {
      sessions: SESSIONS,
      clients: CLIENTS,
      seconds: scaled(3) / 1000,
      expressSession: { acknowledged: express.acked, paramsChecked: express.checked, paramsLost: new Set(express.lost.map((loss) => loss.name)).size, lossRate: +express.lossRate.toFixed(4) },
      isosession: { acknowledged: ours.acked, paramsChecked: ours.checked, paramsLost: ours.lost.length, lossRate: ours.lossRate },
    });
    expect(ours.lost).toEqual([]);
    expect(express.lost.length).toBeGreaterThan(0);
  });
});
