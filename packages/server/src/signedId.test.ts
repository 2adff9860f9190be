import { describe, expect, it } from 'vitest';
import { Session } from './index.js';
import { isSessionError } from '@isosession/core';
import { signId, unsignId } from './signedId.js';
import { spyStore } from './testing/spyDriver.js';

const SECRET = 'a-test-secret-that-is-at-least-32-characters';
const OLD_SECRET = 'an-older-secret-still-accepted-for-rotation';

function requestWith(cookie: string): Request {
  return new Request('http://localhost/', { headers: { cookie } });
}

async function storedSession(secret: string | string[]) {
  const store = spyStore();
  const created = await Session.new(store.dsn, null, store.dsnArgs, { secret });
  created.param('user', 'alice');
  await created.flush();
  store.recorder.calls.length = 0;
  return { ...store, created, id: created.id() as string };
}

describe('signId / unsignId', () => {
  it('round-trips, and refuses another secret, a bare id and a changed id or signature', () => {
    const signed = signId('abc', SECRET);
    expect(signed).toMatch(/^abc\.[A-Za-z0-9_-]{43}$/);
    expect(unsignId(signed, [SECRET])).toBe('abc');
    expect(unsignId(signed, [OLD_SECRET])).toBeUndefined();
    expect(unsignId('abc', [SECRET])).toBeUndefined();
    expect(unsignId(signed.replace('abc', 'abd'), [SECRET])).toBeUndefined();
    const last = signed.at(-1) === 'A' ? 'B' : 'A';
    expect(unsignId(signed.slice(0, -1) + last, [SECRET])).toBeUndefined();
    expect(unsignId(`${signed}x`, [SECRET])).toBeUndefined();
    expect(unsignId(`.${signed.split('.')[1]}`, [SECRET])).toBeUndefined();
  });

  it('verifies with any secret of a rotation list', () => {
    expect(unsignId(signId('abc', OLD_SECRET), [SECRET, OLD_SECRET])).toBe('abc');
  });
});

describe('signed ids (sessionParams.secret)', () => {
  it('S67: the cookie carries id.signature, and that cookie loads the session', async () => {
    const { dsn, dsnArgs, id, recorder } = await storedSession(SECRET);
    const probe = await Session.load(dsn, id, dsnArgs, { secret: SECRET });
    const value = probe.cookieValue() as string;
    expect(value).toBe(signId(id, SECRET));
    expect(probe.cookie()).toContain(`CGISESSID=${value};`);
    const loaded = await Session.new(dsn, requestWith(`CGISESSID=${value}`), dsnArgs, { secret: SECRET });
    expect(loaded.id()).toBe(id);
    expect(loaded.param('user')).toBe('alice');
    expect(recorder.ids()).toContain(id);
  });

  it('an unsigned cookie naming a live session is no claim: fresh session, no store lookup', async () => {
    const { dsn, dsnArgs, id, recorder } = await storedSession(SECRET);
    const session = await Session.new(dsn, requestWith(`CGISESSID=${id}`), dsnArgs, { secret: SECRET });
    expect(session.isNew()).toBe(true);
    expect(session.id()).not.toBe(id);
    expect(recorder.calls.filter((call) => call.op === 'retrieve')).toEqual([]);
  });

  it('a forged or foreign-secret signature is no claim: fresh session, no store lookup', async () => {
    const { dsn, dsnArgs, id, recorder } = await storedSession(SECRET);
    for (const forged of [signId(id, 'x'.repeat(40)), `${id}.${'A'.repeat(43)}`, `${id}.`, `${id}.${signId(id, SECRET).split('.')[1]}extra`]) {
      const session = await Session.new(dsn, requestWith(`CGISESSID=${forged}`), dsnArgs, { secret: SECRET });
      expect(session.isNew()).toBe(true);
      expect(session.id()).not.toBe(id);
    }
    expect(recorder.calls.filter((call) => call.op === 'retrieve')).toEqual([]);
  });

  it('rotation: a cookie signed with an older secret still loads, and is re-signed with the first', async () => {
    const { dsn, dsnArgs, id } = await storedSession(OLD_SECRET);
    const session = await Session.new(dsn, requestWith(`CGISESSID=${signId(id, OLD_SECRET)}`), dsnArgs, { secret: [SECRET, OLD_SECRET] });
    expect(session.id()).toBe(id);
    expect(session.cookieValue()).toBe(signId(id, SECRET));
    const dropped = await Session.new(dsn, requestWith(`CGISESSID=${signId(id, OLD_SECRET)}`), dsnArgs, { secret: SECRET });
    expect(dropped.id()).not.toBe(id);
  });

  it('S17: with idFrom query, the URL param must carry the signed value too', async () => {
    const { dsn, dsnArgs, id } = await storedSession(SECRET);
    const params = { secret: SECRET, idFrom: ['cookie', 'query'] as ('cookie' | 'query')[] };
    const signed = await Session.new(dsn, new URLSearchParams({ CGISESSID: signId(id, SECRET) }), dsnArgs, params);
    expect(signed.id()).toBe(id);
    const bare = await Session.new(dsn, new URLSearchParams({ CGISESSID: id }), dsnArgs, params);
    expect(bare.id()).not.toBe(id);
  });

  it('a string sid is the caller\'s own trusted id and needs no signature', async () => {
    const { dsn, dsnArgs, id } = await storedSession(SECRET);
    expect((await Session.load(dsn, id, dsnArgs, { secret: SECRET })).param('user')).toBe('alice');
  });

  it('without a secret, ids are not signed', async () => {
    const session = await Session.new(null, null, null, { now: () => 0 });
    expect(session.cookieValue()).toBe(session.id());
  });

  it.each([[''], ['short'], [[]], [['x'.repeat(40), 'short']], [42]])('a bad secret (%j) fails at construction', async (secret) => {
    const store = spyStore();
    const error = await Session.new(store.dsn, null, store.dsnArgs, { secret: secret as string }).catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/secret must be a random string of at least 32 bytes/);
  });
});
