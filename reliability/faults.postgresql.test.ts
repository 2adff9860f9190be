import { afterEach, describe, it } from 'vitest';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { outageUnderLoad } from './support/outageRun.js';
import { startApp } from './support/startApp.js';
import type { RunningApp } from './support/startApp.js';
import { driverRegistered, postgresqlStore } from './support/stores.js';
import type { TestStore } from './support/stores.js';

// Reliability battery, "Faults" on PostgreSQL: the server's connections terminated with
// pg_terminate_backend again and again for a while, under load. Only our own connections:
// they carry a random application_name, and only those are terminated on the shared server.

let app: RunningApp | undefined;
let store: TestStore | undefined;

afterEach(async () => {
  await app?.stop();
  await store?.cleanup();
  app = undefined;
  store = undefined;
});

const pgUp = await serviceAvailable('postgresql');

// driver:postgresql ships in its own commit; until it is registered there is nothing to break.
describe.runIf(pgUp && driverRegistered('postgresql'))('postgresql faults under load', () => {
  it('connections terminated mid-load: 503 for the requests hit, nothing acknowledged lost, resumes', async () => {
    const opened = postgresqlStore();
    store = opened;
    app = await startApp({ kind: 'isosession', dsn: opened.dsn, dsnArgs: opened.dsnArgs });
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
    await admin.connect();
    let terminating = false;
    let loop: Promise<void> | undefined;
    let terminated = 0;
    const terminate = async () => {
      const result = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [opened.applicationName]);
      terminated += result.rowCount ?? 0;
    };
    try {
      await outageUnderLoad('fault: postgresql pg_terminate_backend', app, {
        lengthMs: 2000,
        alwaysDown: false,
        async begin() {
          terminating = true;
          // Back to back: every connection the pool opens is terminated again within milliseconds.
          loop = (async () => {
            while (terminating) await terminate();
          })();
        },
        async end() {
          terminating = false;
          await loop;
        },
      });
    } finally {
      terminating = false;
      await loop?.catch(() => {});
      await admin.end();
    }
    process.stdout.write(`reliability: postgresql connections terminated: ${terminated}\n`);
  });
});
