import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { isSessionError } from '@isosession/core';
import { Session } from '@isosession/server';
import { createMemorySessionBus, defineSessionParams } from '@isosession/trpc';
import type { SessionChange } from '@isosession/trpc';
import { fakeRequest } from './testing/fakeRequest.js';
import type { FakeRequest } from './testing/fakeRequest.js';

let current: FakeRequest;
vi.mock('next/headers.js', () => ({
  cookies: async () => current.jar,
  headers: async () => current.headers,
}));

const { getSession } = await import('./getSession.js');
const { snapshot } = await import('./snapshot.js');

const dsn = 'driver:memory';
let dsnArgs: { Namespace: string };
const params = defineSessionParams({
  theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
  user: { schema: z.string().nullable(), default: null },
});

beforeEach(() => {
  dsnArgs = { Namespace: `next-${randomUUID()}` };
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A stored session, as an earlier request would have left it. */
async function storedSession(values: Record<string, unknown> = {}): Promise<string> {
  const session = await Session.new(dsn, null, dsnArgs);
  session.param(values);
  await session.flush();
  return session.id() as string;
}

async function load(id: string): Promise<Session> {
  return Session.load(dsn, id, dsnArgs);
}

/** The stored record as it is: find() hands sessions over without moving their access time. */
async function storedRecord(id: string): Promise<Readonly<Record<string, unknown>> | undefined> {
  let found: Readonly<Record<string, unknown>> | undefined;
  await Session.find(dsn, (s) => {
    if (s.id() === id) found = s.dataref();
  }, dsnArgs);
  return found;
}

function record(bus = createMemorySessionBus()) {
  const changes: SessionChange[] = [];
  const publish = bus.publish.bind(bus);
  bus.publish = (change) => {
    changes.push(change);
    return publish(change);
  };
  return { bus, changes };
}

describe('getSession in a server component (read-only)', () => {
  it('loads the session the cookie names, and flushing it unchanged writes nothing and sets no cookie', async () => {
    const id = await storedSession({ theme: 'dark' });
    // Read through find(): a load would move the access time in memory to the current second,
    // and a second boundary crossed between two loads looked like a write.
    const before = await storedRecord(id);
    expect(before).toMatchObject({ theme: 'dark' });
    current = fakeRequest({ cookies: { CGISESSID: id }, writable: false });
    const session = await getSession({ dsn, dsnArgs });
    expect(session.id()).toBe(id);
    expect(session.param('theme')).toBe('dark');
    await session.flush();
    await session.close();
    expect(current.jar.written).toEqual([]);
    expect(await storedRecord(id)).toEqual(before);
  });

  it('never creates a session for a visitor without one', async () => {
    current = fakeRequest({ writable: false });
    const session = await getSession({ dsn, dsnArgs });
    expect(session.isEmpty()).toBe(true);
    const ids: string[] = [];
    await Session.find(dsn, (s) => void ids.push(s.id() as string), dsnArgs);
    expect(ids).toEqual([]);
  });

  it('refuses to flush a change or delete, with a message that says where to change sessions', async () => {
    const id = await storedSession({ theme: 'light' });
    current = fakeRequest({ cookies: { CGISESSID: id }, writable: false });
    const session = await getSession({ dsn, dsnArgs });
    session.param('theme', 'dark');
    const error = await session.flush().catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/server action or route handler/);
    expect(() => session.delete()).toThrow(/read-only/);
    expect((await load(id)).param('theme')).toBe('light');
    expect(current.jar.written).toEqual([]);
  });

  it('a server action that writes nothing to a new session stores nothing and sets no cookie', async () => {
    current = fakeRequest({ writable: true });
    const session = await getSession({ dsn, dsnArgs });
    session.expire('1h');
    await session.flush();
    expect(current.jar.written).toEqual([]);
    const ids: string[] = [];
    await Session.find(dsn, (s) => void ids.push(s.id() as string), dsnArgs);
    expect(ids).toEqual([]);
  });

  it('ipMatch: a server action without a client address is refused; the remoteAddr option binds the session to one', async () => {
    current = fakeRequest({ writable: true });
    const error = await getSession({ dsn, dsnArgs, sessionParams: { ipMatch: true } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SessionError', code: 'INVALID_ARGUMENT', message: expect.stringMatching(/ipMatch is on/) });
    current = fakeRequest({ writable: true, headers: { 'x-real-ip': '10.0.0.1' } });
    const bound = await getSession({ dsn, dsnArgs, sessionParams: { ipMatch: true }, remoteAddr: (h) => h.get('x-real-ip') ?? undefined });
    bound.param('theme', 'dark');
    await bound.flush();
    expect(bound.remoteAddr()).toBe('10.0.0.1');
    current = fakeRequest({ writable: false, cookies: { CGISESSID: bound.id() as string }, headers: { 'x-real-ip': '10.6.6.6' } });
    expect((await getSession({ dsn, dsnArgs, sessionParams: { ipMatch: true }, remoteAddr: (h) => h.get('x-real-ip') ?? undefined })).isEmpty()).toBe(true);
  });

  it('mode "read" keeps a writable request read-only', async () => {
    current = fakeRequest({ writable: true });
    const session = await getSession({ dsn, dsnArgs, mode: 'read' });
    expect(session.isEmpty()).toBe(true);
  });
});

describe('getSession in a server action or route handler (read-write)', () => {
  it('creates a session for a new visitor; flush stores it and sets an HttpOnly, SameSite=Lax cookie carrying only the id', async () => {
    const { bus, changes } = record();
    current = fakeRequest({ writable: true });
    const session = await getSession({ dsn, dsnArgs, bus });
    session.param('theme', 'dark');
    session.expire('1h');
    await session.flush();
    const id = session.id() as string;
    expect((await load(id)).param('theme')).toBe('dark');
    expect(current.jar.written).toHaveLength(1);
    expect(current.jar.written[0]).toMatchObject({ name: 'CGISESSID', value: id, httpOnly: true, sameSite: 'lax', path: '/', maxAge: 3600 });
    expect(current.jar.written[0]?.secure).toBeFalsy(); // plain http: no Secure attribute
    expect(changes).toEqual([{ id, version: session.version() }]);
  });

  it('marks the cookie Secure when Next.js recorded https', async () => {
    current = fakeRequest({ writable: true, headers: { 'x-forwarded-proto': 'https' } });
    const session = await getSession({ dsn, dsnArgs });
    session.param('theme', 'dark');
    await session.flush();
    expect(current.jar.written[0]?.secure).toBe(true);
  });

  it('regenerate(): the cookie moves to the new id, the old id is gone, and only the new id is announced', async () => {
    const id = await storedSession({ theme: 'dark' });
    const { bus, changes } = record();
    current = fakeRequest({ cookies: { CGISESSID: id }, writable: true });
    const session = await getSession({ dsn, dsnArgs, bus });
    session.regenerate();
    session.param('user', 'alice');
    await session.flush();
    const next = session.id() as string;
    expect(next).not.toBe(id);
    expect(current.jar.written.at(-1)).toMatchObject({ name: 'CGISESSID', value: next });
    expect((await load(id)).isEmpty()).toBe(true);
    expect((await load(next)).param('user')).toBe('alice');
    // A "deleted" for the old id would send its tabs to refresh with the old cookie, racing
    // the new one to the browser.
    expect(changes).toEqual([{ id: next, version: session.version() }]);
  });

  it('delete(): the cookie is removed and the watchers of the session are told it ended', async () => {
    const id = await storedSession({ theme: 'dark' });
    const { bus, changes } = record();
    current = fakeRequest({ cookies: { CGISESSID: id }, writable: true });
    const session = await getSession({ dsn, dsnArgs, bus });
    session.delete();
    await session.flush();
    expect(current.jar.written.at(-1)).toMatchObject({ name: 'CGISESSID', value: '', maxAge: 0 });
    expect((await load(id)).isEmpty()).toBe(true);
    expect(changes).toEqual([{ id, version: 0, deleted: true }]);
  });

  it('a second getSession in the same action sees the session the first one created', async () => {
    current = fakeRequest({ writable: true });
    const first = await getSession({ dsn, dsnArgs });
    first.param('user', 'bob');
    await first.flush();
    const second = await getSession({ dsn, dsnArgs });
    expect(second.id()).toBe(first.id());
    expect(second.param('user')).toBe('bob');
  });

  it('takes the address from X-Forwarded-For only with trustProxy', async () => {
    current = fakeRequest({ writable: true, headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } });
    const untrusted = await getSession({ dsn, dsnArgs });
    await untrusted.flush();
    expect(untrusted.remoteAddr()).toBeUndefined();
    current = fakeRequest({ writable: true, headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } });
    const trusted = await getSession({ dsn, dsnArgs, sessionParams: { trustProxy: true } });
    await trusted.flush();
    expect(trusted.remoteAddr()).toBe('203.0.113.7');
  });

  it('mode "write" where cookies cannot be set stores the session but says why the cookie was not sent', async () => {
    current = fakeRequest({ writable: false });
    const session = await getSession({ dsn, dsnArgs, mode: 'write' });
    session.param('theme', 'dark');
    const error = await session.flush().catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/cannot set its cookie/);
  });
});

