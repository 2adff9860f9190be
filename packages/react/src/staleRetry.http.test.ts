import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import superjson from 'superjson';
import { Session } from '@isosession/server';
import { createSessionContext } from '../../trpc/src/createSessionContext.js';
import { createCookieFetch } from '@isosession/test-support/cookieFetch';
import { serveFetch } from '@isosession/test-support/serveFetch';
import type { FetchServer } from '@isosession/test-support/serveFetch';
import { createTestRouter, tempStore } from '../../trpc/src/testing/testRouter.js';
import type { TestRouter } from '../../trpc/src/testing/testRouter.js';
import { createFetchTransport } from './createFetchTransport.js';
import { createTrpcTransport } from './createTrpcTransport.js';
import type { SessionTrpcClient } from './createTrpcTransport.js';
import { createSessionStore } from './store.js';
import type { SessionTransport } from './transport.js';

// The race from end to end over real HTTP: a cart write leaves with the pre-login cookie, the
// login regenerates the id while it travels, the write is refused STALE (no Set-Cookie), and
// the store sends it again with the cookie the browser holds by then.

type Params = { theme: 'light' | 'dark'; cart: { sku: string; qty: number }[]; counter: number; lastSeen: Date | null; user: string | null };

const store = tempStore();
const dsn = 'driver:file;serializer:superjson';
let server: FetchServer;

beforeAll(async () => {
  const router = createTestRouter({ dsn, dsnArgs: store.dsnArgs });
  server = await serveFetch((req) => fetchRequestHandler({ endpoint: '/trpc', req, router, createContext: createSessionContext }));
});
afterAll(async () => {
  await server.close();
  store.remove();
});

const transports: [string, (jar: ReturnType<typeof createCookieFetch>) => SessionTransport<Params>][] = [
  ['fetch transport', (jar) => createFetchTransport<Params>({ url: `${server.origin}/trpc`, fetch: jar.fetch })],
  ['tRPC transport', (jar) => createTrpcTransport<Params>(createTRPCClient<TestRouter>({ links: [httpBatchLink({ url: `${server.origin}/trpc`, transformer: superjson, fetch: jar.fetch })] }) as unknown as SessionTrpcClient<Params>)],
];

describe.each(transports)('a write racing a login (%s)', (_name, makeTransport) => {
  it('is refused STALE, keeps its optimistic value, is sent again with the new cookie and lands on the logged-in session', async () => {
    const jar = createCookieFetch();
    const sessions = createSessionStore<Params>({ transport: makeTransport(jar), staleRetryMs: 150 });
    await sessions.refresh();
    sessions.set('theme', 'dark');
    await sessions.settled();
    const oldId = jar.jar.get('CGISESSID')!;
    expect(oldId).toMatch(/^[0-9a-f]{32}$/);

    server.setLatency(100);
    try {
      sessions.set('cart', [{ sku: 'mug', qty: 1 }]);
      // While the write travels: the login (another request of this browser) regenerates the
      // id, and its response gives the browser the new cookie.
      const login = await Session.new(dsn, new Request(server.origin, { headers: { cookie: `CGISESSID=${oldId}` } }), store.dsnArgs);
      login.regenerate();
      login.param('user', 'erin');
      await login.flush();
      jar.jar.set('CGISESSID', login.id()!);
      const setCookiesBefore = jar.setCookies.length;

      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(sessions.getState().params.cart).toEqual([{ sku: 'mug', qty: 1 }]);
      await sessions.settled();
      expect(sessions.getState()).toMatchObject({ params: { cart: [{ sku: 'mug', qty: 1 }], user: 'erin', theme: 'dark' }, errors: {}, pending: {} });
      expect(server.requests.filter((path) => path.endsWith('/set'))).not.toHaveLength(0);
      // Every Set-Cookie since the login names the logged-in session; the jar still holds it.
      expect(jar.setCookies.slice(setCookiesBefore).every((line) => line.startsWith(`CGISESSID=${login.id()!};`))).toBe(true);
      expect(jar.jar.get('CGISESSID')).toBe(login.id());
      const stored = await Session.load(dsn, login.id()!, store.dsnArgs);
      expect(stored.param('cart')).toEqual([{ sku: 'mug', qty: 1 }]);
      expect(stored.param('user')).toBe('erin');
    } finally {
      server.setLatency(0);
    }
  });
});
