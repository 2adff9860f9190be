import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TRPCClientError, createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';
import { Session, isSessionError } from '@isosession/server';
import type { DsnArgs } from '@isosession/server';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { deleteKeys, randomPrefix } from '@isosession/test-support/redisServer';
import { createNodeSessionContext } from './createNodeSessionContext.js';
import { createSessionContext } from './createSessionContext.js';
import { createCookieFetch } from '@isosession/test-support/cookieFetch';
import { createFetchEventSource } from '@isosession/test-support/fetchEventSource';
import { serveFetch } from '@isosession/test-support/serveFetch';
import type { FetchServer } from '@isosession/test-support/serveFetch';
import { PRIVATE, createTestRouter, tempStore } from './testing/testRouter.js';
import type { TestRouter } from './testing/testRouter.js';

/** A browser: its own cookie jar, a tRPC client (batched queries, SSE subscriptions). */
function browserClient(origin: string) {
  const jar = createCookieFetch();
  const streamed: string[] = [];
  const url = `${origin}/trpc`;
  const client = createTRPCClient<TestRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url, transformer: superjson, EventSource: createFetchEventSource(jar.fetch, streamed) }),
        false: httpBatchLink({ url, transformer: superjson, fetch: jar.fetch }),
      }),
    ],
  });
  return { client, jar, streamed };
}

async function clientError(pending: Promise<unknown>) {
  const error = await pending.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<TestRouter>;
}

interface StoreUnderTest {
  name: string;
  available: () => Promise<boolean>;
  setup: () => Promise<{ dsn: string; dsnArgs: DsnArgs; cleanup: () => Promise<void> }>;
}

/** Whether `driver:redis` is registered yet (the redis driver ships separately). */
async function redisDriverRegistered(): Promise<boolean> {
  try {
    await Session.load('driver:redis', null, { Url: SERVICE_URLS.redis, Prefix: randomPrefix('probe') });
    return true;
  } catch (error) {
    if (isSessionError(error) && error.code === 'INVALID_DSN') return false;
    return true;
  }
}

const stores: StoreUnderTest[] = [
  {
    name: 'file',
    available: async () => true,
    async setup() {
      const store = tempStore();
      return { dsn: 'driver:file;serializer:superjson', dsnArgs: store.dsnArgs, cleanup: async () => store.remove() };
    },
  },
  {
    name: 'redis',
    available: async () => (await serviceAvailable('redis')) && (await redisDriverRegistered()),
    async setup() {
      const prefix = randomPrefix('trpc');
      return {
        dsn: 'driver:redis;serializer:superjson',
        dsnArgs: { Url: SERVICE_URLS.redis, Prefix: prefix },
        async cleanup() {
          const client = new Redis(SERVICE_URLS.redis);
          try {
            await deleteKeys(client, prefix);
          } finally {
            client.disconnect();
          }
        },
      };
    },
  },
];

