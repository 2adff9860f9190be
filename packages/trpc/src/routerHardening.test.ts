import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyTRPCRouter } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { readdirSync } from 'node:fs';
import superjson from 'superjson';
import { z } from 'zod';
import { Session } from '@isosession/server';
import { createSessionRouter } from './createSessionRouter.js';
import { createSessionFetchHandler } from './createSessionFetchHandler.js';
import { createSessionContext } from './createSessionContext.js';
import { createMemorySessionBus } from './SessionBus.js';
import { createTestRouter, tempStore } from './testing/testRouter.js';
import type { TestRouterOptions } from './testing/testRouter.js';

// Attacks on the router that each used to get through; every test names its attack.

let store: ReturnType<typeof tempStore>;
beforeEach(() => {
  store = tempStore();
});
afterEach(() => store.remove());

function options(extra: Partial<TestRouterOptions> = {}): TestRouterOptions {
  return { dsnArgs: store.dsnArgs, ...extra };
}

/** One HTTP call to the router through tRPC's fetch adapter. */
async function http(router: AnyTRPCRouter, path: string, init: RequestInit & { url?: string } = {}) {
  const response = await fetchRequestHandler({
    endpoint: '/trpc',
    req: new Request(`${init.url ?? 'http://app.test'}/trpc/${path}`, init),
    router,
    createContext: createSessionContext,
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** Figures for RELIABILITY.md's hardening table, printed with the test output. */
function recordHardening(attack: string, figures: Record<string, number>): void {
  process.stdout.write(`hardening figures: ${attack}: ${JSON.stringify(figures)}\n`);
}

const setBody = (name: string, value: unknown) => JSON.stringify(superjson.serialize({ name, value }));

describe('error answers carry no stack trace', () => {
  it('a refused write answers without data.stack (server paths), whatever NODE_ENV says; exposeErrorStack: true opts in', async () => {
    expect(process.env.NODE_ENV).not.toBe('production');
    const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: setBody('nope', 1) };
    const refused = await http(createTestRouter(options()), 'set', post);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error.json.data).not.toHaveProperty('stack');
    expect(refused.text).not.toContain(process.cwd());
    const debugging = await http(createTestRouter({ ...options(), exposeErrorStack: true }), 'set', post);
    expect(JSON.parse(debugging.text).error.json.data.stack).toContain('createSessionRouter');
  });
});

describe('private param names cannot be probed', () => {
  it('a write to a private name answers exactly as one to an unknown name (status, code and message)', async () => {
    const router = createTestRouter(options());
    const answer = async (name: string) => {
      const { status, text } = await http(router, 'set', { method: 'POST', headers: { 'content-type': 'application/json' }, body: setBody(name, 'x') });
      const error = JSON.parse(text).error.json;
      return { status, code: error.data.code, message: String(error.message).replace(`"${name}"`, '"NAME"') };
    };
    const unknown = await answer('nope');
    expect(unknown.status).toBe(400);
    expect(await answer('userId')).toEqual(unknown);
    expect(await answer('csrfSecret')).toEqual(unknown);
    expect(await answer('_SESSION_ID')).toEqual(unknown);
    const clear = async (name: string) => (await http(router, 'clear', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(superjson.serialize({ names: [name] })) })).status;
    expect(await clear('userId')).toBe(await clear('nope'));
  });
});

describe('CSRF compares the scheme too', () => {
  it('an http page (where a network attacker injects script) cannot change the session of the https site; a TLS-terminating proxy still can', async () => {
    const router = createTestRouter(options());
    const write = (url: string, origin: string, headers: Record<string, string> = {}) =>
      http(router, 'set', { url, method: 'POST', headers: { 'content-type': 'application/json', origin, ...headers }, body: setBody('theme', 'dark') });
    const downgraded = await write('https://app.test', 'http://app.test');
    expect(downgraded.status).toBe(403);
    expect(JSON.parse(downgraded.text).error.json.message).toContain('is not https');
    expect((await write('https://app.test', 'https://app.test')).status).toBe(200);
    // Behind a proxy that ends TLS the request arrives as http, from an https page.
    expect((await write('http://app.test', 'https://app.test')).status).toBe(200);
    // With trustProxy, X-Forwarded-Proto says the visitor came over https.
    const proxied = createTestRouter({ ...options(), sessionParams: { trustProxy: true } });
    const forwarded = await http(proxied, 'set', {
      url: 'http://app.test',
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://app.test', 'x-forwarded-proto': 'https' },
      body: setBody('theme', 'dark'),
    });
    expect(forwarded.status).toBe(403);
  });
});

