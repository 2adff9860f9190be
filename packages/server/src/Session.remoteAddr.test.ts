import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Session } from '@isosession/server';

const dsn = 'driver:memory';
const args = { Namespace: `addr-${randomBytes(6).toString('hex')}` };
const from = (remoteAddr: string) => ({ remoteAddr });

afterEach(() => {
  Session.ipMatch(false);
});

async function created(remoteAddr: string): Promise<string> {
  const s = await Session.new(dsn, null, args, from(remoteAddr));
  s.param('owner', remoteAddr);
  await s.flush();
  return s.id()!;
}

describe('remote address', () => {
  it('S71: remoteAddr() is the creating address, kept in _SESSION_REMOTE_ADDR', async () => {
    const s = await Session.new(dsn, null, args, from('10.1.1.1'));
    expect(s.remoteAddr()).toBe('10.1.1.1');
    expect(s.dataref()._SESSION_REMOTE_ADDR).toBe('10.1.1.1');
  });

  it('S71: loads from other addresses do not change it', async () => {
    const id = await created('10.1.1.1');
    const elsewhere = await Session.load(dsn, id, args, from('10.2.2.2'));
    expect(elsewhere.remoteAddr()).toBe('10.1.1.1');
    elsewhere.param('x', 1);
    await elsewhere.flush();
    expect((await Session.load(dsn, id, args)).remoteAddr()).toBe('10.1.1.1');
  });

  it('S71: no address known gives undefined (plain new, a WHATWG Request)', async () => {
    expect((await Session.new(dsn, null, args)).remoteAddr()).toBeUndefined();
    const fromRequest = await Session.new(dsn, new Request('http://localhost/'), args);
    expect(fromRequest.remoteAddr()).toBeUndefined();
    expect(Object.keys(fromRequest.dataref())).not.toContain('_SESSION_REMOTE_ADDR');
  });

  it('S71: a Node IncomingMessage gives its socket address', async () => {
    let address: string | undefined;
    const server = createServer((req, res) => {
      Session.new(dsn, req, args).then(
        (s) => {
          address = s.remoteAddr();
          res.end('ok');
        },
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(await response.text()).toBe('ok');
      expect(address).toBe('127.0.0.1');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('S72: with ipMatch off (the default) a session loads from any address', async () => {
    expect(Session.ipMatch()).toBe(false);
    const id = await created('10.1.1.1');
    const elsewhere = await Session.load(dsn, id, args, from('192.168.0.9'));
    expect(elsewhere.id()).toBe(id);
    expect(elsewhere.param('owner')).toBe('10.1.1.1');
    expect(elsewhere.ipMatch()).toBe(false);
    expect((await Session.new(dsn, id, args, from('192.168.0.9'))).id()).toBe(id);
  });

  it('S73: with ipMatch on, the creating address gets the session and ipMatch() is true', async () => {
    const id = await created('10.1.1.1');
    const same = await Session.load(dsn, id, args, { remoteAddr: '10.1.1.1', ipMatch: true });
    expect(same.id()).toBe(id);
    expect(same.param('owner')).toBe('10.1.1.1');
    expect(same.ipMatch()).toBe(true);
  });

  it('S73: with ipMatch on, another address gets an empty session and the stored one is deleted', async () => {
    const id = await created('10.1.1.1');
    const other = await Session.load(dsn, id, args, { remoteAddr: '10.6.6.6', ipMatch: true });
    expect(other.isEmpty()).toBe(true);
    expect(other.id()).toBeUndefined();
    // Deleted: not even the creator gets it back now.
    expect((await Session.load(dsn, id, args, { remoteAddr: '10.1.1.1', ipMatch: true })).isEmpty()).toBe(true);
  });

  it('S73: with ipMatch on, new() from another address gets a fresh id', async () => {
    const id = await created('10.1.1.1');
    const other = await Session.new(dsn, id, args, { remoteAddr: '10.6.6.6', ipMatch: true });
    expect(other.id()).not.toBe(id);
    expect(other.isNew()).toBe(true);
    expect(other.param('owner')).toBeUndefined();
    expect(other.remoteAddr()).toBe('10.6.6.6');
  });

  it('S73: Session.ipMatch(true) switches it on process-wide', async () => {
    const id = await created('10.1.1.1');
    expect(Session.ipMatch(true)).toBe(true);
    expect((await Session.load(dsn, id, args, from('10.1.1.1'))).ipMatch()).toBe(true);
    expect((await Session.load(dsn, id, args, from('10.9.9.9'))).isEmpty()).toBe(true);
    expect((await Session.load(dsn, id, args, from('10.1.1.1'))).isEmpty()).toBe(true);
  });

  it('ipMatch fails open no more: a request without a known address (a WHATWG Request) is refused with a SessionError that says what to pass', async () => {
    const request = (headers: Record<string, string> = {}) => new Request('http://app.test/', { headers });
    const error = await Session.new(dsn, request(), args, { ipMatch: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SessionError', code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/ipMatch is on, but this request carries no client address.*remoteAddr.*trustProxy/);
    expect(await Session.load(dsn, request(), args, { ipMatch: true }).catch((e: unknown) => (e as { code: string }).code)).toBe('INVALID_ARGUMENT');
    // Given an address, or with trustProxy from X-Forwarded-For, the session is bound to it.
    const bound = await Session.new(dsn, request(), args, { ipMatch: true, remoteAddr: '10.1.1.1' });
    bound.param('owner', 'a');
    await bound.flush();
    const cookie = { cookie: `CGISESSID=${bound.id()}` };
    // Replayed from another address: refused (and the stored copy deleted, as for any mismatch).
    expect((await Session.load(dsn, request({ ...cookie, 'x-forwarded-for': '10.6.6.6' }), args, { ipMatch: true, trustProxy: true })).isEmpty()).toBe(true);
    const proxied = await Session.new(dsn, request({ 'x-forwarded-for': '10.2.2.2, 10.0.0.1' }), args, { ipMatch: true, trustProxy: true });
    expect(proxied.remoteAddr()).toBe('10.2.2.2');
  });
});
