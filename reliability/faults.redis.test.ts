import { afterEach, describe, it } from 'vitest';
import { randomPrefix, startPrivateRedis } from '@isosession/test-support/redisServer';
import type { PrivateRedis } from '@isosession/test-support/redisServer';
import { outageUnderLoad } from './support/outageRun.js';
import { startApp } from './support/startApp.js';
import type { RunningApp } from './support/startApp.js';

// Reliability battery, "Faults" on Redis: a redis-server of the test's own (own port, AOF fsynced on every
// write), SIGKILLed and restarted, or SIGSTOPped, under load. The driver's Timeout is 1 s, so
// a request during the outage is refused within about a second.

let redis: PrivateRedis | undefined;
let app: RunningApp | undefined;

afterEach(async () => {
  await app?.stop();
  await redis?.stop();
  app = undefined;
  redis = undefined;
});

async function setup(): Promise<RunningApp> {
  redis = await startPrivateRedis({ durable: true });
  app = await startApp({ kind: 'isosession', dsn: 'driver:redis', dsnArgs: { Url: redis.url, Prefix: randomPrefix('reliability'), Timeout: 1 } });
  return app;
}

describe('redis faults under load (private redis-server)', () => {
  it('killed and restarted: 503 while down, nothing acknowledged lost, service resumes by itself', async () => {
    const running = await setup();
    const server = redis!;
    await outageUnderLoad('fault: redis SIGKILL + restart', running, {
      lengthMs: 2000,
      begin: () => server.kill(),
      end: () => server.restart(),
    });
  });

  it('paused (SIGSTOP) longer than the timeout: 503 while paused, nothing acknowledged lost, resumes', async () => {
    const running = await setup();
    const server = redis!;
    await outageUnderLoad('fault: redis SIGSTOP + SIGCONT', running, {
      lengthMs: 2500,
      begin: async () => server.pause(),
      end: async () => server.resume(),
    });
  });
});
