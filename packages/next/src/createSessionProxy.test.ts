import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { Session } from '@isosession/server';
import { createSessionProxy } from './createSessionProxy.js';

const dsn = 'driver:memory';
let dsnArgs: { Namespace: string };

beforeEach(() => {
  dsnArgs = { Namespace: `proxy-${randomUUID()}` };
});

async function storedIds(): Promise<string[]> {
  const ids: string[] = [];
  await Session.find(dsn, (s) => void ids.push(s.id() as string), dsnArgs);
  return ids;
}

function cookieOf(response: Response): string | undefined {
  return /CGISESSID=([^;]*)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
}

/** The Cookie header Next.js hands the render, as NextResponse.next({ request }) encodes it. */
function renderCookie(response: Response): string | null {
  return response.headers.get('x-middleware-request-cookie');
}

describe('createSessionProxy', () => {
  it('page views and HEADs of visitors without a session store nothing and set no cookie (1,000 requests, 0 sessions)', async () => {
    const proxy = createSessionProxy({ dsn, dsnArgs, prepare: (s) => void (s.expire() === undefined && s.expire('2h')) });
    for (let i = 0; i < 500; i++) {
      for (const method of ['GET', 'HEAD']) {
        const response = await proxy(new Request('http://shop.test/', { method, headers: { cookie: 'other=1' } }));
        expect(response.headers.get('set-cookie')).toBeNull();
        expect(renderCookie(response)).toBe('other=1');
        expect(response.headers.get('x-middleware-next')).toBe('1');
      }
    }
    expect(await storedIds()).toEqual([]);
  });

  it('a prepare that writes stores the new session, with the default idle expiry, and hands its cookie to the render', async () => {
    const proxy = createSessionProxy({ dsn, dsnArgs, prepare: (s) => void (s.isNew() && s.param('landing', '/')) });
    const response = await proxy(new Request('http://shop.test/', { headers: { cookie: 'other=1' } }));
    const id = cookieOf(response);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await storedIds()).toEqual([id]);
    expect((await Session.load(dsn, id as string, dsnArgs)).expire()).toBe(24 * 3600);
    expect(renderCookie(response)).toBe(`other=1; CGISESSID=${id}`);
    const custom = createSessionProxy({ dsn, dsnArgs, idleExpiry: '10m', prepare: (s) => void s.param('landing', '/') });
    const second = cookieOf(await custom(new Request('http://shop.test/')));
    expect((await Session.load(dsn, second as string, dsnArgs)).expire()).toBe(600);
    const always = createSessionProxy({ dsn, dsnArgs, saveUninitialized: true, idleExpiry: false });
    const third = cookieOf(await always(new Request('http://shop.test/')));
    expect((await Session.load(dsn, third as string, dsnArgs)).expire()).toBeUndefined();
    expect(() => createSessionProxy({ idleExpiry: 'soon' })).toThrow(/soon/);
  });

  it('keeps a returning visitor on the same session and moves its idle expiry', async () => {
    const existing = await Session.new(dsn, null, dsnArgs, { now: () => Date.now() - 60_000 });
    existing.expire('1h');
    await existing.flush();
    const id = existing.id() as string;
    const proxy = createSessionProxy({ dsn, dsnArgs });
    const response = await proxy(new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${id}` } }));
    expect(cookieOf(response)).toBe(id);
    expect(renderCookie(response)).toBe(`CGISESSID=${id}`);
    const atime = (await Session.load(dsn, id, dsnArgs)).atime() as number;
    expect(atime).toBeGreaterThan(existing.atime() as number);
    expect(await storedIds()).toEqual([id]);
  });

  it('an unknown or expired id is not handed to the render, and no session is stored in its place', async () => {
    const proxy = createSessionProxy({ dsn, dsnArgs });
    const response = await proxy(new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${'f'.repeat(32)}` } }));
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(renderCookie(response)).toBe('');
    expect(await storedIds()).toEqual([]);
  });

  it('lets server action requests through untouched (the action sets the cookie itself)', async () => {
    const proxy = createSessionProxy({ dsn, dsnArgs });
    const response = await proxy(new Request('http://shop.test/', { method: 'POST', headers: { 'next-action': 'abc123' } }));
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await storedIds()).toEqual([]);
  });
});

describe('createSessionProxy with a cookie a login replaced moments ago', () => {
  it('passes the page through: no new session, no Set-Cookie, the render sees the request as it came', async () => {
    const visitor = await Session.new(dsn, null, dsnArgs);
    await visitor.flush();
    const oldId = visitor.id() as string;
    const login = await Session.new(dsn, new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${oldId}` } }), dsnArgs);
    login.regenerate();
    await login.flush();
    const proxy = createSessionProxy({ dsn, dsnArgs });
    const response = await proxy(new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${oldId}` } }));
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('x-middleware-next')).toBe('1');
    expect(await storedIds()).toEqual([login.id()]);
  });

  it('ipMatch: without a client address the proxy refuses (a SessionError naming remoteAddr), with one it binds the session', async () => {
    const unaddressed = createSessionProxy({ dsn, dsnArgs, sessionParams: { ipMatch: true } });
    const error = await unaddressed(new Request('http://shop.test/')).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SessionError', code: 'INVALID_ARGUMENT', message: expect.stringMatching(/remoteAddr/) });
    const proxy = createSessionProxy({ dsn, dsnArgs, sessionParams: { ipMatch: true }, remoteAddr: () => '10.0.0.1', prepare: (s) => void s.param('landing', '/') });
    const id = cookieOf(await proxy(new Request('http://shop.test/')));
    expect((await Session.load(dsn, id as string, dsnArgs, { remoteAddr: '10.0.0.1' })).remoteAddr()).toBe('10.0.0.1');
  });
});
