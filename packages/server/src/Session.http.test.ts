import type { IncomingMessage } from 'node:http';
import { parseSetCookie } from 'cookie';
import { describe, expect, it } from 'vitest';
import { isSessionError } from '@isosession/core';
import { Session, registerIdGenerator } from './index.js';
import type { Query, SessionParams } from './index.js';
import { spyStore } from './testing/spyDriver.js';

// The Session's HTTP side: cookie options, regenerate(), touch(), strict ids, maxAge.

const T0 = 1_700_000_000;

function clock(start = T0) {
  const state = { ms: start * 1000 };
  return { state, params: { now: () => state.ms } satisfies SessionParams };
}

function nodeRequest(headers: Record<string, string>, encrypted = false): Query {
  return { headers, socket: { remoteAddress: '127.0.0.1', encrypted }, url: '/' } as unknown as IncomingMessage;
}

describe('cookie(options)', () => {
  it('takes domain, path, sameSite, secure, partitioned and httpOnly; sessionParams.cookie is the default', async () => {
    const store = spyStore();
    const session = await Session.new(store.dsn, null, store.dsnArgs, { cookie: { domain: 'example.com', path: '/app' } });
    expect(parseSetCookie(session.cookie())).toMatchObject({ domain: 'example.com', path: '/app', httpOnly: true, sameSite: 'lax' });
    const custom = parseSetCookie(session.cookie({ path: '/', sameSite: 'strict', secure: true, partitioned: true, httpOnly: false }));
    expect(custom).toMatchObject({ domain: 'example.com', path: '/', sameSite: 'strict', secure: true, partitioned: true });
    expect(custom.httpOnly).toBeFalsy();
  });

  it('SameSite=None is always Secure (browsers drop it otherwise)', async () => {
    const session = await Session.new('driver:memory', null, null, { cookie: { sameSite: 'none' } });
    expect(parseSetCookie(session.cookie())).toMatchObject({ sameSite: 'none', secure: true });
  });

  it('Secure by default on https: an https Request, a TLS socket, X-Forwarded-Proto only with trustProxy', async () => {
    const secure = async (query: Query, params: SessionParams = {}) =>
      parseSetCookie((await Session.new('driver:memory', query, null, params)).cookie()).secure === true;
    expect(await secure(new Request('https://example.com/'))).toBe(true);
    expect(await secure(new Request('http://example.com/'))).toBe(false);
    expect(await secure(nodeRequest({}, true))).toBe(true);
    expect(await secure(nodeRequest({ 'x-forwarded-proto': 'https' }))).toBe(false);
    expect(await secure(nodeRequest({ 'x-forwarded-proto': 'https' }), { trustProxy: true })).toBe(true);
    expect(await secure(new Request('http://example.com/', { headers: { 'x-forwarded-proto': 'https' } }), { trustProxy: true })).toBe(true);
    // cookie.secure: false is honoured even on https (a TLS-terminating dev proxy).
    expect(await secure(new Request('https://example.com/'), { cookie: { secure: false } })).toBe(false);
  });

  it('header() says Cache-Control: no-store unless the caller set its own', async () => {
    const session = await Session.new('driver:memory', null, null, {});
    expect(session.header().get('cache-control')).toBe('no-store');
    expect(session.header({ headers: { 'Cache-Control': 'private, max-age=5' } }).get('cache-control')).toBe('private, max-age=5');
  });
});

describe('regenerate()', () => {
  it('a new id, the same data; the old id stays stored until flush, then is gone', async () => {
    const store = spyStore();
    const created = await Session.new(store.dsn, null, store.dsnArgs);
    created.param({ user: 'alice', cart: [1, 2] });
    await created.flush();
    const oldId = created.id() as string;
    const session = await Session.load(store.dsn, oldId, store.dsnArgs);
    session.regenerate();
    const newId = session.id() as string;
    expect(newId).toMatch(/^[0-9a-f]{32}$/);
    expect(newId).not.toBe(oldId);
    expect(parseSetCookie(session.cookie()).value).toBe(newId);
    expect((await Session.load(store.dsn, oldId, store.dsnArgs)).isEmpty()).toBe(false);
    await session.flush();
    expect((await Session.load(store.dsn, oldId, store.dsnArgs)).isEmpty()).toBe(true);
    const moved = await Session.load(store.dsn, newId, store.dsnArgs);
    expect(moved.param('user')).toBe('alice');
    expect(moved.param('cart')).toEqual([1, 2]);
    expect(moved.ctime()).toBe(created.ctime());
  });

  it('on a never-stored session it only changes the id', async () => {
    const store = spyStore();
    const session = await Session.new(store.dsn, null, store.dsnArgs);
    const first = session.id();
    session.regenerate();
    await session.flush();
    expect(session.id()).not.toBe(first);
    expect(store.recorder.calls.filter((c) => c.op === 'remove')).toEqual([]);
    expect((await Session.load(store.dsn, session.id() as string, store.dsnArgs)).isEmpty()).toBe(false);
  });

  it('a request that loaded the old id cannot resurrect it after the regeneration (GONE)', async () => {
    const store = spyStore();
    const created = await Session.new(store.dsn, null, store.dsnArgs);
    await created.flush();
    const oldId = created.id() as string;
    const attacker = await Session.load(store.dsn, oldId, store.dsnArgs);
    const login = await Session.load(store.dsn, oldId, store.dsnArgs);
    login.regenerate();
    await login.flush();
    attacker.param('x', 1);
    const error = await attacker.flush().catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('GONE');
    expect((await Session.load(store.dsn, oldId, store.dsnArgs)).isEmpty()).toBe(true);
  });

  it('on an empty session it throws a clear error', async () => {
    const empty = await Session.load('driver:memory', null, null);
    expect(() => empty.regenerate()).toThrow(/regenerate\(\): this session is empty/);
  });
});

