import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterOptions } from '../adapters/sessionResponse.js';
import { signId } from '../signedId.js';
import { call } from '@isosession/test-support/httpClient';
import type { CallResult } from '@isosession/test-support/httpClient';
import type { RunningServer } from '@isosession/test-support/serveNode';
import { spyStore } from './spyDriver.js';
import './outageDriver.js';

export interface AdapterHarness {
  name: string;
  /** Serves demoApp through the adapter with these options on 127.0.0.1, port 0. */
  start(options: AdapterOptions): Promise<RunningServer>;
}

const SECRET = 'adapter-suite-secret-of-more-than-32-chars';
const ID = /^[0-9a-f]{32}$/;

interface Body {
  id: string;
  isNew: boolean;
  n: number;
  user: string | null;
  remoteAddr: string | null;
}

function memory(extra: Partial<AdapterOptions> = {}): AdapterOptions {
  return { dsn: 'driver:memory', dsnArgs: { Namespace: `suite-${randomBytes(8).toString('hex')}` }, ...extra };
}

function cookieOf(response: CallResult): string {
  const cookie = response.cookie();
  if (!cookie?.value) throw new Error(`no session cookie in ${JSON.stringify(response.setCookies)}`);
  return `CGISESSID=${cookie.value}`;
}

/**
 * One suite, every adapter (Hono's way): real HTTP on 127.0.0.1, port 0, driven by fetch
 * (node:http where the source address matters).
 */
