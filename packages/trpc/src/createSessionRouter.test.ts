import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { z } from 'zod';
import { Session } from '@isosession/server';
import { createSessionContext } from './createSessionContext.js';
import { createSessionRouter } from './createSessionRouter.js';
import { defineSessionParams } from './params.js';
import { sessionSnapshot } from './sessionSnapshot.js';
import { createMemorySessionBus } from './SessionBus.js';
import { PRIVATE, createTestRouter, tempStore } from './testing/testRouter.js';
import type { TestRouter, TestRouterOptions } from './testing/testRouter.js';

const ORIGIN = 'http://app.test';

/** One browser talking to the router through createCaller: it keeps the cookie it is sent. */
function browser(router: TestRouter) {
  let cookie: string | undefined;
  const responses: Headers[] = [];
  return {
    get cookie() {
      return cookie;
    },
    set cookie(value) {
      cookie = value;
    },
    responses,
    caller(headers: Record<string, string> = {}) {
      const reqHeaders = new Headers(headers);
      if (cookie !== undefined && !reqHeaders.has('cookie')) reqHeaders.set('cookie', `CGISESSID=${cookie}`);
      const resHeaders = new Headers();
      responses.push(resHeaders);
      const ctx = createSessionContext({ req: new Request(`${ORIGIN}/trpc`, { headers: reqHeaders }), resHeaders });
      const caller = router.createCaller(ctx);
      return new Proxy(caller, {
        get(target, key) {
          const procedure = Reflect.get(target, key) as (...args: unknown[]) => Promise<unknown>;
          if (typeof procedure !== 'function') return procedure;
          return async (...args: unknown[]) => {
            try {
              return await procedure(...args);
            } finally {
              for (const line of resHeaders.getSetCookie()) {
                const value = /^CGISESSID=([^;]*)/.exec(line)?.[1];
                cookie = value === '' || value === undefined ? undefined : value;
              }
            }
          };
        },
      }) as typeof caller;
    },
  };
}