for (const store of stores) {
  describe.runIf(await store.available())(`session router over HTTP (fetch adapter, ${store.name} store)`, () => {
    let server: FetchServer;
    let router: TestRouter;
    let config: Awaited<ReturnType<StoreUnderTest['setup']>>;

    beforeAll(async () => {
      config = await store.setup();
      router = createTestRouter({ dsn: config.dsn, dsnArgs: config.dsnArgs });
      server = await serveFetch((req) =>
        fetchRequestHandler({ endpoint: '/trpc', req, router, createContext: createSessionContext }),
      );
    });
    afterAll(async () => {
      await server.close();
      await config.cleanup();
    });

    it('sets an HttpOnly, SameSite=Lax cookie with the session id and keeps responses out of caches', async () => {
      const { client, jar } = browserClient(server.origin);
      const snapshot = await client.set.mutate({ name: 'counter', value: 0 });
      const id = jar.jar.get('CGISESSID') as string;
      expect(jar.setCookies[0]).toMatch(new RegExp(`^CGISESSID=${id}; Max-Age=(86400|86399); Path=/; Expires=[^;]+; HttpOnly; SameSite=Lax$`)); // 86399: a second boundary passed after the load
      expect((await client.get.query()).tag).toBe(snapshot.tag);
    });

    it('enforces the schemas: BAD_REQUEST with the issues in error.data, FORBIDDEN for read-only', async () => {
      const { client } = browserClient(server.origin);
      const bad = await clientError(client.set.mutate({ name: 'cart', value: [{ sku: '', qty: 1.5 }] }));
      expect(bad.data?.code).toBe('BAD_REQUEST');
      expect(bad.data?.httpStatus).toBe(400);
      expect(bad.data?.param).toBe('cart');
      expect(bad.data?.issues?.map((issue) => issue.path)).toEqual(expect.arrayContaining([[0, 'sku'], [0, 'qty']]));
      const readOnly = await clientError(client.set.mutate({ name: 'user', value: 'mallory' } as never));
      expect(readOnly.data?.code).toBe('FORBIDDEN');
      expect(readOnly.data?.httpStatus).toBe(403);
      const unknown = await clientError(client.clear.mutate({ names: ['nope'] as never }));
      expect(unknown.data?.code).toBe('BAD_REQUEST');
      expect((await client.get.query()).params).toMatchObject({ cart: [], user: null });
    });

    it('writes, clears and round-trips values (Date via superjson) through one batch', async () => {
      const { client } = browserClient(server.origin);
      const when = new Date('2026-05-06T07:08:09.000Z');
      const [a, b, c] = await Promise.all([
        client.set.mutate({ name: 'cart', value: [{ sku: 'tea', qty: 2 }] }),
        client.set.mutate({ name: 'lastSeen', value: when }),
        client.set.mutate({ name: 'theme', value: 'dark' }),
      ]);
      expect(new Set([a.tag, b.tag, c.tag]).size).toBe(1);
      const snapshot = await client.get.query();
      expect(snapshot.params.cart).toEqual([{ sku: 'tea', qty: 2 }]);
      expect(snapshot.params.lastSeen).toEqual(when);
      expect(snapshot.params.theme).toBe('dark');
      expect((await client.clear.mutate({ names: ['theme'] })).params.theme).toBe('light');
    });

    it('private params never appear in any response, streamed ones included', async () => {
      const { client, jar, streamed } = browserClient(server.origin);
      await client.set.mutate({ name: 'counter', value: 0 });
      const session = await Session.load(config.dsn, jar.jar.get('CGISESSID') as string, config.dsnArgs);
      session.param({ userId: PRIVATE.userId, csrfSecret: PRIVATE.csrfSecret, user: 'ada' });
      await session.flush();

      const seen: unknown[] = [];
      const subscription = client.watch.subscribe(undefined, { onData: (event) => seen.push(event) });
      await expect.poll(() => seen.length).toBeGreaterThan(0);
      await client.set.mutate({ name: 'theme', value: 'dark' });
      await expect.poll(() => seen.length).toBeGreaterThan(1);
      subscription.unsubscribe();
      await client.get.query();
      await client.clear.mutate({ names: ['theme'] });
      await clientError(client.set.mutate({ name: 'userId', value: PRIVATE.userId } as never));
      await client.destroy.mutate();

      const everything = [...jar.bodies, ...streamed, ...jar.setCookies].join('\n');
      expect(streamed.length).toBeGreaterThan(1);
      expect(everything).toContain('ada');
      expect(everything).not.toContain(PRIVATE.userId);
      expect(everything).not.toContain(PRIVATE.csrfSecret);
      expect(everything).not.toContain('csrfSecret');
    });

    it('watch streams this session\'s changes made by another client over SSE', async () => {
      const a = browserClient(server.origin);
      await a.client.set.mutate({ name: 'counter', value: 0 });
      const b = browserClient(server.origin);
      b.jar.jar.set('CGISESSID', a.jar.jar.get('CGISESSID') as string);
      const seen: { version: number; theme: string }[] = [];
      const subscription = a.client.watch.subscribe(undefined, {
        onData: ({ data }) => seen.push({ version: data.version, theme: data.params.theme }),
      });
      await expect.poll(() => seen.length).toBe(1);
      await b.client.set.mutate({ name: 'theme', value: 'dark' });
      await expect.poll(() => seen.at(-1)?.theme).toBe('dark');
      expect(seen.at(-1)!.version).toBeGreaterThan(seen[0]!.version);
      subscription.unsubscribe();
    });

    it('destroy replaces the cookie with a fresh session', async () => {
      const { client, jar } = browserClient(server.origin);
      const { tag } = await client.set.mutate({ name: 'theme', value: 'dark' });
      const id = jar.jar.get('CGISESSID') as string;
      const fresh = await client.destroy.mutate();
      expect(fresh.tag).not.toBe(tag);
      expect(jar.jar.get('CGISESSID')).toBeUndefined();
      expect((await Session.load(config.dsn, id, config.dsnArgs)).isEmpty()).toBe(true);
    });

    it('a call carrying a cookie a login replaced moments ago: 409 STALE, no Set-Cookie, nothing minted; the retry with the new cookie lands', async () => {
      const { client, jar } = browserClient(server.origin);
      await client.set.mutate({ name: 'theme', value: 'dark' });
      const oldId = jar.jar.get('CGISESSID')!;
      // The login, in another request of this browser, whose response has not arrived yet.
      const login = await Session.new(config.dsn, new Request(server.origin, { headers: { cookie: `CGISESSID=${oldId}` } }), config.dsnArgs);
      login.regenerate();
      login.param('user', 'erin');
      await login.flush();
      const cookiesBefore = jar.setCookies.length;
      for (const call of [
        () => client.set.mutate({ name: 'cart', value: [{ sku: 'mug', qty: 1 }] }),
        () => client.clear.mutate({ names: ['theme'] }),
        () => client.get.query(),
        () => client.destroy.mutate(),
      ]) {
        const stale = await clientError(call());
        expect(stale.data?.httpStatus).toBe(409);
        expect(stale.data?.sessionCode).toBe('STALE');
        expect(stale.message).toMatch(/login or logout replaced .* retry with the current cookie/);
      }
      expect(jar.setCookies.length).toBe(cookiesBefore);
      expect(jar.jar.get('CGISESSID')).toBe(oldId);
      // The login's response arrives; the browser retries with the cookie it now holds.
      jar.jar.set('CGISESSID', login.id()!);
      const retried = await client.set.mutate({ name: 'cart', value: [{ sku: 'mug', qty: 1 }] });
      expect(retried.params).toMatchObject({ cart: [{ sku: 'mug', qty: 1 }], user: 'erin', theme: 'dark' });
      expect(jar.jar.get('CGISESSID')).toBe(login.id());
    });

    it('refuses a cross-site write with 403', async () => {
      const { jar } = browserClient(server.origin);
      const response = await jar.fetch(`${server.origin}/trpc/set`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
        body: JSON.stringify({ json: { name: 'theme', value: 'dark' } }),
      });
      expect(response.status).toBe(403);
    });
  });
}

describe('session router on the Node adapter (createNodeSessionContext)', () => {
  let store: ReturnType<typeof tempStore>;
  let origin: string;
  let close: () => Promise<void>;

  beforeEach(async () => {
    store = tempStore();
    const router = createTestRouter({ dsnArgs: store.dsnArgs });
    const server = createHTTPServer({ router, createContext: createNodeSessionContext, basePath: '/trpc/' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    close = () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  });
  afterEach(async () => {
    await close();
    store.remove();
  });

  it('sets the cookie through the Node response and reads it back', async () => {
    const { client, jar } = browserClient(origin);
    const first = await client.set.mutate({ name: 'counter', value: 7 });
    expect(jar.jar.get('CGISESSID')).toMatch(/^[0-9a-f]{32}$/);
    const again = await client.get.query();
    expect(again).toMatchObject({ tag: first.tag, isNew: false, params: { counter: 7 } });
    const bad = await clientError(client.set.mutate({ name: 'counter', value: 1.5 }));
    expect(bad.data?.code).toBe('BAD_REQUEST');
  });
});
