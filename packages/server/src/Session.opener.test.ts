import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Session, createMemoryDriver, registerDriver } from '@isosession/server';
import type { SessionParams } from '@isosession/server';

const args = { Namespace: `opener-${randomBytes(6).toString('hex')}` };
const withCookie = (value: string) => new Request('http://app.test/', { headers: { cookie: `CGISESSID=${value}` } });

describe('Session.opener: sessions of one configuration for many requests', () => {
  it('opens the session a request claims, creates one only with newSession', async () => {
    const sessions = Session.opener('driver:memory', args);
    const created = await sessions.newSession(new Request('http://app.test/'));
    created.param('user', 'alice');
    await created.flush();
    expect((await sessions.newSession(withCookie(created.id()!))).param('user')).toBe('alice');
    expect((await sessions.loadSession(withCookie(created.id()!))).param('user')).toBe('alice');
    const unknown = await sessions.loadSession(withCookie('f'.repeat(32)));
    expect(unknown.isEmpty()).toBe(true);
  });

  it('refuses a broken configuration with the messages Session.new gives, at every open', async () => {
    const sessions = Session.opener('driver:memory', args, ['not', 'params'] as unknown as SessionParams);
    const message = 'new(): the 4th argument (sessionParams) must be an object or null, got an array';
    await expect(sessions.newSession(new Request('http://app.test/'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(message) });
    await expect(sessions.newSession(new Request('http://app.test/'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(Session.opener('driver:memory', args, { secret: 'short' }).newSession(new Request('http://app.test/'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('sessionParams.secret') });
  });

  it('checks a failed configuration again next time: a driver registered after the middleware was made works', async () => {
    const name = `late${randomBytes(4).toString('hex')}`;
    const sessions = Session.opener(`driver:${name}`, args);
    await expect(sessions.newSession(new Request('http://app.test/'))).rejects.toMatchObject({ code: 'INVALID_DSN' });
    registerDriver(name, createMemoryDriver);
    expect((await sessions.newSession(new Request('http://app.test/'))).isNew()).toBe(true);
  });

  it('keeps working after Session.closeAll(): the driver is looked up at every open', async () => {
    const sessions = Session.opener('driver:memory', args);
    const first = await sessions.newSession(new Request('http://app.test/'));
    first.param('n', 1);
    await first.flush();
    await Session.closeAll();
    expect((await sessions.loadSession(withCookie(first.id()!))).param('n')).toBe(1);
  });
});
