import path from 'node:path';
import type { DsnArgs, Session, SessionParams } from '@isosession/server';
import { createMemorySessionBus, createSessionRouter } from '@isosession/trpc';
import type { SessionBus } from '@isosession/trpc';
import { getSession } from '@isosession/next';
import type { GetSessionMode } from '@isosession/next';
import { sessionParamDefinitions } from './sessionParams';

// Server-only: where the demo's sessions live and how long they last. The embedded default
// store (the file driver, JSON, md5 ids) under apps/demo/.data/, created on first use.

export const dsn = 'driver:file;serializer:json;id:md5';

export const dsnArgs: DsnArgs = {
  Directory: process.env.DEMO_DATA_DIR ?? path.join(process.cwd(), '.data', 'sessions'),
};

export const sessionParams: SessionParams = {};

/** Idle expiry of every session (the router, the proxy and the actions give it to new ones). */
export const SESSION_TTL = process.env.DEMO_SESSION_TTL ?? '2h';

/** Idle expiry of the `loggedIn` param (per-param expiry); tests shorten it. */
export const LOGIN_TTL = process.env.DEMO_LOGIN_TTL ?? '10m';

/** Server-only session data: never declared as a public param, so never sent to a browser. */
export const PRIVATE_PARAMS = ['account'] as const;

// One bus for the route handler (watch streams) and the server actions (which announce their
// changes on it). Next.js may load this module once per route bundle, so the bus hangs on
// globalThis: one per server process.
const BUS_KEY = Symbol.for('isosession.demo.bus');
const globalBus = globalThis as typeof globalThis & { [BUS_KEY]?: SessionBus };
export const bus: SessionBus = (globalBus[BUS_KEY] ??= createMemorySessionBus());

export const sessionRouter = createSessionRouter({
  dsn,
  dsnArgs,
  sessionParams,
  params: sessionParamDefinitions,
  privateParams: [...PRIVATE_PARAMS],
  bus,
  idleExpiry: SESSION_TTL,
});

export type DemoRouter = typeof sessionRouter;

/** The request's session: read-only in server components, read-write in server actions. */
export async function demoSession(mode?: GetSessionMode): Promise<Session> {
  const session = await getSession({ dsn, dsnArgs, sessionParams, bus, mode });
  // A session a server action creates (stored only once it sets a param) lasts as long as one
  // the router creates.
  if (session.isNew() && !session.isEmpty()) session.expire(SESSION_TTL);
  return session;
}
