import { join } from 'node:path';
import { withNodeSession } from '@isosession/server/node';
import { isosession } from '@isosession/server/express';
import type { RequestWithSession } from '@isosession/server/express';
import type { DsnArgs } from '@isosession/server';
import { closeAllDrivers } from './registry.js';
import { SERVICE_URLS } from '@isosession/test-support/services';
import { reply, SECRET } from './app.js';
import type { AppContext, PeerApp } from './app.js';
import type { Framework, Store } from './catalog.js';
import { expressFrameworkApp } from './expressFramework.js';
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
 * isosession through its node:http adapter (`withNodeSession`) or its Express middleware
 * (`isosession()` in an Express 5 app), signed ids on (express-session
 * always signs its cookie, so both do one HMAC per request), default serializer (JSON).
 */
export async function isosessionApp(store: Store, context: AppContext, framework: Framework): Promise<PeerApp> {
  registerCountingDriver(context.counts);
  const dsnArgs = { Inner: store, ...innerArgs(store, context) };
  const options = { dsn: 'driver:counted', dsnArgs, sessionParams: { secret: SECRET } };
  const close = async () => {
    await closeAllDrivers();
    await dropStore(store, dsnArgs);
  };
  if (framework === 'express') {
    const sessionOf = (req: unknown) => (req as RequestWithSession).session;
    return expressFrameworkApp(
      isosession(options),
      {
        counter: (req) => {
          const n = ((sessionOf(req).param('n') as number | undefined) ?? 0) + 1;
          sessionOf(req).param('n', n);
          return String(n);
        },
        create: (req) => {
          sessionOf(req).param('n', 1);
          return '1';
        },
        read: (req) => String(sessionOf(req).param('n') ?? 0),
      },
      close,
    );
  }
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
    close,
  };
}

async function dropStore(store: Store, dsnArgs: DsnArgs): Promise<void> {
  if (store === 'redis') {
    const { Redis } = await import('ioredis');
    const { deleteKeys } = await import('@isosession/test-support/redisServer');
    const client = new Redis(SERVICE_URLS.redis);
    await deleteKeys(client, String(dsnArgs.Prefix)).finally(() => client.disconnect());
  } else if (store === 'postgresql') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${String(dsnArgs.TableName)}`).finally(() => client.end());
  }
}