async function rejection(pending: Promise<unknown>): Promise<TRPCError> {
  const error = await pending.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe('createSessionRouter through createCaller (file store)', () => {
  let store: ReturnType<typeof tempStore>;
  let router: TestRouter;
  let options: TestRouterOptions;

  beforeEach(() => {
    store = tempStore();
    options = { dsnArgs: store.dsnArgs };
    router = createTestRouter(options);
  });
  afterEach(() => store.remove());

  const load = (id: string) => Session.load('driver:file', id, store.dsnArgs);

  it('cookie-less gets store nothing: 200 visits leave no file, no cookie; the first write creates the session with the default idle expiry', async () => {
    for (let i = 0; i < 200; i++) {
      const visitor = browser(router);
      const answer = await visitor.caller().get();
      expect(answer).toMatchObject({ isNew: true, params: { theme: 'light', cart: [], counter: 0, lastSeen: null, user: null } });
      expect(visitor.responses[0]!.getSetCookie()).toEqual([]);
      expect(visitor.responses[0]!.get('cache-control')).toBe('no-store');
    }
    expect(readdirSync(store.directory)).toEqual([]);
    // Clearing what a visitor never had, and logging out without a session, store nothing either.
    const b = browser(router);
    await b.caller().clear({ names: ['theme'] });
    await b.caller().destroy();
    expect(readdirSync(store.directory)).toEqual([]);
    expect(b.cookie).toBeUndefined();

    const first = await b.caller().set({ name: 'theme', value: 'dark' });
    const id = b.cookie as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(first.tag).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(first.isNew).toBe(true);
    expect(b.responses.at(-1)!.getSetCookie()[0]).toMatch(new RegExp(`^CGISESSID=${id}; Max-Age=(86400|86399); .*HttpOnly`, 'i')); // 86399: a second boundary passed after the load
    expect((await load(id)).expire()).toBe(24 * 3600);
    expect(readdirSync(store.directory)).toHaveLength(1);

    const second = await b.caller().get();
    expect(second.tag).toBe(first.tag);
    expect(second.isNew).toBe(false);
    // Configurable, and off with false.
    const custom = browser(createTestRouter({ ...options, idleExpiry: '30m' }));
    await custom.caller().set({ name: 'theme', value: 'dark' });
    expect((await load(custom.cookie as string)).expire()).toBe(1800);
    const none = browser(createTestRouter({ ...options, idleExpiry: false }));
    await none.caller().set({ name: 'theme', value: 'dark' });
    expect((await load(none.cookie as string)).expire()).toBeUndefined();
    expect(() => createTestRouter({ ...options, idleExpiry: 'soon' })).toThrow(/soon/);
  });

  it('set stores a valid value, returns the new snapshot with a higher version', async () => {
    const b = browser(router);
    const before = await b.caller().get();
    const after = await b.caller().set({ name: 'theme', value: 'dark' });
    expect(after.params.theme).toBe('dark');
    expect(after.version).toBeGreaterThan(before.version);
    expect((await load(b.cookie as string)).param('theme')).toBe('dark');
  });

  it('superjson carries a Date param through set and get (with the superjson serializer in the store)', async () => {
    const b = browser(createTestRouter({ ...options, dsn: 'driver:file;serializer:superjson' }));
    const when = new Date('2026-01-02T03:04:05.000Z');
    await b.caller().set({ name: 'lastSeen', value: when });
    const snapshot = await b.caller().get();
    expect(snapshot.params.lastSeen).toBeInstanceOf(Date);
    expect(snapshot.params.lastSeen?.toISOString()).toBe(when.toISOString());
  });

  it('a value the schema refuses is BAD_REQUEST carrying the issues, and nothing is stored', async () => {
    const b = browser(router);
    await b.caller().set({ name: 'counter', value: 0 });
    const id = b.cookie as string;
    const error = await rejection(b.caller().set({ name: 'cart', value: [{ sku: 'a', qty: 0 }] }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain('"cart"');
    expect(error.cause).toMatchObject({ param: 'cart', issues: [expect.objectContaining({ path: [0, 'qty'] })] });
    expect((await load(id)).param('cart')).toBeUndefined();

    const wrongType = await rejection(b.caller().set({ name: 'theme', value: 42 as unknown as 'dark' }));
    expect(wrongType.code).toBe('BAD_REQUEST');
  });

  it('read-only and private params are FORBIDDEN, unknown names BAD_REQUEST', async () => {
    const b = browser(router);
    await b.caller().get();
    const set = (name: string) => b.caller().set({ name, value: 'x' } as never);
    expect((await rejection(set('user'))).code).toBe('FORBIDDEN');
    // Private names answer as unknown ones: a client cannot probe which exist.
    expect((await rejection(set('userId'))).code).toBe('BAD_REQUEST');
    expect((await rejection(set('_SESSION_ID'))).code).toBe('BAD_REQUEST');
    const unknown = await rejection(set('nope'));
    expect(unknown.code).toBe('BAD_REQUEST');
    expect(unknown.message).toContain('theme, cart, counter, lastSeen, user');
    expect((await rejection(b.caller().clear({ names: ['user'] as never }))).code).toBe('FORBIDDEN');
    expect((await rejection(b.caller().clear({ names: ['nope'] as never }))).code).toBe('BAD_REQUEST');
    expect((await rejection(b.caller().set({ theme: 'dark' } as never))).code).toBe('BAD_REQUEST');
  });

  it('private params set by server code never appear in any response', async () => {
    const b = browser(router);
    await b.caller().set({ name: 'counter', value: 0 });
    const id = b.cookie as string;
    const session = await load(id);
    session.param({ userId: PRIVATE.userId, csrfSecret: PRIVATE.csrfSecret, user: 'ada' });
    session.expire('csrfSecret', '1h');
    await session.flush();

    const outputs: unknown[] = [];
    outputs.push(await b.caller().get());
    outputs.push(await b.caller().set({ name: 'theme', value: 'dark' }));
    outputs.push(await b.caller().clear({ names: ['theme'] }));
    outputs.push(await rejection(b.caller().set({ name: 'userId', value: 'x' } as never)));
    const text = JSON.stringify(outputs) + b.responses.map((h) => [...h].join()).join();
    expect(text).toContain('ada');
    expect(text).not.toContain(PRIVATE.userId);
    expect(text).not.toContain(PRIVATE.csrfSecret);
    expect(text).not.toContain('csrfSecret');
    expect((outputs[0] as { params: object }).params).not.toHaveProperty('userId');
  });

  it('clear returns params to their defaults', async () => {
    const b = browser(router);
    await b.caller().set({ name: 'theme', value: 'dark' });
    await b.caller().set({ name: 'counter', value: 5 });
    const cleared = await b.caller().clear({ names: ['theme', 'counter'] });
    expect(cleared.params.theme).toBe('light');
    expect(cleared.params.counter).toBe(0);
  });

  it('S40: an expired session yields a fresh one, and the snapshot says so', async () => {
    let now = Date.UTC(2026, 0, 1);
    router = createTestRouter({ ...options, sessionParams: { now: () => now } });
    const b = browser(router);
    const { tag } = await b.caller().set({ name: 'theme', value: 'dark' });
    const id = b.cookie as string;
    const session = await Session.load('driver:file', id, store.dsnArgs, { now: () => now });
    session.expire('10m');
    await session.flush();

    now += 9 * 60 * 1000;
    const live = await b.caller().get();
    expect(live).toMatchObject({ tag, isNew: false, params: { theme: 'dark' } });

    now += 10 * 60 * 1000;
    const fresh = await b.caller().get();
    expect(fresh.tag).not.toBe(tag);
    expect(fresh.isNew).toBe(true);
    expect(fresh.params.theme).toBe('light');
    // Stored (and its cookie sent) once something is written to it.
    await b.caller().set({ name: 'theme', value: 'dark' });
    expect(b.cookie).not.toBe(id);
  });

  it('S43: per-param expiry shows as paramExpiresAt, and the param reads as its default once it lapses', async () => {
    let now = Date.UTC(2026, 0, 1);
    router = createTestRouter({ ...options, sessionParams: { now: () => now } });
    const b = browser(router);
    const { tag } = await b.caller().set({ name: 'theme', value: 'dark' });
    const id = b.cookie as string;
    const session = await Session.load('driver:file', id, store.dsnArgs, { now: () => now });
    session.expire('theme', '10m');
    session.expire('csrfSecret', '1m');
    session.expire('1h');
    await session.flush();

    const snapshot = await b.caller().get();
    const nowSeconds = Math.floor(now / 1000);
    expect(snapshot.paramExpiresAt).toEqual({ theme: nowSeconds + 600 });
    expect(snapshot.expiresAt).toBe(nowSeconds + 3600);

    now += 11 * 60 * 1000;
    const later = await b.caller().get();
    expect(later.tag).toBe(tag);
    expect(later.params.theme).toBe('light');
  });

  it('destroy removes the session and starts a fresh one', async () => {
    const b = browser(router);
    const { tag } = await b.caller().set({ name: 'theme', value: 'dark' });
    const id = b.cookie as string;
    const fresh = await b.caller().destroy();
    expect(fresh.tag).not.toBe(tag);
    expect(fresh.isNew).toBe(true);
    expect(fresh.params.theme).toBe('light');
    expect((await load(id)).isEmpty()).toBe(true);
    expect(b.cookie).not.toBe(id);
  });

  it('a new session is not stored when its cookie cannot be sent (no resHeaders)', async () => {
    const snapshot = await router.createCaller(createSessionContext({ req: new Request(ORIGIN) })).get();
    expect(snapshot.isNew).toBe(true);
    expect(readdirSync(store.directory)).toEqual([]);
  });

  it('a cookie a login replaced moments ago: a server-side get (no resHeaders) answers the defaults; a browser\'s get is STALE', async () => {
    const a = browser(router);
    await a.caller().set({ name: 'theme', value: 'dark' });
    const oldId = a.cookie!;
    const login = await Session.new('driver:file', new Request(ORIGIN, { headers: { cookie: `CGISESSID=${oldId}` } }), store.dsnArgs);
    login.regenerate();
    await login.flush();
    const before = readdirSync(store.directory).sort();
    const rendered = await router.createCaller(createSessionContext({ req: new Request(ORIGIN, { headers: { cookie: `CGISESSID=${oldId}` } }) })).get();
    expect(rendered).toMatchObject({ isNew: true, params: { theme: 'light' } });
    const stale = await rejection(a.caller().get());
    expect(stale.code).toBe('CONFLICT');
    expect(a.responses.at(-1)!.getSetCookie()).toEqual([]);
    expect(a.cookie).toBe(oldId);
    expect(readdirSync(store.directory).sort()).toEqual(before);
  });

  it('calls of one request share one session, even when the first one creates it', async () => {
    const resHeaders = new Headers();
    const ctx = createSessionContext({ req: new Request(`${ORIGIN}/trpc`), resHeaders });
    const caller = router.createCaller(ctx);
    const [b, c] = await Promise.all([caller.set({ name: 'theme', value: 'dark' }), caller.set({ name: 'counter', value: 3 })]);
    const a = await caller.get();
    expect(new Set([a.tag, b.tag, c.tag]).size).toBe(1);
    expect(c.params).toMatchObject({ theme: 'dark', counter: 3 });
    // One cookie per distinct value, not one per call.
    expect(resHeaders.getSetCookie().length).toBeLessThan(3);
    const cookie = /^CGISESSID=([^;]*)/.exec(resHeaders.getSetCookie()[0] ?? '')?.[1] as string;
    expect((await load(cookie)).param('counter')).toBe(3);
  });

  it('S54: concurrent requests changing different params lose nothing', async () => {
    const many = createSessionRouter({
      dsn: 'driver:file',
      dsnArgs: store.dsnArgs,
      params: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`p${i}`, { schema: z.number(), default: 0, writable: true as const }])),
    });
    const firstHeaders = new Headers();
    await many.createCaller(createSessionContext({ req: new Request(ORIGIN), resHeaders: firstHeaders })).set({ name: 'p0', value: 0 });
    const cookie = firstHeaders.getSetCookie()[0]?.split(';')[0] as string;
    const callerFor = () => many.createCaller(createSessionContext({ req: new Request(ORIGIN, { headers: { cookie } }) }));
    await Promise.all(Array.from({ length: 12 }, (_, i) => callerFor().set({ name: `p${i}`, value: i + 1 })));
    const final = await callerFor().get();
    expect(final.params).toEqual(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`p${i}`, i + 1])));
  });

  describe('CSRF', () => {
    it('refuses state changes from another origin or a cross-site fetch, allows its own origin', async () => {
      const b = browser(router);
      await b.caller().get();
      const evil = await rejection(b.caller({ origin: 'https://evil.example' }).set({ name: 'theme', value: 'dark' }));
      expect(evil.code).toBe('FORBIDDEN');
      expect(evil.message).toContain('cross-site');
      expect((await rejection(b.caller({ 'sec-fetch-site': 'cross-site' }).destroy())).code).toBe('FORBIDDEN');
      expect((await rejection(b.caller({ origin: 'null' }).clear({ names: ['theme'] }))).code).toBe('FORBIDDEN');
      const own = await b.caller({ origin: ORIGIN, host: 'app.test', 'sec-fetch-site': 'same-origin' }).set({ name: 'theme', value: 'dark' });
      expect(own.params.theme).toBe('dark');
      // Reads are not state changes.
      expect((await b.caller({ origin: 'https://evil.example' }).get()).params.theme).toBe('dark');
    });

    it('allowedOrigins and csrf: false open it up', async () => {
      const allowed = browser(createTestRouter({ ...options, csrf: { allowedOrigins: ['https://admin.example'] } }));
      expect((await allowed.caller({ origin: 'https://admin.example' }).set({ name: 'theme', value: 'dark' })).params.theme).toBe('dark');
      const open = browser(createTestRouter({ ...options, csrf: false }));
      expect((await open.caller({ origin: 'https://evil.example' }).set({ name: 'theme', value: 'dark' })).params.theme).toBe('dark');
    });
  });

  describe('watch', () => {
    it('pushes the current snapshot, then one per change of this session, and ends when it is destroyed', async () => {
      const bus = createMemorySessionBus();
      router = createTestRouter({ ...options, bus });
      const b = browser(router);
      const other = browser(router);
      await b.caller().set({ name: 'counter', value: 0 });
      other.cookie = b.cookie;
      const stream = await b.caller().watch();
      const envelopes = stream[Symbol.asyncIterator]();
      // createCaller hands out tracked() envelopes as they are: [id, data, symbol].
      const iterator = {
        async next() {
          const result = await envelopes.next();
          // The caller's types say { id, data }; at run time it is the envelope tuple.
          return result.done ? result : { done: false, value: (result.value as unknown as [string, unknown])[1] };
        },
      };
      const id = b.cookie as string;
      const first = await iterator.next();
      expect(first.value).toMatchObject({ params: { theme: 'light' } });

      await other.caller().set({ name: 'theme', value: 'dark' });
      const second = await iterator.next();
      expect(second.value).toMatchObject({ params: { theme: 'dark' }, isNew: false });

      // Server code publishing on the same bus reaches the watcher too.
      const session = await load(id);
      session.param('user', 'ada');
      await session.flush();
      bus.publish({ id, version: session.version() });
      const third = await iterator.next();
      expect(third.value).toMatchObject({ params: { user: 'ada' } });

      await other.caller().destroy();
      expect((await iterator.next()).done).toBe(true);
    });

    it('ends at once without a session, and never creates one', async () => {
      const b = browser(router);
      const stream = await b.caller().watch();
      expect((await stream[Symbol.asyncIterator]().next()).done).toBe(true);
      expect(b.cookie).toBeUndefined();
    });
  });

  it('accepts any Standard Schema validator, not only zod', async () => {
    const evenNumber: StandardSchemaV1<number> = {
      '~standard': {
        version: 1,
        vendor: 'hand-written',
        validate: (value) =>
          typeof value === 'number' && value % 2 === 0 ? { value } : { issues: [{ message: 'expected an even number' }] },
      },
    };
    const custom = createSessionRouter({ dsn: 'driver:file', dsnArgs: store.dsnArgs, params: { even: { schema: evenNumber, default: 0, writable: true } } });
    const caller = custom.createCaller(createSessionContext({ req: new Request(ORIGIN) }));
    expect((await caller.set({ name: 'even', value: 4 })).params.even).toBe(4);
    const error = await rejection(caller.set({ name: 'even', value: 3 }));
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.cause).toMatchObject({ issues: [{ message: 'expected an even number' }] });
  });

  it('defineSessionParams keeps writable literal, and sessionSnapshot shows server code what the browser sees', async () => {
    const params = defineSessionParams({
      theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
      user: { schema: z.string().nullable(), default: null },
    });
    const shared = createSessionRouter({ dsn: 'driver:file', dsnArgs: store.dsnArgs, params });
    const resHeaders = new Headers();
    const caller = shared.createCaller(createSessionContext({ req: new Request(ORIGIN), resHeaders }));
    const { tag } = await caller.set({ name: 'theme', value: 'dark' });
    const session = await load(/^CGISESSID=([^;]*)/.exec(resHeaders.getSetCookie()[0] ?? '')?.[1] as string);
    session.param('userId', PRIVATE.userId);
    expect(sessionSnapshot(session, params)).toMatchObject({ tag, isNew: false, params: { theme: 'dark', user: null } });
    expect(JSON.stringify(sessionSnapshot(session, params))).not.toContain(PRIVATE.userId);
    expect(() => defineSessionParams({ theme: { schema: z.string(), default: 1 as unknown as string } })).toThrow(/default of param "theme"/);
  });

  it('broken configuration fails at construction', () => {
    expect(() => createSessionRouter({ params: { theme: { schema: z.enum(['light', 'dark']), default: 'blue' as 'light' } } })).toThrow(/default of param "theme"/);
    expect(() => createSessionRouter({ params: { _SESSION_ID: { schema: z.string(), default: '' } } })).toThrow(/reserved/);
    expect(() => createSessionRouter({ params: { theme: { schema: {}, default: 'x' } } as never })).toThrow(/Standard Schema/);
  });

  it('a stored value the schema refuses reads as the default', async () => {
    const b = browser(router);
    await b.caller().set({ name: 'counter', value: 0 });
    const id = b.cookie as string;
    const session = await load(id);
    session.param('theme', 'purple');
    await session.flush();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      expect((await b.caller().get()).params.theme).toBe('light');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.join()).toContain('"theme"');
  });
});
