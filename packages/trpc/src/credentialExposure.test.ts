import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import superjson from 'superjson';
import { Session } from '@isosession/server';
import type { SessionParams } from '@isosession/server';
import { createSessionContext } from './createSessionContext.js';
import { createCookieFetch } from '@isosession/test-support/cookieFetch';
import { createFetchEventSource } from '@isosession/test-support/fetchEventSource';
import { serveFetch } from '@isosession/test-support/serveFetch';
import type { FetchServer } from '@isosession/test-support/serveFetch';
import { createTestRouter, tempStore } from './testing/testRouter.js';
import type { TestRouter } from './testing/testRouter.js';

// The attack: a script in alice's page (XSS, a third-party script) reads the session id from
// an answer of the session router and replays it from another machine. HttpOnly keeps the
// cookie from scripts; no answer, event or snapshot may hand it to them another way.

const SECRET = 'a-signing-secret-of-32-characters-or-more-7f3c1e';

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

for (const [label, sessionParams] of [
  ['unsigned ids', {}],
  ['signed ids (secret)', { secret: SECRET }],
] as [string, SessionParams][]) {
  describe(`the credential never reaches page JavaScript (${label})`, () => {
    const store = tempStore();
    const dsn = 'driver:file;serializer:superjson';
    let server: FetchServer;

    beforeAll(async () => {
      const router = createTestRouter({ dsn, dsnArgs: store.dsnArgs, sessionParams });
      server = await serveFetch((req) => fetchRequestHandler({ endpoint: '/trpc', req, router, createContext: createSessionContext }));
    });
    afterAll(async () => {
      await server.close();
      store.remove();
    });

    it('a script reading every answer of alice\'s page finds neither her id nor her cookie, and what it finds replays as nobody', async () => {
      const alice = browserClient(server.origin);
      await alice.client.set.mutate({ name: 'theme', value: 'dark' });
      const cookie = alice.jar.jar.get('CGISESSID') as string;
      const id = sessionParams.secret ? cookie.slice(0, cookie.lastIndexOf('.')) : cookie;
      // Alice logs in: server code marks her session (as a server action would).
      const session = await Session.load(dsn, id, store.dsnArgs, sessionParams);
      session.param('user', 'alice');
      await session.flush();

      const events: unknown[] = [];
      const subscription = alice.client.watch.subscribe(undefined, { onData: (event) => events.push(event) });
      await expect.poll(() => events.length).toBe(1);
      await alice.client.set.mutate({ name: 'counter', value: 1 });
      await expect.poll(() => events.length).toBe(2);
      subscription.unsubscribe();
      const seen = [
        await alice.client.get.query(),
        await alice.client.clear.mutate({ names: ['counter'] }),
      ];
      expect(seen[0]?.params.user).toBe('alice');

      const everything = [...alice.jar.bodies, ...alice.streamed].join('\n');
      expect(alice.streamed.length).toBeGreaterThan(0);
      expect(everything).not.toContain(id);
      expect(everything).not.toContain(cookie);
      expect(everything).toContain(seen[0]!.tag);

      // Mallory replays every token the script collected, as the cookie, from her machine.
      const tokens = new Set(everything.match(/[A-Za-z0-9_.-]{16,}/g) ?? []);
      expect(tokens.size).toBeGreaterThan(0);
      for (const token of tokens) {
        const mallory = browserClient(server.origin);
        mallory.jar.jar.set('CGISESSID', token);
        expect((await mallory.client.get.query()).params.user).toBeNull();
      }
      // The session itself is untouched and still alice's.
      expect((await alice.client.get.query()).params.user).toBe('alice');
    });

    it('destroy (logout) and the next session\'s first write answer without an id or cookie either', async () => {
      const bob = browserClient(server.origin);
      await bob.client.set.mutate({ name: 'theme', value: 'dark' });
      const old = bob.jar.jar.get('CGISESSID') as string;
      const fresh = await bob.client.destroy.mutate();
      expect(fresh.tag).toMatch(/^[A-Za-z0-9_-]{22}$/);
      await bob.client.set.mutate({ name: 'theme', value: 'dark' });
      const cookie = bob.jar.jar.get('CGISESSID') as string;
      expect(cookie).not.toBe(old);
      for (const body of bob.jar.bodies) {
        expect(body).not.toContain(old);
        expect(body).not.toContain(cookie);
      }
    });

    it('the tag is stable for one session across routers (processes) sharing the store, and differs between sessions', async () => {
      const one = browserClient(server.origin);
      const first = await one.client.set.mutate({ name: 'theme', value: 'dark' });
      const other = createTestRouter({ dsn, dsnArgs: store.dsnArgs, sessionParams });
      const again = await other
        .createCaller(createSessionContext({ req: new Request('http://app.test/trpc', { headers: { cookie: `CGISESSID=${one.jar.jar.get('CGISESSID')}` } }), resHeaders: new Headers() }))
        .get();
      expect(again.tag).toBe(first.tag);
      const two = browserClient(server.origin);
      expect((await two.client.set.mutate({ name: 'theme', value: 'dark' })).tag).not.toBe(first.tag);
    });
  });
}
