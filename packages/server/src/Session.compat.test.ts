import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, clearMemoryStore, createMemoryDriver } from '@isosession/server';

// sessionParams.compat: 'cgi-session' (a store shared with Perl CGI::Session), and the atime
// rule for every mode: a session's last access is the later of the driver's atime and the data's.

const T0 = 1_700_000_000;
const at = (seconds: number) => ({ now: () => seconds * 1000 });
let namespace: string;
let dir: string;

beforeEach(async () => {
  namespace = `compat-${randomBytes(6).toString('hex')}`;
  dir = await mkdtemp(join(tmpdir(), 'isosession-compat-'));
});
afterEach(async () => {
  clearMemoryStore(namespace);
  await rm(dir, { recursive: true, force: true });
});

describe('last access: the later of the record atime and the data _SESSION_ATIME (every mode)', () => {
  it('a session whose data atime is newer than the driver atime (Perl wrote it) is not expired by the older one', async () => {
    const id = 'b'.repeat(32);
    const table = { _SESSION_ID: id, _SESSION_CTIME: T0, _SESSION_ATIME: T0 + 100, _SESSION_ETIME: 60, n: 1 };
    // The driver's own atime (an SQL column, a file mtime) stayed at T0: Perl never moves it.
    await createMemoryDriver({ Namespace: namespace }).store(id, JSON.stringify(table), { atime: T0 });
    const s = await Session.load('driver:memory', id, { Namespace: namespace }, at(T0 + 120));
    expect(s.isExpired()).toBe(false);
    expect(s.param('n')).toBe(1);
  });

  it('a driver atime newer than the data (a cheap touch) still counts', async () => {
    const id = 'c'.repeat(32);
    const table = { _SESSION_ID: id, _SESSION_CTIME: T0, _SESSION_ATIME: T0, _SESSION_ETIME: 60 };
    await createMemoryDriver({ Namespace: namespace }).store(id, JSON.stringify(table), { atime: T0 + 100 });
    const s = await Session.load('driver:memory', id, { Namespace: namespace }, at(T0 + 120));
    expect(s.isExpired()).toBe(false);
  });
});

describe("compat: 'cgi-session'", () => {
  const compat = (seconds: number) => ({ compat: 'cgi-session' as const, ...at(seconds) });

  it('a load then flush writes _SESSION_ATIME into the stored data (Perl reads it only there), not just the file mtime', async () => {
    const dsnArgs = { Directory: dir };
    const s = await Session.new('driver:file', null, dsnArgs, compat(T0));
    await s.flush();
    const id = s.id() as string;
    const again = await Session.load('driver:file', id, dsnArgs, compat(T0 + 50));
    await again.flush();
    expect(JSON.parse(await readFile(join(dir, `cgisess_${id}`), 'utf8'))._SESSION_ATIME).toBe(T0 + 50);
    // Without compat the same load only touches the file (the data keeps its atime).
    const plain = await Session.load('driver:file', id, dsnArgs, at(T0 + 80));
    await plain.flush();
    expect(JSON.parse(await readFile(join(dir, `cgisess_${id}`), 'utf8'))._SESSION_ATIME).toBe(T0 + 50);
  });

  it('a new session always stores _SESSION_REMOTE_ADDR, "" when the address is unknown', async () => {
    const s = await Session.new('driver:memory', null, { Namespace: namespace }, compat(T0));
    expect(s.dataref()._SESSION_REMOTE_ADDR).toBe('');
    const known = await Session.new('driver:memory', null, { Namespace: namespace }, { ...compat(T0), remoteAddr: '10.0.0.1' });
    expect(known.dataref()._SESSION_REMOTE_ADDR).toBe('10.0.0.1');
    const plain = await Session.new('driver:memory', null, { Namespace: namespace }, at(T0));
    expect(Object.hasOwn(plain.dataref(), '_SESSION_REMOTE_ADDR')).toBe(false);
  });

  it('ipMatch keeps a session stored with "" (no address) for a request whose address is unknown, as Perl does', async () => {
    const s = await Session.new('driver:memory', null, { Namespace: namespace }, compat(T0));
    await s.flush();
    const again = await Session.load('driver:memory', s.id() as string, { Namespace: namespace }, { ...compat(T0 + 1), ipMatch: true });
    expect(again.isEmpty()).toBe(false);
    const other = await Session.load('driver:memory', s.id() as string, { Namespace: namespace }, { ...compat(T0 + 2), ipMatch: true, remoteAddr: '10.0.0.9' });
    expect(other.isEmpty()).toBe(true);
  });

  it('an emptied expiry list stays {} as Perl writes it', async () => {
    const s = await Session.new('driver:memory', null, { Namespace: namespace }, compat(T0));
    s.param('x', 1);
    s.expire('x', '1h');
    await s.flush();
    const again = await Session.load('driver:memory', s.id() as string, { Namespace: namespace }, compat(T0 + 1));
    again.expire('x', 0);
    expect(again.dataref()._SESSION_EXPIRE_LIST).toEqual({});
    await again.flush();
    const stored = await createMemoryDriver({ Namespace: namespace }).retrieve(s.id() as string);
    expect(JSON.parse((stored as { data: string }).data)._SESSION_EXPIRE_LIST).toEqual({});
  });

  it('refuses an unknown compat value, naming the one it knows', async () => {
    await expect(Session.new('driver:memory', null, { Namespace: namespace }, { compat: 'perl' as never })).rejects.toThrow(/compat must be 'cgi-session'/);
  });
});