describe('snapshot', () => {
  it('carries the declared params only (defaults for unset ones), never a private one', async () => {
    const id = await storedSession({ theme: 'dark', account: { token: 'secret-token' } });
    current = fakeRequest({ cookies: { CGISESSID: id }, writable: false });
    const session = await getSession({ dsn, dsnArgs });
    const shot = snapshot(session, params);
    expect(shot).toMatchObject({ tag: session.tag(), params: { theme: 'dark', user: null }, isNew: false });
    expect(JSON.stringify(shot)).not.toContain('secret-token');
  });

  it('the server-rendered snapshot carries neither the id nor the cookie: a script reading the HTML has nothing to replay', async () => {
    const sessionParams = { secret: 'a-signing-secret-of-32-characters-or-more-7f3c1e' };
    const stored = await Session.new(dsn, null, dsnArgs, sessionParams);
    stored.param({ user: 'alice', theme: 'dark' });
    await stored.flush();
    const id = stored.id() as string;
    const cookie = stored.cookieValue() as string;
    current = fakeRequest({ cookies: { CGISESSID: cookie }, writable: false });
    const session = await getSession({ dsn, dsnArgs, sessionParams });
    expect(session.param('user')).toBe('alice');
    // What a page embeds for <SessionProvider initial>, as the RSC payload carries it.
    const html = `<script>self.__next_f.push(${JSON.stringify(JSON.stringify(snapshot(session, params)))})</script>`;
    expect(html).not.toContain(id);
    expect(html).not.toContain(cookie);
    for (const token of html.match(/[A-Za-z0-9_.-]{16,}/g) ?? []) {
      current = fakeRequest({ cookies: { CGISESSID: token }, writable: false });
      expect((await getSession({ dsn, dsnArgs, sessionParams })).isEmpty()).toBe(true);
    }
  });

  it('of a request without a session: INVALID_ARGUMENT pointing at the proxy', async () => {
    current = fakeRequest({ writable: false });
    const session = await getSession({ dsn, dsnArgs });
    expect(() => snapshot(session, params)).toThrow(/createSessionProxy/);
  });
});

