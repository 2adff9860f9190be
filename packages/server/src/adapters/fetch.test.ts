import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSessionError } from '@isosession/core';
import { sessionErrorStatus, withSession } from '@isosession/server/fetch';
import type { Session } from '../Session.js';
import { runAdapterSuite } from '../testing/adapterSuite.js';
import { demoApp } from '../testing/demoApp.js';
import { serveFetch } from '@isosession/test-support/serveFetch';
import '../testing/outageDriver.js';

interface RuntimeContext {
  remoteAddr: string | undefined;
}

runAdapterSuite({
  name: 'withSession (fetch)',
  start(options) {
    const handler = withSession<RuntimeContext>(
      async (request, { session }) => {
        const result = demoApp(new URL(request.url), session);
        if (result.redirect) return Response.redirect(new URL(result.redirect, request.url), 302);
        return new Response(result.body, { status: result.status, headers: result.headers });
      },
      {
        ...options,
        remoteAddr: (_request, ctx) => ctx?.remoteAddr,
        // The documented 503 path: map the session error's status.
        onError: (error) => new Response('session store unavailable', { status: sessionErrorStatus(error) }),
      },
    );
    return serveFetch(handler).then((server) => ({ url: server.origin, close: server.close }));
  },
});

describe('withSession (fetch) specifics', () => {
  const dsnArgs = () => ({ Namespace: `fetch-${randomBytes(6).toString('hex')}` });

  it('keeps what the runtime put in the context next to the session', async () => {
    let seen: { params?: unknown; session?: Session } = {};
    const handler = withSession<{ params: { slug: string } }>(async (_request, ctx) => {
      seen = ctx;
      return new Response('ok');
    }, { dsn: 'driver:memory', dsnArgs: dsnArgs() });
    await handler(new Request('http://localhost/x'), { params: { slug: 'x' } });
    expect(seen.params).toEqual({ slug: 'x' });
    expect(seen.session?.id()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('without onError a store outage at load rejects with SessionError STORE_UNAVAILABLE, and the handler never runs', async () => {
    let ran = false;
    const handler = withSession(async () => {
      ran = true;
      return new Response('ok');
    }, { dsn: 'driver:outage', dsnArgs: { ...dsnArgs(), State: { fail: 'load' } } });
    const request = new Request('http://localhost/', { headers: { cookie: `CGISESSID=${'a'.repeat(32)}` } });
    const error = await handler(request).catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expect(sessionErrorStatus(error)).toBe(503);
    expect(ran).toBe(false);
  });

  it('without onError a stale cookie (replaced by a login moments ago) is answered 409 with JSON code STALE, no Set-Cookie, handler not run', async () => {
    const args = dsnArgs();
    let ran = 0;
    const handler = withSession(async (request, { session }) => {
      ran += 1;
      const path = new URL(request.url).pathname;
      if (path === '/') session.param('visited', true); // a session is stored (and its cookie set) once written
      if (path === '/login') session.regenerate();
      return new Response('ok');
    }, { dsn: 'driver:memory', dsnArgs: args });
    const first = await handler(new Request('http://localhost/'));
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    await handler(new Request('http://localhost/login', { headers: { cookie } }));
    const stale = await handler(new Request('http://localhost/cart', { headers: { cookie } }));
    expect(stale.status).toBe(409);
    expect(stale.headers.getSetCookie()).toEqual([]);
    expect(stale.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await stale.json()).toMatchObject({ error: { code: 'STALE' } });
    expect(ran).toBe(2);
  });

  it('a handler that throws flushes nothing and its error propagates', async () => {
    const args = dsnArgs();
    let id: string | undefined;
    const handler = withSession(async (_request, { session }) => {
      session.param('x', 1);
      id = session.id();
      throw new Error('boom');
    }, { dsn: 'driver:memory', dsnArgs: args });
    await expect(handler(new Request('http://localhost/'))).rejects.toThrow('boom');
    const { Session } = await import('../Session.js');
    expect((await Session.load('driver:memory', id!, args)).isEmpty()).toBe(true);
  });

  it('with trustProxy the first X-Forwarded-For hop is the address; without, the runtime\'s', async () => {
    const addresses: (string | undefined)[] = [];
    const handler = (trustProxy: boolean) => withSession(async (_request, { session }) => {
      addresses.push(session.remoteAddr());
      return new Response('ok');
    }, { dsn: 'driver:memory', dsnArgs: dsnArgs(), sessionParams: { trustProxy }, remoteAddr: () => '10.0.0.1' });
    const request = () => new Request('http://localhost/', { headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } });
    await handler(true)(request());
    await handler(false)(request());
    expect(addresses).toEqual(['203.0.113.7', '10.0.0.1']);
  });

  it('a 200 MB chunked body is refused with 413 as the handler reads it (about 100 kB read, nothing flushed); a declared one before the session loads', async () => {
    const args = dsnArgs();
    let loads = 0;
    const handler = withSession(async (request, { session }) => {
      loads += 1;
      session.param('body', await request.text());
      return new Response('stored');
    }, { dsn: 'driver:memory', dsnArgs: args });
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ >= 3200) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const rssBefore = process.memoryUsage().rss;
    const response = await handler(new Request('http://localhost/', { method: 'POST', body, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(413);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(pulled * chunk.byteLength).toBeLessThan(300_000);
    expect((process.memoryUsage().rss - rssBefore) / 1e6).toBeLessThan(50);
    const declared = await handler(new Request('http://localhost/', { method: 'POST', headers: { 'content-length': '200000000' }, body: 'x' }));
    expect(declared.status).toBe(413);
    expect(loads).toBe(1);
    // Under the limit, and with the limit off, bodies pass.
    expect((await handler(new Request('http://localhost/', { method: 'POST', body: 'small' }))).status).toBe(200);
    const unlimited = withSession(async (request) => new Response(String((await request.arrayBuffer()).byteLength)), { dsn: 'driver:memory', dsnArgs: args, maxBodyBytes: false });
    expect(await (await unlimited(new Request('http://localhost/', { method: 'POST', body: new Uint8Array(300_000) }))).text()).toBe('300000');
  });
});
