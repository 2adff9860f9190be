import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';
import type { SessionParams } from '@isosession/server';
import { signId } from './signedId.js';

// Attacks on the session itself, each refused with a SessionError that says why.

const SECRET = 'k7Rw2pQx9vLm4Tz8bNc1Hy6Fd3Gs5Ja0';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-hardening-'));
});
afterEach(async () => {
  await Session.closeAll();
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const error = await promise.then(() => undefined, (reason: unknown) => reason);
  expect(error).toBeInstanceOf(SessionError);
  return error as SessionError;
}

function thrown(fn: () => unknown): SessionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionError);
    return error as SessionError;
  }
  throw new Error('expected a SessionError, nothing was thrown');
}

const files = async () => (await readdir(dir)).filter((name) => name.startsWith('cgisess_'));

describe('size limits: a client cannot store megabytes in a session', () => {
  it('a 50 MB string param is refused at set (TOO_LARGE) and never stored', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    const error = thrown(() => s.param('note', 'x'.repeat(50 * 1024 * 1024)));
    expect(error.code).toBe('TOO_LARGE');
    expect(error.message).toMatch(/param "note" is over sessionParams.maxParamBytes \(65536 bytes\)/);
    expect(s.param('note')).toBeUndefined();
    await s.flush();
    expect((await Session.load(null, s.id()!, { Directory: dir })).param()).toEqual([]);
  });

  it('a 100 kB object param (not a string) is refused at flush, nothing stored, the stored copy kept', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param('small', 1);
    await s.flush();
    s.param('record', Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`key${i}`, 'v'.repeat(40)])));
    const error = await rejection(s.flush());
    expect(error.code).toBe('TOO_LARGE');
    expect(error.message).toMatch(/param "record" is \d+ bytes once serialized, over sessionParams.maxParamBytes \(65536\); nothing was stored/);
    const stored = await Session.load(null, s.id()!, { Directory: dir });
    expect(stored.param()).toEqual(['small']);
  });

  it('many params each under the param limit but 300 kB together are refused at flush (maxSessionBytes 256 kB)', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    for (let i = 0; i < 6; i++) s.param(`chunk${i}`, 'y'.repeat(50 * 1024));
    const error = await rejection(s.flush());
    expect(error.code).toBe('TOO_LARGE');
    expect(error.message).toMatch(/the session is \d+ bytes once serialized, over sessionParams.maxSessionBytes \(262144\); nothing was stored/);
    expect(await files()).toEqual([]);
  });

  it('a session over the limit can still shrink: clearing params is never refused', async () => {
    const big = { Directory: dir };
    const s = await Session.new(null, null, big, { maxSessionBytes: 1024 * 1024 });
    for (let i = 0; i < 7; i++) s.param(`chunk${i}`, 'y'.repeat(50 * 1024));
    await s.flush();
    // Stored under a higher limit (or before there was one): 350 kB, over today's 256 kB.
    const limited = await Session.load(null, s.id()!, big);
    limited.clear('chunk0');
    await limited.flush();
    expect((await Session.load(null, s.id()!, big)).param()).toHaveLength(6);
    limited.param('more', 'z');
    expect((await rejection(limited.flush())).code).toBe('TOO_LARGE');
  });

  it('the limits are configurable through sessionParams, and a bad limit is a configuration error', async () => {
    const s = await Session.new(null, null, { Directory: dir }, { maxParamBytes: 100, maxSessionBytes: 1000 });
    expect(thrown(() => s.param('a', 'x'.repeat(101))).code).toBe('TOO_LARGE');
    s.param('b', 'x'.repeat(50));
    await s.flush();
    const error = await rejection(Session.new(null, null, { Directory: dir }, { maxParamBytes: -1 } as SessionParams));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('maxParamBytes');
  });
});

describe('guessable ids never reach a client unless signed', () => {
  it('id:incr for a request is refused without secret (a visitor who subtracts one becomes the previous visitor)', async () => {
    const args = { Directory: dir, IDFile: join(dir, 'ids') };
    const error = await rejection(Session.new('driver:file;id:incr', new Request('http://shop.test/'), args));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/id:incr.*guess.*sessionParams\.secret/);
  });

  it('id:static for a request is refused without secret (the client would choose its own id)', async () => {
    const error = await rejection(Session.new('driver:file;id:static', new Request('http://shop.test/', { headers: { cookie: 'CGISESSID=admin' } }), { Directory: dir }));
    expect(error.message).toMatch(/id:static.*sessionParams\.secret/);
  });

  it('id:incr: building a cookie for a session made from a string id is refused without secret', async () => {
    const s = await Session.new('driver:file;id:incr', null, { Directory: dir, IDFile: join(dir, 'ids') });
    expect(s.id()).toBe('1');
    expect(thrown(() => s.cookie()).message).toMatch(/id:incr/);
    expect(thrown(() => s.header()).message).toMatch(/id:incr/);
  });

  it('with secret, id:incr and id:static serve requests: the id the client holds is signed', async () => {
    const args = { Directory: dir, IDFile: join(dir, 'ids') };
    const s = await Session.new('driver:file;id:incr', new Request('http://shop.test/'), args, { secret: SECRET });
    expect(s.cookie()).toContain(`CGISESSID=${encodeURIComponent(signId(s.id()!, SECRET))}`);
    const claimed = await Session.new('driver:file;id:static', new Request('http://shop.test/', { headers: { cookie: `CGISESSID=${signId('alice', SECRET)}` } }), { Directory: dir }, { secret: SECRET });
    expect(claimed.id()).toBe('alice');
  });
});

describe('configuration that looks safe but is not is refused at construction', () => {
  for (const [label, secret] of [
    ['32 spaces', ' '.repeat(32)],
    ['32 times the same character', 'a'.repeat(32)],
    ['a short pattern repeated', 'abc1'.repeat(8)],
    ['tabs and newlines', '\t\n'.repeat(16)],
    ['a run of consecutive characters', 'abcdefghijklmnopqrstuvwxyzABCDEF'],
    ['31 bytes', 'k7Rw2pQx9vLm4Tz8bNc1Hy6Fd3Gs5Ja'],
  ] as const) {
    it(`a secret of ${label} is refused (it has no real entropy)`, async () => {
      const error = await rejection(Session.new(null, null, { Directory: dir }, { secret }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('sessionParams.secret');
    });
  }

  it('a weak secret in a rotation list is refused too', async () => {
    const error = await rejection(Session.new(null, null, { Directory: dir }, { secret: [SECRET, ' '.repeat(40)] }));
    expect(error.message).toContain('sessionParams.secret');
  });

  it('sessionParams.name is validated at construction, not only when the cookie is built', async () => {
    const error = await rejection(Session.new(null, null, { Directory: dir }, { name: 'sid; Domain=evil.test' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('invalid session name');
  });

  it('sameSite "NONE" in any case gives SameSite=None with Secure (browsers drop None without it)', async () => {
    const s = await Session.new(null, new Request('http://shop.test/'), { Directory: dir });
    for (const sameSite of ['NONE', 'None', 'none']) {
      const cookie = s.cookie({ sameSite: sameSite as 'none' });
      expect(cookie).toContain('SameSite=None');
      expect(cookie).toContain('Secure');
    }
    expect(s.cookie({ sameSite: 'STRICT' as 'strict' })).toContain('SameSite=Strict');
  });
});