describe('touch()', () => {
  it('moves atime only: the flush is a driver touch, not a rewrite, and the version is unchanged', async () => {
    const { state, params } = clock();
    const store = spyStore();
    const created = await Session.new(store.dsn, null, store.dsnArgs, params);
    created.param('a', 1);
    created.expire('1h');
    await created.flush();
    const id = created.id() as string;
    state.ms += 600_000;
    const session = await Session.load(store.dsn, id, store.dsnArgs, params);
    const version = session.version();
    store.recorder.calls.length = 0;
    state.ms += 60_000;
    session.touch();
    expect(session.atime()).toBe(T0 + 660);
    await session.flush();
    expect(store.recorder.calls.map((c) => c.op)).toEqual(['touch']);
    const reloaded = await Session.load(store.dsn, id, store.dsnArgs, { now: () => state.ms + 3_599_000 });
    expect(reloaded.isExpired()).toBe(false);
    expect(reloaded.atime()).toBe(T0 + 660 + 3599);
    expect(reloaded.version()).toBe(version);
  });
});

describe('strict ids', () => {
  it('a claim of the wrong shape never reaches the driver (md5, uuid, a generator without isValidId)', async () => {
    registerIdGenerator('plainhttp', { generateId: () => `p${Math.random().toString(36).slice(2)}` });
    const cases: [string, string[], RegExp][] = [
      ['md5', ['../etc/passwd', 'A'.repeat(32), 'a'.repeat(31), `${'a'.repeat(32)}\n`, '0x'], /^[0-9a-f]{32}$/],
      ['uuid', ['a'.repeat(32), '00000000-0000-0000-0000-00000000000G', '..'], /^[0-9a-f-]{36}$/],
      ['plainhttp', ['a/b', 'a.b', 'x'.repeat(129), '', 'ä'], /^[A-Za-z0-9_-]{1,128}$/],
    ];
    for (const [idName, claims, shape] of cases) {
      const store = spyStore();
      const dsn = `${store.dsn};id:${idName}`;
      for (const claim of claims) {
        const session = await Session.new(dsn, nodeRequest({ cookie: `CGISESSID=${encodeURIComponent(claim)}` }), store.dsnArgs);
        expect(session.isNew()).toBe(true);
        expect((await Session.load(dsn, claim, store.dsnArgs)).isEmpty()).toBe(true);
      }
      expect(store.recorder.calls.filter((c) => c.op === 'retrieve')).toEqual([]);
      expect(store.recorder.ids().every((id) => shape.test(id))).toBe(true);
    }
  });
});

describe('sessionParams.maxAge (absolute lifetime, OWASP)', () => {
  it('ends an active session at ctime + maxAge, removes it, and caps the cookie\'s Max-Age', async () => {
    const { state, params } = clock();
    const withMaxAge = { ...params, maxAge: '1h' };
    const store = spyStore();
    const created = await Session.new(store.dsn, null, store.dsnArgs, withMaxAge);
    created.expire('45m');
    await created.flush();
    const id = created.id() as string;
    expect(parseSetCookie(created.cookie()).maxAge).toBe(2700);
    state.ms += 40 * 60_000;
    const active = await Session.load(store.dsn, id, store.dsnArgs, withMaxAge);
    expect(active.isEmpty()).toBe(false);
    // Idle expiry would allow 45 more minutes; the absolute lifetime leaves 20.
    expect(parseSetCookie(active.cookie()).maxAge).toBe(1200);
    await active.flush();
    state.ms += 20 * 60_000;
    const ended = await Session.load(store.dsn, id, store.dsnArgs, withMaxAge);
    expect(ended.isExpired()).toBe(true);
    expect(parseSetCookie(ended.cookie()).maxAge).toBe(0);
    expect((await Session.load(store.dsn, id, store.dsnArgs, params)).isEmpty()).toBe(true);
  });

  it('a bad maxAge fails at construction with INVALID_DURATION', async () => {
    const error = await Session.new('driver:memory', null, null, { maxAge: 'forever' }).catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('INVALID_DURATION');
  });
});
