import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';
import { signId } from '../signedId.js';

const dsn = 'driver:memory;id:static';
// A client-chosen id must be signed to be a claim: id:static with a request needs a secret.
const SECRET = 'static-test-secret-of-more-than-32-chars';
const signed = { secret: SECRET };

function args(extra: Record<string, unknown> = {}) {
  return { Namespace: `static-${randomBytes(6).toString('hex')}`, ...extra };
}

describe('id:static', () => {
  it('S83: the id is the claimed string id', async () => {
    const s = await Session.new(dsn, 'my-fixed-id', args());
    expect(s.id()).toBe('my-fixed-id');
    expect(s.isNew()).toBe(true);
  });

  it('S83: the id is the claim read from a query (cookie, or param with idFrom query)', async () => {
    const fromRequest = await Session.new(dsn, new Request('http://localhost/', { headers: { cookie: `CGISESSID=${signId('from-cookie', SECRET)}` } }), args(), signed);
    expect(fromRequest.id()).toBe('from-cookie');
    const cgi = { cookie: (name: string) => (name === 'CGISESSID' ? signId('cgi-cookie', SECRET) : undefined) };
    expect((await Session.new(dsn, cgi, args(), signed)).id()).toBe('cgi-cookie');
    const fromParam = await Session.new(dsn, new URLSearchParams({ itchy: signId('2001', SECRET) }), args(), { ...signed, name: 'itchy', idFrom: ['cookie', 'query'] });
    expect(fromParam.id()).toBe('2001');
  });

  it('S83: without a claim the id is dsnArgs.Id; a claim wins over it', async () => {
    expect((await Session.new(dsn, null, args({ Id: 'configured' }))).id()).toBe('configured');
    expect((await Session.new(dsn, 'claimed', args({ Id: 'configured' }))).id()).toBe('claimed');
  });

  it('S83: with neither a claim nor dsnArgs.Id, new() rejects with SessionError', async () => {
    await expect(Session.new(dsn, null, args())).rejects.toBeInstanceOf(SessionError);
    // t/name.t: a claim under another cookie name is no claim.
    const wrongName = new Request('http://localhost/', { headers: { cookie: `CGISESSID=${signId('2001', SECRET)}` } });
    await expect(Session.new(dsn, wrongName, args(), { ...signed, name: 'itchy' })).rejects.toBeInstanceOf(SessionError);
    expect(Session.errstr()).toMatch(/Id/);
  });

  it('S83: a stored static session is loaded, not recreated', async () => {
    const shared = args();
    const s = await Session.new(dsn, 'the-one', shared);
    s.param('n', 1);
    await s.flush();
    const again = await Session.new(dsn, 'the-one', shared);
    expect(again.isNew()).toBe(false);
    expect(again.param('n')).toBe(1);
  });
});
