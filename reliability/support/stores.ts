import { randomBytes } from 'node:crypto';
import '@isosession/server';
import type { DsnArgs } from '@isosession/server';
import { getDriverFactory } from '@isosession/test-support/serverInternals';
import { SERVICE_URLS } from '@isosession/test-support/services';
import { deleteKeys, randomPrefix } from '@isosession/test-support/redisServer';

/** A store of the battery's own: a random key prefix / table, removed by cleanup(). */
export interface TestStore {
  dsn: string;
  dsnArgs: DsnArgs;
  cleanup(): Promise<void>;
}

/** Whether `driver:<name>` is registered (sqlite/postgresql/mysql ship in their own commits). */
export function driverRegistered(name: string): boolean {
  try {
    getDriverFactory(name);
    return true;
  } catch {
    return false;
  }
}

/** Deletes our keys under `prefix` (SCAN + DEL; never FLUSHDB on a shared server). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await deleteKeys(client, prefix);
  } finally {
    client.disconnect();
  }
}

export function redisStore(url: string = SERVICE_URLS.redis, extra: DsnArgs = {}): TestStore {
  const prefix = randomPrefix('reliability');
  return {
    dsn: 'driver:redis',
    dsnArgs: { Url: url, Prefix: prefix, ...extra },
    cleanup: () => deleteRedisPrefix(url, prefix),
  };
}

/** A random table on the shared PostgreSQL; `applicationName` marks our connections (pg_stat_activity). */
export function postgresqlStore(applicationName = `isosession-reliability-${randomBytes(4).toString('hex')}`): TestStore & { table: string; applicationName: string } {
  const table = `isosession_rel_${randomBytes(5).toString('hex')}`;
  const url = new URL(SERVICE_URLS.postgresql);
  url.searchParams.set('application_name', applicationName);
  return {
    dsn: 'driver:postgresql',
    dsnArgs: { DataSource: url.toString(), TableName: table },
    table,
    applicationName,
    async cleanup() {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
      await client.connect();
      try {
        await client.query(`DROP TABLE IF EXISTS ${table}`);
      } finally {
        await client.end();
      }
    },
  };
}
