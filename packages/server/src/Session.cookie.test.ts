import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { Session } from '@isosession/server';

const T0 = 1_700_000_000;
const dsn = 'driver:memory';
const args = { Namespace: `cookie-${randomBytes(6).toString('hex')}` };
let clock: { ms: number };
let params: { now: () => number };

beforeEach(() => {
  clock = { ms: T0 * 1000 };
  params = { now: () => clock.ms };
});

/** Set-Cookie attributes by lower-cased name (flags map to true). */
function attributes(setCookie: string): Map<string, string | true> {
  const result = new Map<string, string | true>();
  for (const part of setCookie.split(';').slice(1)) {
    const [key, ...rest] = part.trim().split('=');
    result.set(key!.toLowerCase(), rest.length > 0 ? rest.join('=') : true);
  }
  return result;
}

/** Seconds from now until the cookie expires, per Max-Age and per Expires. */
function lifetimes(setCookie: string, now: number): { maxAge?: number; expires?: number } {
  const attrs = attributes(setCookie);
  const maxAge = attrs.get('max-age');
  const expires = attrs.get('expires');
  return {
    ...(typeof maxAge === 'string' ? { maxAge: Number(maxAge) } : {}),
    ...(typeof expires === 'string' ? { expires: Date.parse(expires) / 1000 - now } : {}),
  };
}

describe('cookie and header', () => {
  it('S67: cookie() starts with name=id and is HttpOnly and SameSite=Lax by default', async () => {
    const s = await Session.new(dsn, null, args, params);
    const cookie = s.cookie();
    expect(cookie.startsWith(`${s.name()}=${s.id()}`)).toBe(true);
    expect(cookie.startsWith(`CGISESSID=${s.id()};`)).toBe(true);
    const attrs = attributes(cookie);
    expect(attrs.get('httponly')).toBe(true);
    expect(String(attrs.get('samesite')).toLowerCase()).toBe('lax');
    expect(attrs.get('path')).toBe('/');
  });

  it('S67: a session with its own name uses it', async () => {
    const s = await Session.new(dsn, null, args, { ...params, name: 'itchy' });
    expect(s.cookie().startsWith(`itchy=${s.id()}`)).toBe(true);
  });

  it('S68: with a positive expiry E the cookie expires E seconds from now (Max-Age and Expires)', async () => {
    const s = await Session.new(dsn, null, args, params);
    s.expire('+1h');
    expect(lifetimes(s.cookie(), T0)).toEqual({ maxAge: 3600, expires: 3600 });
    expect(attributes(s.cookie()).get('expires')).toBe(new Date((T0 + 3600) * 1000).toUTCString());
    s.expire(90);
    expect(lifetimes(s.cookie(), T0)).toEqual({ maxAge: 90, expires: 90 });
  });

  it('S68: with no expiry it is a browser-session cookie (no Max-Age, no Expires)', async () => {
    const s = await Session.new(dsn, null, args, params);
    const attrs = attributes(s.cookie());
    expect(attrs.has('max-age')).toBe(false);
    expect(attrs.has('expires')).toBe(false);
    s.expire(60);
    s.expire(0);
    expect(attributes(s.cookie()).has('max-age')).toBe(false);
  });

  it('S68: a loaded session’s cookie counts E from this request, not from creation', async () => {
    const s = await Session.new(dsn, null, args, params);
    s.expire('10m');
    await s.flush();
    clock.ms += 300_000;
    const loaded = await Session.load(dsn, s.id()!, args, params);
    expect(lifetimes(loaded.cookie(), T0 + 300)).toEqual({ maxAge: 600, expires: 600 });
  });

  it('S69: the cookie of an expired session expires in the past', async () => {
    const s = await Session.new(dsn, null, args, params);
    s.expire(10);
    await s.flush();
    clock.ms += 10_000;
    const expired = await Session.load(dsn, s.id()!, args, params);
    expect(expired.isExpired()).toBe(true);
    const cookie = expired.cookie();
    expect(cookie.startsWith(`${expired.name()}=`)).toBe(true);
    const { maxAge, expires } = lifetimes(cookie, T0 + 10);
    expect(maxAge !== undefined || expires !== undefined).toBe(true);
    if (maxAge !== undefined) expect(maxAge).toBeLessThanOrEqual(0);
    if (expires !== undefined) expect(expires).toBeLessThan(0);
  });

  it('S69: the cookie of a deleted session expires in the past too', async () => {
    const s = await Session.new(dsn, null, args, params);
    await s.flush();
    const loaded = await Session.load(dsn, s.id()!, args, params);
    loaded.delete();
    const { maxAge } = lifetimes(loaded.cookie(), T0);
    expect(maxAge).toBeLessThanOrEqual(0);
  });

  it('S70: header() returns Headers with Set-Cookie and Content-Type text/html', async () => {
    const s = await Session.new(dsn, null, args, { ...params, name: 'spot' });
    const headers = s.header();
    expect(headers).toBeInstanceOf(Headers);
    expect(headers.get('Set-Cookie')?.startsWith(`spot=${s.id()}`)).toBe(true);
    expect(headers.get('Content-Type')).toMatch(/^text\/html/);
  });

  it('S70: header() takes another content type and extra headers', async () => {
    const s = await Session.new(dsn, null, args, params);
    const headers = s.header({ contentType: 'application/json', headers: { 'X-Extra': '1' } });
    expect(headers.get('Content-Type')).toBe('application/json');
    expect(headers.get('X-Extra')).toBe('1');
    expect(headers.getSetCookie()).toHaveLength(1);
    expect(headers.getSetCookie()[0]!.startsWith(`CGISESSID=${s.id()}`)).toBe(true);
  });
});

describe('cookieData(): the cookie as data for a framework cookie store', () => {
  it('is what cookie() serialises, attribute for attribute', async () => {
    const s = await Session.new(dsn, null, args, { ...params, cookie: { domain: 'example.test', sameSite: 'strict' } });
    s.expire('1h');
    const data = s.cookieData();
    expect(data).toEqual({
      name: 'CGISESSID',
      value: s.id(),
      options: { path: '/', domain: 'example.test', httpOnly: true, secure: false, sameSite: 'strict', maxAge: 3600, expires: new Date((T0 + 3600) * 1000) },
    });
    expect(s.cookie()).toBe(`CGISESSID=${s.id()}; Max-Age=3600; Domain=example.test; Path=/; Expires=${new Date((T0 + 3600) * 1000).toUTCString()}; HttpOnly; SameSite=Strict`);
  });

  it('removes itself for a deleted session: an empty value, Max-Age 0 and an Expires in 1970', async () => {
    const s = await Session.new(dsn, null, args, params);
    await s.flush();
    s.delete();
    await s.flush();
    expect(s.cookieData()).toMatchObject({ value: '', options: { maxAge: 0, expires: new Date(0) } });
  });
});
