import { randomBytes } from 'node:crypto';
import { SERVICE_URLS } from '@isosession/test-support/services';

/** A table name no other test (or helper) uses: `isosession_<label>_<random>`. */
export function randomTableName(label = 'test'): string {
  return `isosession_${label}_${randomBytes(5).toString('hex')}`;
}

/** Runs statements on the shared PostgreSQL with a connection of its own. */
export async function onPostgresql<T>(work: (query: (sql: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>) => Promise<T>): Promise<T> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
  await client.connect();
  try {
    return await work((sql, params) => client.query(sql, params));
  } finally {
    await client.end();
  }
}

/** Runs statements on the shared MariaDB/MySQL with a connection of its own. */
export async function onMysql<T>(work: (query: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection(SERVICE_URLS.mysql);
  try {
    return await work(async (sql, params) => (await connection.query(sql, params))[0] as Record<string, unknown>[]);
  } finally {
    await connection.end();
  }
}

/** Drops the tables a test created (never any other: names come from randomTableName). */
export async function dropTables(service: 'postgresql' | 'mysql', tables: string[]): Promise<void> {
  if (tables.length === 0) return;
  for (const table of tables) {
    if (!/^isosession_\w+$/.test(table)) throw new Error(`refusing to drop ${table}: not a test table`);
  }
  if (service === 'postgresql') {
    await onPostgresql((query) => query(`DROP TABLE IF EXISTS ${tables.map((t) => `"${t}"`).join(', ')}`));
  } else {
    await onMysql((query) => query(`DROP TABLE IF EXISTS ${tables.map((t) => `\`${t}\``).join(', ')}`));
  }
}