export function runAdapterSuite(harness: AdapterHarness): void {
  describe(`adapter contract: ${harness.name}`, () => {
    const servers: RunningServer[] = [];
    const start = async (options: AdapterOptions) => {
      const server = await harness.start(options);
      servers.push(server);
      return server;
    };
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    it('S67, S68: a new session gets HttpOnly; SameSite=Lax; Path=/, no Secure over http, a browser-session cookie, Cache-Control: no-store', async () => {
      const { url } = await start(memory());
      const response = await call(`${url}/count`);
      expect(response.status).toBe(200);
      const body = response.json<Body>();
      expect(body).toMatchObject({ isNew: true, n: 1 });
      expect(body.id).toMatch(ID);
      expect(response.setCookies).toHaveLength(1);
      expect(response.setCookies[0]).toMatch(new RegExp(`^CGISESSID=${body.id}; `));
      const cookie = response.cookie()!;
      expect(cookie).toMatchObject({ value: body.id, httpOnly: true, sameSite: 'lax', path: '/' });
      expect(cookie.secure).toBeFalsy();
      expect(cookie.maxAge).toBeUndefined();
      expect(cookie.expires).toBeUndefined();
      expect(response.headers.get('cache-control')).toBe('no-store');
    });

    it('S12: the session persists across requests; an unchanged cookie is not re-sent', async () => {
      const { url } = await start(memory());
      const first = await call(`${url}/count`);
      const cookie = cookieOf(first);
      const second = await call(`${url}/count`, { cookie });
      const third = await call(`${url}/count`, { cookie });
      expect(third.json<Body>()).toMatchObject({ id: first.json<Body>().id, isNew: false, n: 3 });
      expect(second.setCookies).toEqual([]);
      expect(third.setCookies).toEqual([]);
      expect(third.headers.get('cache-control')).toBeNull();
    });

    it('Secure on https behind a trusted proxy (X-Forwarded-Proto), not when the proxy is not trusted', async () => {
      const trusted = await start(memory({ sessionParams: { trustProxy: true } }));
      const secure = await call(`${trusted.url}/count`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(secure.cookie()?.secure).toBe(true);
      const untrusted = await start(memory());
      const plain = await call(`${untrusted.url}/count`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(plain.cookie()?.secure).toBeFalsy();
    });

    it('regenerate(): the cookie gets a new id with the same data, and the old id is gone', async () => {
      const clock = { now: 1_700_000_000_000 };
      const { url } = await start(memory({ sessionParams: { now: () => clock.now } }));
      const first = await call(`${url}/count`);
      const oldId = first.json<Body>().id;
      const login = await call(`${url}/login?user=alice`, { cookie: cookieOf(first) });
      const newId = login.cookie()?.value;
      expect(newId).toMatch(ID);
      expect(newId).not.toBe(oldId);
      expect(login.headers.get('cache-control')).toBe('no-store');
      const after = await call(`${url}/peek`, { cookie: cookieOf(login) });
      expect(after.json<Body>()).toMatchObject({ id: newId, user: 'alice', n: 1, isNew: false });
      // A request still carrying the old cookie (sent before the login's response arrived) is
      // refused 409 STALE with no Set-Cookie: a fresh session's cookie would replace the new one.
      const inFlight = await call(`${url}/peek`, { cookie: `CGISESSID=${oldId}` });
      expect(inFlight.status).toBe(409);
      expect(inFlight.setCookies).toEqual([]);
      // After the grace period (60 s) the old id is just unknown: a fresh session, never the new one.
      clock.now += 60_000;
      const replay = await call(`${url}/peek`, { cookie: `CGISESSID=${oldId}` });
      expect(replay.json<Body>()).toMatchObject({ isNew: true, n: 0, user: null });
      expect([oldId, newId]).not.toContain(replay.json<Body>().id);
    });

    it('S49, S69: delete() sends a cookie that removes itself, and the id is gone', async () => {
      const clock = { now: 1_700_000_000_000 };
      const { url } = await start(memory({ sessionParams: { now: () => clock.now } }));
      const first = await call(`${url}/count`);
      const logout = await call(`${url}/logout`, { cookie: cookieOf(first) });
      const removal = logout.cookie()!;
      expect(removal.value).toBe('');
      expect(removal.maxAge).toBe(0);
      expect(removal.expires!.getTime()).toBeLessThanOrEqual(Date.now());
      const inFlight = await call(`${url}/count`, { cookie: cookieOf(first) });
      expect(inFlight.status).toBe(409);
      expect(inFlight.setCookies).toEqual([]);
      clock.now += 60_000;
      const again = await call(`${url}/peek`, { cookie: cookieOf(first) });
      expect(again.json<Body>().isNew).toBe(true);
    });

    it('requests carrying a cookie a login just replaced are each refused 409, without a Set-Cookie', async () => {
      const { url } = await start(memory());
      const first = await call(`${url}/count`);
      const cookie = cookieOf(first);
      const login = await call(`${url}/login?user=erin`, { cookie });
      const refused = await Promise.all([call(`${url}/count`, { cookie }), call(`${url}/peek`, { cookie })]);
      for (const response of refused) {
        expect(response.status).toBe(409);
        expect(response.setCookies).toEqual([]);
      }
      const after = await call(`${url}/peek`, { cookie: cookieOf(login) });
      expect(after.json<Body>()).toMatchObject({ user: 'erin', n: 1 });
    });

    it('S40, S44, S68: expire() sets Max-Age, restarts with each access, and ends the session when idle', async () => {
      const clock = { now: 1_700_000_000_000 };
      // saveUninitialized: an expiry alone is not content; here it is what is tested.
      const { url } = await start(memory({ saveUninitialized: true, sessionParams: { now: () => clock.now } }));
      const set = await call(`${url}/expire?s=60`);
      expect(set.cookie()?.maxAge).toBe(60);
      const cookie = cookieOf(set);
      clock.now += 59_000;
      const alive = await call(`${url}/count`, { cookie });
      expect(alive.json<Body>()).toMatchObject({ isNew: false, n: 1 });
      expect(alive.cookie()?.maxAge).toBe(60);
      clock.now += 60_000;
      const expired = await call(`${url}/peek`, { cookie });
      expect(expired.json<Body>()).toMatchObject({ isNew: true, n: 0 });
      expect(expired.json<Body>().id).not.toBe(set.json<Body>().id);
      expect(expired.cookie()?.value).toBe(expired.json<Body>().id);
    });

    it('sessionParams.maxAge: an absolute lifetime from ctime, however active the session', async () => {
      const clock = { now: 1_700_000_000_000 };
      const { url } = await start(memory({ sessionParams: { now: () => clock.now, maxAge: '100s' } }));
      const first = await call(`${url}/count`);
      expect(first.cookie()?.maxAge).toBe(100);
      const cookie = cookieOf(first);
      clock.now += 60_000;
      expect((await call(`${url}/count`, { cookie })).json<Body>()).toMatchObject({ isNew: false, n: 2 });
      clock.now += 40_000;
      expect((await call(`${url}/count`, { cookie })).json<Body>()).toMatchObject({ isNew: true, n: 1 });
    });

    it('S71, S73: ipMatch — another source address gets a fresh session and the stored one is deleted', async () => {
      const { url } = await start(memory({ sessionParams: { ipMatch: true } }));
      const first = await call(`${url}/count`, { localAddress: '127.0.0.1' });
      expect(first.json<Body>().remoteAddr).toBe('127.0.0.1');
      const cookie = cookieOf(first);
      const same = await call(`${url}/count`, { cookie, localAddress: '127.0.0.1' });
      expect(same.json<Body>()).toMatchObject({ id: first.json<Body>().id, n: 2 });
      const other = await call(`${url}/count`, { cookie, localAddress: '127.0.0.2' });
      expect(other.json<Body>()).toMatchObject({ isNew: true, n: 1, remoteAddr: '127.0.0.2' });
      expect(other.json<Body>().id).not.toBe(first.json<Body>().id);
      const back = await call(`${url}/count`, { cookie, localAddress: '127.0.0.1' });
      expect(back.json<Body>()).toMatchObject({ isNew: true, n: 1 });
    });

    it('S72: without ipMatch a session follows its client to another address', async () => {
      const { url } = await start(memory());
      const first = await call(`${url}/count`, { localAddress: '127.0.0.1' });
      const other = await call(`${url}/count`, { cookie: cookieOf(first), localAddress: '127.0.0.2' });
      expect(other.json<Body>()).toMatchObject({ id: first.json<Body>().id, n: 2, remoteAddr: '127.0.0.1' });
    });

    it('Cache-Control: a response\'s own value is kept; cacheControl: false adds none', async () => {
      const { url } = await start(memory({ saveUninitialized: true }));
      const own = await call(`${url}/cached`);
      expect(own.setCookies).toHaveLength(1);
      expect(own.headers.get('cache-control')).toBe('private, max-age=5');
      const off = await start(memory({ cacheControl: false }));
      const none = await call(`${off.url}/count`);
      expect(none.setCookies).toHaveLength(1);
      expect(none.headers.get('cache-control')).toBeNull();
    });

    it('cookie-less requests fill no store: 100 page views and HEADs that write nothing store nothing and send no cookie', async () => {
      const store = spyStore();
      const { url } = await start({ dsn: store.dsn, dsnArgs: store.dsnArgs });
      for (let i = 0; i < 50; i++) {
        const peek = await call(`${url}/peek`);
        expect(peek.status).toBe(200);
        expect(peek.setCookies).toEqual([]);
        expect((await call(`${url}/peek`, { method: 'HEAD' })).setCookies).toEqual([]);
      }
      expect(store.recorder.calls.filter((c) => c.op === 'store' || c.op === 'update')).toEqual([]);
      // The first write stores the session and sends its cookie.
      const count = await call(`${url}/count`);
      expect(count.cookie()?.value).toMatch(ID);
      expect(store.recorder.calls.filter((c) => c.op === 'store' || c.op === 'update')).toHaveLength(1);
    });

    it('saveUninitialized: true stores (and sends a cookie for) a new session nobody wrote to', async () => {
      const store = spyStore();
      const { url } = await start({ dsn: store.dsn, dsnArgs: store.dsnArgs, saveUninitialized: true });
      const peek = await call(`${url}/peek`);
      expect(peek.cookie()?.value).toMatch(ID);
      expect(store.recorder.calls.filter((c) => c.op === 'store' || c.op === 'update')).toHaveLength(1);
    });

    it('S17: idFrom query serves a cookie-free client from the URL param', async () => {
      const { url } = await start(memory({ sessionParams: { idFrom: ['cookie', 'query'] } }));
      const first = await call(`${url}/count`);
      const id = first.json<Body>().id;
      const second = await call(`${url}/count?CGISESSID=${id}`);
      expect(second.json<Body>()).toMatchObject({ id, n: 2 });
    });

    it('signed ids: the cookie is id.signature; a bare or forged id gets a fresh session', async () => {
      const { url } = await start(memory({ sessionParams: { secret: SECRET } }));
      const first = await call(`${url}/count`);
      const id = first.json<Body>().id;
      expect(first.cookie()?.value).toBe(signId(id, SECRET));
      expect((await call(`${url}/count`, { cookie: cookieOf(first) })).json<Body>()).toMatchObject({ id, n: 2 });
      for (const forged of [id, signId(id, 'another-secret-of-at-least-32-characters'), `${id}.${'A'.repeat(43)}`]) {
        const response = await call(`${url}/count`, { cookie: `CGISESSID=${forged}` });
        expect(response.status).toBe(200);
        expect(response.json<Body>()).toMatchObject({ isNew: true, n: 1 });
      }
    });

    it('hashIds: the cookie carries the real id and the session persists', async () => {
      const { url } = await start(memory({ sessionParams: { hashIds: true } }));
      const first = await call(`${url}/count`);
      expect(first.cookie()?.value).toBe(first.json<Body>().id);
      expect((await call(`${url}/count`, { cookie: cookieOf(first) })).json<Body>()).toMatchObject({ id: first.json<Body>().id, n: 2 });
    });

    it('a redirect response carries the cookie too', async () => {
      const { url } = await start(memory());
      const response = await call(`${url}/redirect`);
      expect(response.status).toBe(302);
      expect(response.cookie()?.value).toMatch(ID);
      expect(response.headers.get('cache-control')).toBe('no-store');
    });

    it('bad cookies — huge, malformed, duplicated, wrong shape, path tricks — end as a fresh session', async () => {
      const store = spyStore();
      const { url } = await start({ dsn: store.dsn, dsnArgs: store.dsnArgs });
      const live = await call(`${url}/count`);
      const liveId = live.json<Body>().id;
      const nasty = [
        `CGISESSID=${'a'.repeat(20_000)}`,
        'CGISESSID=%2F..%2F..%2Fetc%2Fpasswd',
        'CGISESSID=..%2Fcgisess_x',
        'CGISESSID=%E0%A4%A',
        'CGISESSID="unterminated',
        `CGISESSID=; CGISESSID=${liveId}`,
        'CGISESSID',
        '=; ; ;=;',
        `CGISESSID=${liveId.toUpperCase()}`,
        `CGISESSID=${liveId}%00`,
        `a=${'b'.repeat(17_000)}; CGISESSID=${liveId}`,
      ];
      for (const cookie of nasty) {
        const response = await call(`${url}/count`, { cookie });
        expect(response.status, cookie.slice(0, 60)).toBe(200);
        expect(response.json<Body>(), cookie.slice(0, 60)).toMatchObject({ isNew: true, n: 1 });
      }
      expect(store.recorder.ids().every((id) => ID.test(id))).toBe(true);
    });

    it('property: any Cookie header gives a 200 with a session, and the store sees only well-formed ids', async () => {
      const store = spyStore();
      const { url } = await start({ dsn: store.dsn, dsnArgs: store.dsnArgs });
      // Visible ASCII and spaces: what an HTTP client can put in a header at all.
      const octet = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
      const text = fc.array(octet, { maxLength: 80 }).map((chars) => chars.join(''));
      const header = fc.oneof(
        text,
        text.map((value) => `CGISESSID=${value}`),
        fc.array(fc.oneof(text, text.map((value) => `CGISESSID=${value}`)), { maxLength: 6 }).map((parts) => parts.join('; ')),
        fc.constantFrom('%2F..%2F', '..%2F..%2F', '%2e%2e%2f', '%00', '..\\').chain((trick) => text.map((value) => `CGISESSID=${trick}${value}`)),
      );
      await fc.assert(
        fc.asyncProperty(header, async (cookie) => {
          const response = await call(`${url}/count`, { cookie: cookie.trim() });
          expect(response.status).toBe(200);
          expect(response.json<Body>()).toMatchObject({ isNew: true, n: 1 });
        }),
        { numRuns: 60 },
      );
      expect(store.recorder.ids().every((id) => ID.test(id))).toBe(true);
    });

    it('a store outage while loading is a 503, never the handler\'s success', async () => {
      const state = { fail: 'load' };
      const { url } = await start({ dsn: 'driver:outage', dsnArgs: { Namespace: `outage-${randomBytes(6).toString('hex')}`, State: state } });
      // A well-formed claim, so the session has to ask the store.
      const response = await call(`${url}/count`, { cookie: `CGISESSID=${'a'.repeat(32)}` });
      expect(response.status).toBe(503);
      expect(response.setCookies).toEqual([]);
      expect(response.body).not.toContain('"isNew"');
    });

    it('a store outage while flushing is a 503: the handler ran, its response is dropped', async () => {
      const state = { fail: 'none' };
      const { url } = await start({ dsn: 'driver:outage', dsnArgs: { Namespace: `outage-${randomBytes(6).toString('hex')}`, State: state } });
      const first = await call(`${url}/count`);
      expect(first.status).toBe(200);
      state.fail = 'flush';
      const response = await call(`${url}/count`, { cookie: cookieOf(first) });
      expect(response.status).toBe(503);
      expect(response.setCookies).toEqual([]);
      expect(response.body).not.toContain('"n":2');
      state.fail = 'none';
      expect((await call(`${url}/peek`, { cookie: cookieOf(first) })).json<Body>()).toMatchObject({ n: 1 });
    });
  });
}
