import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Session } from '@isosession/server';

const dsn = 'driver:memory';
const args = { Namespace: `readonly-${randomBytes(6).toString('hex')}` };

async function stored(): Promise<Session> {
  const s = await Session.new(dsn, null, args);
  s.param('user', 'alice');
  await s.flush();
  return s;
}

describe('readOnly(reason): a session that may be read but never written', () => {
  it('flushes nothing when nothing but the access time changed, and says so in isReadOnly()', async () => {
    const original = await stored();
    const s = (await Session.load(dsn, original.id()!, args)).readOnly('a server component cannot set cookies');
    expect(s.isReadOnly()).toBe(true);
    expect(s.param('user')).toBe('alice');
    await expect(s.flush()).resolves.toBeUndefined();
    await expect(s.close()).resolves.toBeUndefined();
  });

  it('rejects a flush after a change, naming the method and the reason, and stores nothing', async () => {
    const original = await stored();
    const s = (await Session.load(dsn, original.id()!, args)).readOnly('a server component cannot set cookies');
    s.param('user', 'mallory');
    await expect(s.flush()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('flush(): a server component cannot set cookies') });
    expect((await Session.load(dsn, original.id()!, args)).param('user')).toBe('alice');
  });

  it('throws at delete(), and the session stays stored', async () => {
    const original = await stored();
    const s = (await Session.load(dsn, original.id()!, args)).readOnly('read only here');
    expect(() => s.delete()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('delete(): read only here') }));
    expect((await Session.load(dsn, original.id()!, args)).isEmpty()).toBe(false);
  });
});

describe('onFlush(hooks): what an integration does around every flush', () => {
  it('skip leaves the store alone; stored runs after the store took the flush', async () => {
    const seen: string[] = [];
    const s = (await Session.new(dsn, null, args)).onFlush({
      skip: (session) => session.param().length === 0,
      stored: async (session) => {
        const again = await Session.load(dsn, session.id()!, args);
        seen.push(`stored ${String(again.param('n'))}`);
      },
    });
    await s.flush();
    expect(seen).toEqual([]);
    expect((await Session.load(dsn, s.id()!, args)).isEmpty()).toBe(true);
    s.param('n', 1);
    await s.close();
    expect(seen).toEqual(['stored 1']);
  });

  it('fails the flush when stored fails (the store already has the data)', async () => {
    const s = (await Session.new(dsn, null, args)).onFlush({ stored: () => { throw new Error('cannot set the cookie here'); } });
    s.param('n', 1);
    await expect(s.flush()).rejects.toThrow('cannot set the cookie here');
    expect((await Session.load(dsn, s.id()!, args)).param('n')).toBe(1);
  });
});

describe('readOnly with values JSON cannot write', () => {
  it('compares through the session serializer: a BigInt param reads fine and only a change is refused', async () => {
    const created = await Session.new('driver:memory;serializer:superjson', null, args);
    created.param('big', 12345678901234567890n);
    await created.flush();
    const s = (await Session.load('driver:memory;serializer:superjson', created.id()!, args)).readOnly('read only here');
    expect(s.param('big')).toBe(12345678901234567890n);
    await expect(s.flush()).resolves.toBeUndefined();
    s.param('big', 1n);
    await expect(s.flush()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