describe('a forged bus message cannot end other sessions\' watch streams', () => {
  it('a "deleted" the store does not confirm is ignored: the stream stays and keeps delivering; a real logout still ends it', async () => {
    const bus = createMemorySessionBus();
    const router = createTestRouter({ ...options(), bus });
    const resHeaders = new Headers();
    await router.createCaller(createSessionContext({ req: new Request('http://app.test/trpc'), resHeaders })).set({ name: 'counter', value: 1 });
    const id = /^CGISESSID=([^;]*)/.exec(resHeaders.getSetCookie()[0] ?? '')?.[1] as string;
    const caller = () => router.createCaller(createSessionContext({ req: new Request('http://app.test/trpc', { headers: { cookie: `CGISESSID=${id}`, origin: 'http://app.test' } }), resHeaders: new Headers() }));
    const stream = (await caller().watch())[Symbol.asyncIterator]();
    const next = async () => {
      const result = await stream.next();
      return result.done ? undefined : ((result.value as unknown as [string, { params: { counter: number } }])[1]);
    };
    expect((await next())?.params.counter).toBe(1);

    // The attacker publishes "deleted" for the session (e.g. PUBLISH on the Redis channel).
    await bus.publish({ id, version: 0, deleted: true });
    await caller().set({ name: 'counter', value: 2 });
    expect((await next())?.params.counter).toBe(2);

    await caller().destroy();
    expect(await next()).toBeUndefined();
  });
});

