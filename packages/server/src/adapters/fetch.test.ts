import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSessionError } from '@isosession/core';
import { sessionErrorStatus, withSession } from '@isosession/server/fetch';
import type { Session } from '../Session.js';
import { runAdapterSuite } from '../testing/adapterSuite.js';
import { demoApp } from '../testing/demoApp.js';
import { serveFetch } from '../testing/serveNode.js';
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
    return serveFetch(handler);
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
});
