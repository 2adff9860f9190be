import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Session, claimedRequest } from '@isosession/server';

const dsn = 'driver:memory';
const args = { Namespace: `claimed-${randomBytes(6).toString('hex')}` };
const secret = randomBytes(32).toString('base64');

function requestWithCookie(value: string | undefined, init: { url?: string; forwardedFor?: string } = {}): Request {
  const headers = new Headers();
  if (value !== undefined) headers.set('cookie', `CGISESSID=${value}`);
  if (init.forwardedFor) headers.set('x-forwarded-for', init.forwardedFor);
  return new Request(init.url ?? 'http://app.test/', { headers });
}

async function storedSession(params: Record<string, unknown> = {}): Promise<Session> {
  const s = await Session.new(dsn, null, args, params);
  s.param('user', 'alice');
  await s.flush();
  return s;
}

describe('claimedRequest(request, claim): a request whose session claim is already decided', () => {
  it('opens the claimed session, whatever cookie the request itself carries', async () => {
    const alice = await storedSession();
    const other = await storedSession();
    const s = await Session.load(dsn, claimedRequest(requestWithCookie(other.id()), alice.cookieValue()), args);
    expect(s.id()).toBe(alice.id());
    expect(s.param('user')).toBe('alice');
  });

  it('claims nothing when the claim is undefined: a new session, not the cookie of the request', async () => {
    const alice = await storedSession();
    const s = await Session.new(dsn, claimedRequest(requestWithCookie(alice.id()), undefined), args);
    expect(s.isNew()).toBe(true);
    expect(s.id()).not.toBe(alice.id());
  });

  it('checks a signed claim as it checks the cookie: a forged or unsigned one is no claim', async () => {
    const params = { secret };
    const alice = await storedSession(params);
    const signed = await Session.load(dsn, claimedRequest(requestWithCookie(undefined), alice.cookieValue()), args, params);
    expect(signed.id()).toBe(alice.id());
    const unsigned = await Session.load(dsn, claimedRequest(requestWithCookie(undefined), alice.id()), args, params);
    expect(unsigned.isEmpty()).toBe(true);
    const forged = await Session.load(dsn, claimedRequest(requestWithCookie(undefined), `${alice.id()}.${'A'.repeat(43)}`), args, params);
    expect(forged.isEmpty()).toBe(true);
  });

  it('still takes address and https from the request: ipMatch and the Secure default hold', async () => {
    const params = { ipMatch: true, trustProxy: true };
    const created = await Session.new(dsn, claimedRequest(requestWithCookie(undefined, { url: 'https://app.test/', forwardedFor: '203.0.113.7' }), undefined), args, params);
    created.param('user', 'alice');
    await created.flush();
    expect(created.remoteAddr()).toBe('203.0.113.7');
    expect(created.cookie()).toContain('; Secure');
    const elsewhere = await Session.load(dsn, claimedRequest(requestWithCookie(undefined, { forwardedFor: '198.51.100.9' }), created.cookieValue()), args, params);
    expect(elsewhere.isEmpty()).toBe(true);
  });

  it('wraps a claimed request once: the newest claim wins', async () => {
    const alice = await storedSession();
    const inner = claimedRequest(requestWithCookie(undefined), 'not-this-one');
    const outer = claimedRequest(inner, alice.cookieValue());
    expect(outer.request).toBe(inner.request);
    expect((await Session.load(dsn, outer, args)).id()).toBe(alice.id());
  });

  it('carries https when the caller knows it and the request cannot tell (headers alone): the cookie is Secure', async () => {
    const alice = await storedSession();
    const headersOnly = { headers: new Headers({ host: 'app.test' }) };
    const plain = await Session.load(dsn, claimedRequest(headersOnly, alice.cookieValue()), args);
    expect(plain.cookie()).not.toMatch(/;\s*Secure/i);
    const overHttps = await Session.load(dsn, claimedRequest(headersOnly, alice.cookieValue(), { https: true }), args);
    expect(overHttps.id()).toBe(alice.id());
    expect(overHttps.cookie()).toMatch(/;\s*Secure/i);
    // Re-claiming keeps what the first claim knew; a session made from it by s.new() too.
    expect((await Session.load(dsn, claimedRequest(claimedRequest(headersOnly, undefined, { https: true }), alice.cookieValue()), args)).cookie()).toMatch(/;\s*Secure/i);
  });
});

describe('a request known by its headers alone ({ headers })', () => {
  it('is claimed by its Cookie header, as a request is', async () => {
    const alice = await storedSession();
    const s = await Session.load(dsn, { headers: new Headers({ cookie: `CGISESSID=${alice.id()}` }) }, args);
    expect(s.id()).toBe(alice.id());
    expect(s.param('user')).toBe('alice');
  });
});