describe('a value the schema accepts but the wire format cannot carry', () => {
  function prefsRouter() {
    return createSessionRouter({
      dsn: 'driver:file',
      dsnArgs: store.dsnArgs,
      params: {
        prefs: { schema: z.record(z.string(), z.boolean()), default: {}, writable: true },
        theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
      },
    });
  }
  const post = (body: unknown, cookie?: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(superjson.serialize(body)),
  });

  it('{"constructor": true} through a z.record is refused at set with 400, and nothing is stored', async () => {
    const router = prefsRouter();
    // Sent as plain JSON: superjson on the client would refuse to send it, an attacker's curl does not.
    const refused = await fetchRequestHandler({
      endpoint: '/trpc',
      req: new Request('http://app.test/trpc/set', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"json":{"name":"prefs","value":{"constructor":true}}}' }),
      router,
      createContext: createSessionContext,
    });
    expect(refused.status).toBe(400);
    const error = (await refused.json()).error.json;
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', param: 'prefs', issues: [{ path: ['constructor'] }] });
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(readdirSync(store.directory)).toEqual([]);
    // The other refused key (a JSON "__proto__" is dropped before the schema sees it).
    for (const value of ['{"prototype":true}']) {
      const nested = await fetchRequestHandler({
        endpoint: '/trpc',
        req: new Request('http://app.test/trpc/set', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"json":{"name":"prefs","value":${value}}}` }),
        router,
        createContext: createSessionContext,
      });
      expect({ value, status: nested.status }).toEqual({ value, status: 400 });
    }
    expect(readdirSync(store.directory)).toEqual([]);
  });

  it('a session already holding such a value still answers get and set (that param reads as its default, with a warning), never 500', async () => {
    const router = prefsRouter();
    const created = await http(router, 'set', post({ name: 'theme', value: 'dark' }));
    const cookie = created.headers.getSetCookie()[0]?.split(';')[0] as string;
    // Stored by an older version, or by server code.
    const session = await Session.load('driver:file', cookie.split('=')[1] as string, store.dsnArgs);
    session.param('prefs', { constructor: true, email: true });
    await session.flush();

    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const got = await http(router, 'get', { headers: { cookie } });
      expect(got.status).toBe(200);
      expect(superjson.deserialize<{ params: { prefs: object; theme: string } }>(JSON.parse(got.text).result.data).params).toEqual({ prefs: {}, theme: 'dark' });
      const set = await http(router, 'set', post({ name: 'theme', value: 'light' }, cookie));
      expect(set.status).toBe(200);
      const replaced = await http(router, 'set', post({ name: 'prefs', value: { email: false } }, cookie));
      expect(replaced.status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.join('\n')).toContain('"prefs"');
    expect((await Session.load('driver:file', cookie.split('=')[1] as string, store.dsnArgs)).param('prefs')).toEqual({ email: false });
  });
});

describe('ipMatch on the fetch entry point', () => {
  function addressed(router: AnyTRPCRouter) {
    // What a fetch runtime knows of the client (e.g. Bun's server.requestIP, Deno's info.remoteAddr).
    return (path: string, address: string | undefined, init: RequestInit = {}) =>
      fetchRequestHandler({
        endpoint: '/trpc',
        req: new Request(`http://app.test/trpc/${path}`, init),
        router,
        createContext: ({ req, resHeaders }) => createSessionContext({ req, resHeaders, remoteAddr: address }),
      });
  }

  it('a session made through the tRPC fetch handler is bound to its address: its cookie replayed from elsewhere gets nothing', async () => {
    const call = addressed(createTestRouter({ ...options(), sessionParams: { ipMatch: true } }));
    const created = await call('set', '10.0.0.1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: setBody('theme', 'dark') });
    expect(created.status).toBe(200);
    const cookie = created.headers.getSetCookie()[0]?.split(';')[0] as string;
    const stolen = await call('get', '10.6.6.6', { headers: { cookie } });
    expect(superjson.deserialize<{ params: { theme: string } }>((await stolen.json()).result.data).params.theme).toBe('light');
  });

  it('with ipMatch on and no address, the call fails with a SessionError that says what to pass, instead of skipping the check', async () => {
    const router = createTestRouter({ ...options(), sessionParams: { ipMatch: true } });
    const caller = router.createCaller(createSessionContext({ req: new Request('http://app.test/trpc'), resHeaders: new Headers() }));
    const error = (await caller.set({ name: 'theme', value: 'dark' }).then(() => undefined, (e: unknown) => e)) as { code: string; cause: unknown };
    expect(error.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error.cause).toMatchObject({ name: 'SessionError', code: 'INVALID_ARGUMENT', message: expect.stringMatching(/ipMatch is on, but this request carries no client address/) });
    expect(readdirSync(store.directory)).toEqual([]);
  });
});

describe('request bodies are limited while read, and the Origin is checked before', () => {
  /** A body of `mb` MB sent chunked (no Content-Length), counting how much of it was read. */
  function hugeBody(mb: number) {
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const state = { pulled: 0 };
    const total = Math.ceil((mb * 1024 * 1024) / chunk.byteLength);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (state.pulled >= total) return controller.close();
        state.pulled++;
        controller.enqueue(chunk);
      },
    });
    return { body, state, readBytes: () => state.pulled * chunk.byteLength };
  }

  it('a 200 MB body to set answers 413 after reading ~100 kB, in bounded memory and time; the session is untouched', async () => {
    const handler = createSessionFetchHandler(createTestRouter(options()), { endpoint: '/trpc' });
    const huge = hugeBody(200);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const response = await handler(new Request('http://app.test/trpc/set', { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge.body, duplex: 'half' } as RequestInit));
    const ms = performance.now() - started;
    const rssMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    expect(response.status).toBe(413);
    expect((await response.json()).error.json.data.code).toBe('PAYLOAD_TOO_LARGE');
    expect(huge.readBytes()).toBeLessThan(300_000);
    expect(rssMb).toBeLessThan(50);
    expect(ms).toBeLessThan(2_000);
    expect(readdirSync(store.directory)).toEqual([]);
    recordHardening('router: 200 MB chunked body to set', { readBytes: huge.readBytes(), rssMb: Math.round(rssMb), ms: Math.round(ms), status: response.status });
    // A body under the limit still works.
    const ok = await handler(new Request('http://app.test/trpc/set', { method: 'POST', headers: { 'content-type': 'application/json' }, body: setBody('theme', 'dark') }));
    expect(ok.status).toBe(200);
  });

  it('a cross-site 200 MB body is refused (403) before its body is read', async () => {
    const handler = createSessionFetchHandler(createTestRouter(options()), { endpoint: '/trpc', maxBodyBytes: false });
    const huge = hugeBody(200);
    const response = await handler(new Request('http://app.test/trpc/set', { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: huge.body, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(403);
    expect(huge.readBytes()).toBeLessThan(300_000);
  });
});
