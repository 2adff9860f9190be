import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import session from 'express-session';
import type { SessionData, Store as StoreBase } from 'express-session';
import { SERVICE_URLS } from '@isosession/test-support/services';
import { failed, reply, SECRET } from './app.js';
import type { AppContext, Handler, PeerApp } from './app.js';
import type { Framework, Store, Workload, WriteCounts } from './catalog.js';
import { expressFrameworkApp } from './expressFramework.js';

declare module 'express-session' {
  interface SessionData {
    n: number;
  }
}

type Middleware = (req: unknown, res: unknown, next: (error?: unknown) => void) => void;

/** Counts the store's set() (a data write) and touch() calls, as our counting driver does. */
function countWrites(store: StoreBase, counts: WriteCounts): void {
  const set = store.set.bind(store);
  store.set = (sid, data, callback) => {
    counts.dataWrites++;
    set(sid, data, callback);
  };
  if (store.touch) {
    const touch = store.touch.bind(store);
    store.touch = (sid, data, callback) => {
      counts.touches++;
      touch(sid, data, callback);
    };
  }
}

async function openStore(store: Store, context: AppContext): Promise<{ store: StoreBase; close(): Promise<void> }> {
  switch (store) {
    case 'memory':
      return { store: new session.MemoryStore(), close: async () => {} };
    case 'file': {
      const { default: createFileStore } = await import('session-file-store');
      const FileStore = createFileStore(session);
      const path = join(context.directory, 'sessions');
      await mkdir(path, { recursive: true });
      // reapInterval -1: no background sweeper competing with the workload; logFn: quiet.
      return { store: new FileStore({ path, reapInterval: -1, logFn: () => {} }), close: async () => {} };
    }
    case 'redis': {
      const { createClient } = await import('redis');
      const { RedisStore } = await import('connect-redis');
      const client = createClient({ url: SERVICE_URLS.redis });
      client.on('error', () => {});
      await client.connect();
      const prefix = `isosession-bench:${context.token}:sess:`;
      return {
        store: new RedisStore({ client, prefix }),
        async close() {
          let cursor = '0';
          do {
            const reply = await client.scan(cursor, { MATCH: `${prefix}*`, COUNT: 1000 });
            cursor = String(reply.cursor);
            if (reply.keys.length > 0) await client.del(reply.keys);
          } while (cursor !== '0');
          await client.close();
        },
      };
    }
    case 'postgresql': {
      const { default: pg } = await import('pg');
      const { default: connectPgSimple } = await import('connect-pg-simple');
      const PgStore = connectPgSimple(session);
      const pool = new pg.Pool({ connectionString: SERVICE_URLS.postgresql });
      const tableName = `isosession_bench_pgsimple_${context.token}`;
      // connect-pg-simple's own table script names its key "session_pkey" whatever the table,
      // so a second store on the same database (the Express pair) fails; this is its schema
      // with names of the table's own.
      await pool.query(`CREATE TABLE IF NOT EXISTS ${tableName} (sid varchar NOT NULL PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`);
      await pool.query(`CREATE INDEX IF NOT EXISTS ${tableName}_expire ON ${tableName} (expire)`);
      const store = new PgStore({ pool, tableName, pruneSessionInterval: false });
      return {
        store,
        async close() {
          await store.close();
          await pool.query(`DROP TABLE IF EXISTS ${tableName}`);
          await pool.end();
        },
      };
    }
    default:
      throw new Error(`express-session has no ${store} store here`);
  }
}

/**
 * express-session as its README recommends (resave: false, saveUninitialized: false), as
 * middleware on the same plain node:http server, or in an Express 5 app. It saves before
 * res.end() completes.
 */
export async function expressApp(storeName: Store, context: AppContext, framework: Framework): Promise<PeerApp> {
  const opened = await openStore(storeName, context);
  countWrites(opened.store, context.counts);
  const middleware = session({ secret: SECRET, resave: false, saveUninitialized: false, store: opened.store }) as unknown as Middleware;
  if (framework === 'express') {
    type WithSession = { session: SessionData & session.Session };
    const data = (req: unknown) => (req as WithSession).session;
    return expressFrameworkApp(
      middleware,
      {
        counter: (req) => String((data(req).n = (data(req).n ?? 0) + 1)),
        create: (req) => String((data(req).n = 1)),
        read: (req) => String(data(req).n ?? 0),
      },
      () => opened.close(),
    );
  }
  const route = (work: (data: SessionData & session.Session) => string): Handler => (req, res) => {
    middleware(req, res, (error) => {
      if (error) return failed(res, error);
      reply(res, work((req as unknown as { session: SessionData & session.Session }).session));
    });
  };
  const handlers: Record<Workload, Handler> = {
    counter: route((data) => String((data.n = (data.n ?? 0) + 1))),
    create: route((data) => String((data.n = 1))),
    read: route((data) => String(data.n ?? 0)),
  };
  return { handlers, close: () => opened.close() };
}
