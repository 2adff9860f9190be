import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';

const dsn = 'driver:memory';
const args = { Namespace: `name-${randomBytes(6).toString('hex')}` };

afterEach(() => {
  Session.name('CGISESSID');
});

function requestWithCookie(cookie: string): Request {
  return new Request('http://localhost/', { headers: { cookie } });
}

describe('name', () => {
  it("S64: Session.name() is 'CGISESSID' by default; Session.name('fluffy') sets and returns it", () => {
    expect(Session.name()).toBe('CGISESSID');
    expect(Session.name('fluffy')).toBe('fluffy');
    expect(Session.name()).toBe('fluffy');
  });

  it('S64: a process default that is not a cookie name throws SessionError', () => {
    expect(() => Session.name('bad name;')).toThrow(SessionError);
    expect(Session.name()).toBe('CGISESSID');
  });

  it('S65: s.name() follows the process default until s gets its own name', async () => {
    const s = await Session.new(dsn, null, args);
    const t = await Session.new(dsn, null, args);
    expect(s.name()).toBe('CGISESSID');
    Session.name('changed');
    expect(s.name()).toBe('changed');
    expect(s.name('spot')).toBe('spot');
    expect(s.name()).toBe('spot');
    expect(Session.name()).toBe('changed');
    expect(t.name()).toBe('changed');
    expect(s.cookie()).toMatch(new RegExp(`^spot=${s.id()}`));
    expect(t.cookie()).toMatch(new RegExp(`^changed=${t.id()}`));
  });

  it('S65: a name set with Session.name() decides which cookie new sessions read', async () => {
    const s = await Session.new(dsn, null, args);
    await s.flush();
    Session.name('fluffy');
    expect((await Session.new(dsn, requestWithCookie(`fluffy=${s.id()}`), args)).id()).toBe(s.id());
    expect((await Session.new(dsn, requestWithCookie(`CGISESSID=${s.id()}`), args)).id()).not.toBe(s.id());
  });

  it('S66: sessionParams.name names this session only and is where its claim is read from', async () => {
    const stored = await Session.new(dsn, null, args);
    await stored.flush();

    const itchy = await Session.new(dsn, requestWithCookie(`itchy=${stored.id()}`), args, { name: 'itchy' });
    expect(itchy.name()).toBe('itchy');
    expect(itchy.id()).toBe(stored.id());
    expect(Session.name()).toBe('CGISESSID');
    expect((await Session.new(dsn, null, args)).name()).toBe('CGISESSID');

    const wrongCookie = await Session.new(dsn, requestWithCookie(`CGISESSID=${stored.id()}`), args, { name: 'itchy' });
    expect(wrongCookie.id()).not.toBe(stored.id());
    expect(wrongCookie.isNew()).toBe(true);
  });

  it('S66: sessionParams.name also names the query param when idFrom includes "query"', async () => {
    const stored = await Session.new(dsn, null, args);
    await stored.flush();
    const fromParam = await Session.load(dsn, new URLSearchParams({ itchy: stored.id()! }), args, { name: 'itchy', idFrom: ['cookie', 'query'] });
    expect(fromParam.id()).toBe(stored.id());
    const defaultName = await Session.load(dsn, new URLSearchParams({ CGISESSID: stored.id()! }), args, { name: 'itchy', idFrom: ['cookie', 'query'] });
    expect(defaultName.isEmpty()).toBe(true);
  });
});
