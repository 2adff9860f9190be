import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The least a store can do for one request, through the same client library the driver uses:
 * what a hand-written session store with no merging, no locking and no expiry would cost.
 * `readWrite` is the floor of load + flush of an existing session (read it, write it back);
 * `create` the floor of create + flush (look the new id up, write it).
 */
export interface RawFloor {
  describe: string;
  seed(keys: string[], payload: string): Promise<void>;
  readWrite(key: string, payload: string): Promise<void>;
  create(key: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

function tableName(): string {
  return `isosession_bench_raw_${randomBytes(5).toString('hex')}`;
}

export function memoryFloor(): RawFloor {
  const map = new Map<string, string>();
  return {
    describe: 'Map.get + Map.set',
    async seed(keys, payload) {
      for (const key of keys) map.set(key, payload);
    },
    async readWrite(key, payload) {
      map.get(key);
      map.set(key, payload);
    },
    async create(key, payload) {
      map.get(key);
      map.set(key, payload);
    },
    async close() {
      map.clear();
    },
  };
}

export function fileFloor(directory: string): RawFloor {
  const pathOf = (key: string) => join(directory, `raw_${key}`);
  return {
    describe: 'readFile + writeFile',
    async seed(keys, payload) {
      await Promise.all(keys.map((key) => writeFile(pathOf(key), payload)));
    },
    async readWrite(key, payload) {
      await readFile(pathOf(key));
      await writeFile(pathOf(key), payload);
    },
    async create(key, payload) {
      await readFile(pathOf(key)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await writeFile(pathOf(key), payload);
    },
    async close() {},
  };
}

export async function redisFloor(url: string, prefix: string): Promise<RawFloor> {
  const { Redis } = await import('ioredis');
  // The options the redis driver gives the client it opens, so only the work differs.
  const client = new Redis(url, { enableAutoPipelining: false, maxRetriesPerRequest: 0 });
  const keyOf = (key: string) => `${prefix}raw:${key}`;
  return {
    describe: 'GET + SET (ioredis)',
    async seed(keys, payload) {
      await Promise.all(keys.map((key) => client.set(keyOf(key), payload)));
    },
    async readWrite(key, payload) {
      await client.getBuffer(keyOf(key));
      await client.set(keyOf(key), payload);
    },
    async create(key, payload) {
      await client.getBuffer(keyOf(key));
      await client.set(keyOf(key), payload);
    },
    async close() {
      client.disconnect();
    },
  };
}

export async function sqliteFloor(file: string): Promise<RawFloor> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const table = tableName();
  db.exec(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, a_session BLOB NOT NULL)`);
  const select = db.prepare(`SELECT a_session FROM ${table} WHERE id = ?`);
  const update = db.prepare(`UPDATE ${table} SET a_session = ? WHERE id = ?`);
  const insert = db.prepare(`INSERT INTO ${table} (id, a_session) VALUES (?, ?)`);
  return {
    describe: 'SELECT + UPDATE / INSERT (better-sqlite3, WAL)',
    async seed(keys, payload) {
      for (const key of keys) insert.run(key, payload);
    },
    async readWrite(key, payload) {
      select.get(key);
      update.run(payload, key);
    },
    async create(key, payload) {
      select.get(key);
      insert.run(key, payload);
    },
    async close() {
      db.exec(`DROP TABLE IF EXISTS ${table}`);
      db.close();
    },
  };
}

export async function postgresqlFloor(url: string): Promise<RawFloor> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url });
  const table = tableName();
  await pool.query(`CREATE TABLE ${table} (id varchar(128) PRIMARY KEY, a_session bytea NOT NULL)`);
  return {
    describe: 'SELECT + UPDATE / INSERT (pg Pool)',
    async seed(keys, payload) {
      for (const key of keys) await pool.query(`INSERT INTO ${table} (id, a_session) VALUES ($1, $2)`, [key, Buffer.from(payload)]);
    },
    async readWrite(key, payload) {
      await pool.query({ name: `${table}_s`, text: `SELECT a_session FROM ${table} WHERE id = $1`, values: [key] });
      await pool.query({ name: `${table}_u`, text: `UPDATE ${table} SET a_session = $2 WHERE id = $1`, values: [key, Buffer.from(payload)] });
    },
    async create(key, payload) {
      await pool.query({ name: `${table}_s`, text: `SELECT a_session FROM ${table} WHERE id = $1`, values: [key] });
      await pool.query({ name: `${table}_i`, text: `INSERT INTO ${table} (id, a_session) VALUES ($1, $2)`, values: [key, Buffer.from(payload)] });
    },
    async close() {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    },
  };
}

export async function mysqlFloor(url: string): Promise<RawFloor> {
  const mysql = await import('mysql2/promise');
  const pool = mysql.createPool({ uri: url });
  const table = tableName();
  await pool.query(`CREATE TABLE ${table} (id varchar(128) PRIMARY KEY, a_session longblob NOT NULL)`);
  return {
    describe: 'SELECT + UPDATE / INSERT (mysql2 pool)',
    async seed(keys, payload) {
      for (const key of keys) await pool.execute(`INSERT INTO ${table} (id, a_session) VALUES (?, ?)`, [key, Buffer.from(payload)]);
    },
    async readWrite(key, payload) {
      await pool.execute(`SELECT a_session FROM ${table} WHERE id = ?`, [key]);
      await pool.execute(`UPDATE ${table} SET a_session = ? WHERE id = ?`, [Buffer.from(payload), key]);
    },
    async create(key, payload) {
      await pool.execute(`SELECT a_session FROM ${table} WHERE id = ?`, [key]);
      await pool.execute(`INSERT INTO ${table} (id, a_session) VALUES (?, ?)`, [key, Buffer.from(payload)]);
    },
    async close() {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    },
  };
}