describe('getSession with a cookie a login or logout replaced moments ago (stale)', () => {
  /** A login in another request of this browser, whose response has not arrived yet. */
  async function loggedInElsewhere(): Promise<{ oldId: string; newId: string }> {
    const oldId = await storedSession({ theme: 'dark' });
    const login = await Session.new(dsn, new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${oldId}` } }), dsnArgs);
    login.regenerate();
    login.param('user', 'erin');
    await login.flush();
    return { oldId, newId: login.id() as string };
  }

  async function storedCount(): Promise<number> {
    let count = 0;
    await Session.find(dsn, () => void (count += 1), dsnArgs);
    return count;
  }

  it('a server action gets SessionError STALE: no session created, no cookie set', async () => {
    const { oldId } = await loggedInElsewhere();
    current = fakeRequest({ cookies: { CGISESSID: oldId }, writable: true });
    const error = await getSession({ dsn, dsnArgs }).catch((e: unknown) => e);
    expect(isSessionError(error) && error.code).toBe('STALE');
    expect(current.jar.written).toEqual([]);
    expect(await storedCount()).toBe(1);
  });

  it('a server component gets an empty read-only session, never the new one, and no error', async () => {
    const { oldId } = await loggedInElsewhere();
    current = fakeRequest({ cookies: { CGISESSID: oldId }, writable: false });
    const session = await getSession({ dsn, dsnArgs });
    expect(session.isEmpty()).toBe(true);
    expect(session.param('user')).toBeUndefined();
    await session.flush();
    expect(() => session.delete()).toThrow(/read-only/);
    expect(await storedCount()).toBe(1);
  });

  it('the new cookie, once the browser has it, finds the logged-in session', async () => {
    const { newId } = await loggedInElsewhere();
    current = fakeRequest({ cookies: { CGISESSID: newId }, writable: true });
    expect((await getSession({ dsn, dsnArgs })).param('user')).toBe('erin');
  });
});
