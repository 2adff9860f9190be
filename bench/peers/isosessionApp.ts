import { join } from 'node:path';
import { withNodeSession } from '@isosession/server/node';
import type { DsnArgs } from '@isosession/server';
import { closeAllDrivers } from '../../packages/server/src/registry.js';
import { SERVICE_URLS } from '../../packages/server/src/testing/services.js';
import { reply, SECRET } from './app.js';
import type { AppContext, PeerApp } from './app.js';
import type { Store } from './catalog.js';
import { registerCountingDriver } from './countingDriver.js';

function innerArgs(store: Store, context: AppContext): DsnArgs {
  switch (store) {
    case 'memory':
      return { Namespace: `bench-${context.token}` };
    case 'file':
      return { Directory: join(context.directory, 'sessions') };
    case 'sqlite':
      return { DataSource: join(context.directory, 'sessions.sqlite'), TableName: `bench_${context.token}` };
    case 'redis':
      return { Url: SERVICE_URLS.redis, Prefix: `isosession-bench:${context.token}:` };
    case 'postgresql':
      return { DataSource: SERVICE_URLS.postgresql, TableName: `isosession_bench_${context.token}` };
    default:
      throw new Error(`isosession has no ${store} store`);
  }
}

/**
 * isosession through its node:http adapter (`withNodeSession`), signed ids on (express-session
 * always signs its cookie, so both do one HMAC per request), default serializer (JSON).
 */
export async function isosessionApp(store: Store, context: AppContext): Promise<PeerApp> {
  registerCountingDriver(context.counts);
  const dsnArgs = { Inner: store, ...innerArgs(store, context) };
  const options = { dsn: 'driver:counted', dsnArgs, sessionParams: { secret: SECRET } };
  return {
    handlers: {
      counter: withNodeSession((_req, res, session) => {
        const n = ((session.param('n') as number | undefined) ?? 0) + 1;
        session.param('n', n);
        reply(res, String(n));
      }, options),
      create: withNodeSession((_req, res, session) => {
        session.param('n', 1);
        reply(res, '1');
      }, options),
      read: withNodeSession((_req, res, session) => {
        reply(res, String(session.param('n') ?? 0));
      }, options),
    },
    async close() {
      await closeAllDrivers();
      await dropStore(store, dsnArgs);
    },
  };
}

async function dropStore(store: Store, dsnArgs: DsnArgs): Promise<void> {
  if (store === 'redis') {
    const { Redis } = await import('ioredis');
    const { deleteKeys } = await import('../../packages/server/src/testing/redisServer.js');
    const client = new Redis(SERVICE_URLS.redis);
    await deleteKeys(client, String(dsnArgs.Prefix)).finally(() => client.disconnect());
  } else if (store === 'postgresql') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${String(dsnArgs.TableName)}`).finally(() => client.end());
  }
}
