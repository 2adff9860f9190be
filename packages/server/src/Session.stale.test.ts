import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSessionError } from '@isosession/core';
import { Session, clearMemoryStore } from './index.js';
import type { DsnArgs, SessionParams } from './index.js';
import { tombstoneKey } from './tombstone.js';

// A write sent with the pre-login cookie that arrives after the login's regenerate() (or a
// logout's delete()) must not get a new session and a Set-Cookie that replaces the newer one.

const T0 = 1_700_000_000;

function setup(extra: SessionParams = {}) {
  const state = { ms: T0 * 1000 };
  const namespace = `stale-${randomBytes(6).toString('hex')}`;
  const dsnArgs: DsnArgs = { Namespace: namespace };
  const params: SessionParams = { now: () => state.ms, ...extra };
  const open = (mode: 'new' | 'load', claim: Request | string | null) =>
    mode === 'new' ? Session.new('driver:memory', claim, dsnArgs, params) : Session.load('driver:memory', claim, dsnArgs, params);
  return {
    dsnArgs,
    params,
    open,
    advance(seconds: number) {
      state.ms += seconds * 1000;
    },
    cleanup: () => clearMemoryStore(namespace),
  };
}

function request(id: string): Request {
  return new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${id}` } });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isSessionError(error) ? error.code : String(error);
  }
}

/** A stored session with a cart, and the request of its browser. */
async function visitor(store: ReturnType<typeof setup>) {
  const created = await store.open('new', null);
  created.param('cart', ['mug']);
  await created.flush();
  return created.id()!;
}

describe('a request whose id was regenerated or deleted moments ago (tombstone)', () => {
  it('after a login (regenerate) the old cookie gets STALE from new() and load(): no new session, nothing stored', async () => {
    const store = setup();
    const oldId = await visitor(store);
    const login = await store.open('new', request(oldId));
    login.regenerate();
    login.param('user', 'erin');
    await login.flush();
    const driver = login.driver();
    const keysBefore: string[] = [];
    await driver.traverse((key) => { keysBefore.push(key); });

    expect(await codeOf(store.open('new', request(oldId)))).toBe('STALE');
    expect(await codeOf(store.open('load', request(oldId)))).toBe('STALE');
    expect(Session.errstr()).toMatch(/replaced moments ago .* retry with the browser's current cookie/);
    const keysAfter: string[] = [];
    await driver.traverse((key) => { keysAfter.push(key); });
    expect(keysAfter.sort()).toEqual(keysBefore.sort());
    // The browser's new cookie still names the logged-in session.
    expect((await store.open('new', request(login.id()!))).param('user')).toBe('erin');
    store.cleanup();
  });

  it('after a logout (delete) the old cookie gets STALE too', async () => {
    const store = setup();
    const id = await visitor(store);
    const logout = await store.open('load', request(id));
    logout.delete();
    await logout.flush();
    expect(await codeOf(store.open('new', request(id)))).toBe('STALE');
    store.cleanup();
  });

  it('a request that loaded the session before the login and flushes after it gets STALE, not a resurrection', async () => {
    const store = setup();
    const oldId = await visitor(store);
    const write = await store.open('new', request(oldId));
    const read = await store.open('new', request(oldId));
    const login = await store.open('new', request(oldId));
    login.regenerate();
    await login.flush();
    write.param('cart', ['mug', 'lamp']);
    expect(await codeOf(write.flush())).toBe('STALE');
    // A read only touches atime: it must not report success (its cookie would be the old id).
    expect(await codeOf(read.flush())).toBe('STALE');
    expect(write.isEmpty()).toBe(true);
    expect(await login.driver().retrieve(oldId)).toBeNull();
    store.cleanup();
  });

  it('the tombstone holds neither the new id nor the data: it never leads to the logged-in session', async () => {
    const store = setup();
    const oldId = await visitor(store);
    const login = await store.open('new', request(oldId));
    login.regenerate();
    login.param('token', 'private-token');
    await login.flush();
    const raw = await login.driver().retrieve(tombstoneKey(oldId));
    const text = JSON.stringify(raw);
    expect(text).toContain('_SESSION_TOMBSTONE');
    expect(text).not.toContain(login.id()!);
    expect(text).not.toContain(oldId);
    expect(text).not.toContain('mug');
    expect(text).not.toContain('private-token');
    // Presenting the tombstone's own key as a cookie is no way in either.
    expect(await codeOf(store.open('new', request(tombstoneKey(oldId))))).toBe('STALE');
    store.cleanup();
  });

  it('after the grace period (default 60 s) the old cookie is just unknown: a fresh session, the tombstone removed', async () => {
    const store = setup();
    const oldId = await visitor(store);
    const login = await store.open('new', request(oldId));
    login.regenerate();
    await login.flush();
    store.advance(59);
    expect(await codeOf(store.open('new', request(oldId)))).toBe('STALE');
    store.advance(1);
    const fresh = await store.open('new', request(oldId));
    expect(fresh.isNew()).toBe(true);
    expect(fresh.id()).not.toBe(oldId);
    expect(fresh.id()).not.toBe(login.id());
    expect(await login.driver().retrieve(tombstoneKey(oldId))).toBeNull();
    store.cleanup();
  });

  it('staleGrace sets the period; 0 leaves no tombstone (the old behaviour)', async () => {
    const short = setup({ staleGrace: '5s' });
    const a = await visitor(short);
    const loginA = await short.open('new', request(a));
    loginA.regenerate();
    await loginA.flush();
    short.advance(4);
    expect(await codeOf(short.open('new', request(a)))).toBe('STALE');
    short.advance(1);
    expect((await short.open('new', request(a))).isNew()).toBe(true);
    short.cleanup();

    const none = setup({ staleGrace: 0 });
    const b = await visitor(none);
    const loginB = await none.open('new', request(b));
    loginB.regenerate();
    await loginB.flush();
    expect(await loginB.driver().retrieve(tombstoneKey(b))).toBeNull();
    expect((await none.open('new', request(b))).isNew()).toBe(true);
    none.cleanup();
  });

  it('a bad staleGrace is refused at construction with INVALID_DURATION', async () => {
    const store = setup({ staleGrace: 'soon' });
    expect(await codeOf(store.open('new', null))).toBe('INVALID_DURATION');
  });

  it('a string sid (a job, an admin) is not a browser: the CGI::Session rule holds, and its removals leave no tombstone', async () => {
    const store = setup();
    const oldId = await visitor(store);
    const login = await store.open('new', request(oldId));
    login.regenerate();
    await login.flush();
    const fresh = await store.open('new', oldId);
    expect(fresh.isNew()).toBe(true);
    expect((await store.open('load', oldId)).isEmpty()).toBe(true);

    const id = await visitor(store);
    const admin = await store.open('load', id);
    admin.delete();
    await admin.flush();
    expect(await admin.driver().retrieve(tombstoneKey(id))).toBeNull();
    expect((await store.open('new', request(id))).isNew()).toBe(true);
    store.cleanup();
  });

  it('find() never hands a tombstone over as a session, and purges it once its grace is over', async () => {
    const store = setup();
    const oldId = await visitor(store);
    const login = await store.open('new', request(oldId));
    login.regenerate();
    await login.flush();
    const seen: string[] = [];
    const report = await Session.find('driver:memory', (s) => { seen.push(s.id()!); }, store.dsnArgs, store.params);
    expect(seen).toEqual([login.id()]);
    expect(report).toEqual({ visited: 1, purged: 0, failed: [] });
    expect(await login.driver().retrieve(tombstoneKey(oldId))).not.toBeNull();
    store.advance(61);
    const later = await Session.find('driver:memory', () => undefined, store.dsnArgs, store.params);
    expect(later).toEqual({ visited: 1, purged: 0, failed: [] });
    expect(await login.driver().retrieve(tombstoneKey(oldId))).toBeNull();
    store.cleanup();
  });

  it('with hashIds the tombstone is keyed from the hashed id and still answers STALE', async () => {
    const store = setup({ hashIds: true });
    const oldId = await visitor(store);
    const login = await store.open('new', request(oldId));
    login.regenerate();
    await login.flush();
    expect(await codeOf(store.open('new', request(oldId)))).toBe('STALE');
    store.cleanup();
  });

  it.each(['json', 'yaml', 'superjson', 'v8', 'dumper'])('the tombstone reads back as one with serializer %s', async (serializer) => {
    const dsnArgs = { Namespace: `stale-${randomBytes(6).toString('hex')}` };
    const dsn = `driver:memory;serializer:${serializer}`;
    const created = await Session.new(dsn, null, dsnArgs);
    created.param('n', 1);
    await created.flush();
    const oldId = created.id()!;
    const login = await Session.new(dsn, request(oldId), dsnArgs);
    login.regenerate();
    await login.flush();
    expect(await codeOf(Session.new(dsn, request(oldId), dsnArgs))).toBe('STALE');
    const seen: string[] = [];
    await Session.find(dsn, (s) => { seen.push(s.id()!); }, dsnArgs);
    expect(seen).toEqual([login.id()]);
    clearMemoryStore(dsnArgs.Namespace);
  });
});
