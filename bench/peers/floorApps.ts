import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parseCookie } from 'cookie';
import { SERVICE_URLS } from '@isosession/test-support/services';
import { failed, reply } from './app.js';
import type { AppContext, Handler, PeerApp } from './app.js';
import type { Store } from './catalog.js';

/** The bare server: reads nothing, stores nothing, answers. The ceiling of every row. */
export function httpOnlyApp(): PeerApp {
  const handler: Handler = (_req, res) => reply(res, '1');
  return { handlers: { counter: handler, create: handler, read: handler }, close: async () => {} };
}

/** A hand-written session store with no merging, locking, expiry or signing: the floor. */
interface RawStore {
  get(id: string): Promise<string | null>;
  set(id: string, value: string): Promise<void>;
  close(): Promise<void>;
}

const COOKIE = 'raw';

function claim(req: IncomingMessage): string | undefined {
  const id = parseCookie(req.headers.cookie ?? '')[COOKIE];
  return id !== undefined && /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}

function rawApp(store: RawStore, context: AppContext): PeerApp {
  const run = (work: (req: IncomingMessage, res: ServerResponse) => Promise<string>): Handler => (req, res) => {
    work(req, res).then((body) => reply(res, body), (error: unknown) => failed(res, error));
  };
  const create = async (res: ServerResponse) => {
    const id = randomBytes(16).toString('hex');
    await store.get(id); // a new id is looked up first, as a store checking for a collision does
    await store.set(id, JSON.stringify({ n: 1 }));
    context.counts.dataWrites++;
    res.setHeader('set-cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
    return '1';
  };
  return {
    handlers: {
      counter: run(async (req, res) => {
        const id = claim(req);
        const stored = id === undefined ? null : await store.get(id);
        if (id === undefined || stored === null) return create(res);
        const data = JSON.parse(stored) as { n: number };
        data.n += 1;
        await store.set(id, JSON.stringify(data));
        context.counts.dataWrites++;
        return String(data.n);
      }),
      create: run((_req, res) => create(res)),
      read: run(async (req) => {
        const id = claim(req);
        const stored = id === undefined ? null : await store.get(id);
        return String(stored === null ? 0 : (JSON.parse(stored) as { n: number }).n);
      }),
    },
    close: () => store.close(),
  };
}

async function fileStore(context: AppContext): Promise<RawStore> {
  const directory = join(context.directory, 'raw');
  await mkdir(directory, { recursive: true });
  const pathOf = (id: string) => join(directory, `raw_${id}`);
  return {
    get: (id) => readFile(pathOf(id), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    }),
    set: (id, value) => writeFile(pathOf(id), value),
    close: async () => {},
  };
}

async function redisStore(context: AppContext): Promise<RawStore> {
  const { Redis } = await import('ioredis');
  const { deleteKeys } = await import('@isosession/test-support/redisServer');
  // The client options the redis driver gives the client it opens, so only the work differs.
  const client = new Redis(SERVICE_URLS.redis, { enableAutoPipelining: false, maxRetriesPerRequest: 0 });
  const prefix = `isosession-bench:${context.token}:raw:`;
  return {
    get: (id) => client.get(prefix + id),
    set: async (id, value) => {
      await client.set(prefix + id, value);
    },
    async close() {
      await deleteKeys(client, prefix);
      client.disconnect();
    },
  };
}

async function postgresqlStore(context: AppContext): Promise<RawStore> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: SERVICE_URLS.postgresql });
  const table = `isosession_bench_raw_${context.token}`;
  await pool.query(`CREATE TABLE ${table} (id varchar(128) PRIMARY KEY, data text NOT NULL)`);
  return {
    async get(id) {
      const result = await pool.query<{ data: string }>({ name: 'select', text: `SELECT data FROM ${table} WHERE id = $1`, values: [id] });
      return result.rows[0]?.data ?? null;
    },
    async set(id, value) {
      // An upsert: one statement for both the counter's UPDATE and create's INSERT.
      await pool.query({ name: 'upsert', text: `INSERT INTO ${table} (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data`, values: [id, value] });
    },
    async close() {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    },
  };
}

export async function rawFloorApp(store: Store, context: AppContext): Promise<PeerApp> {
  if (store === 'file') return rawApp(await fileStore(context), context);
  if (store === 'redis') return rawApp(await redisStore(context), context);
  if (store === 'postgresql') return rawApp(await postgresqlStore(context), context);
  throw new Error(`no raw floor for ${store}`);
}
