import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session } from './index.js';
import { hashId } from './hashId.js';

let directory: string;
const params = { hashIds: true };
const dsn = 'driver:file';

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'isosession-hashids-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function stored(): Promise<{ id: string }> {
  const session = await Session.new(dsn, null, { Directory: directory }, params);
  session.param('user', 'alice');
  await session.flush();
  return { id: session.id() as string };
}

async function files(): Promise<string[]> {
  return (await readdir(directory)).filter((name) => name.startsWith('cgisess_') && !name.endsWith('.lock'));
}

describe('hashIds', () => {
  it('stores under SHA-256(id), and neither the file name nor the data holds the id', async () => {
    const { id } = await stored();
    expect(await files()).toEqual([`cgisess_${hashId(id)}`]);
    const raw = await readFile(join(directory, `cgisess_${hashId(id)}`), 'utf8');
    expect(raw).not.toContain(id);
    expect(JSON.parse(raw)._SESSION_ID).toBe(hashId(id));
  });

  it('S12, S30: a load by the real id (string or cookie) gives the session, id() and _SESSION_ID real', async () => {
    const { id } = await stored();
    const fromCookie = await Session.load(dsn, new Request('http://x/', { headers: { cookie: `CGISESSID=${id}` } }), { Directory: directory }, params);
    expect(fromCookie.id()).toBe(id);
    expect(fromCookie.dataref()._SESSION_ID).toBe(id);
    expect(fromCookie.param('user')).toBe('alice');
    expect(fromCookie.cookie()).toMatch(new RegExp(`^CGISESSID=${id};`));
    fromCookie.param('n', 1);
    await fromCookie.flush();
    expect(await files()).toEqual([`cgisess_${hashId(id)}`]);
  });

  it('a leaked stored key is not a usable id', async () => {
    const { id } = await stored();
    const withKey = await Session.load(dsn, hashId(id), { Directory: directory }, params);
    expect(withKey.isEmpty()).toBe(true);
  });

  it('S55, S58: find() hands sessions over by their stored key; changes and deletes persist', async () => {
    const { id } = await stored();
    const other = await stored();
    const seen: string[] = [];
    const report = await Session.find(dsn, (s) => {
      seen.push(s.id() as string);
      expect(s.dataref()._SESSION_ID).toBe(s.id());
      if (s.id() === hashId(id)) s.param('visited', true);
      else s.delete();
    }, { Directory: directory }, params);
    expect(report.visited).toBe(2);
    expect(seen.sort()).toEqual([hashId(id), hashId(other.id)].sort());
    expect(await files()).toEqual([`cgisess_${hashId(id)}`]);
    const reloaded = await Session.load(dsn, id, { Directory: directory }, params);
    expect(reloaded.param('visited')).toBe(true);
    expect(reloaded.id()).toBe(id);
  });

  it('S56: find() purges expired sessions stored by hash', async () => {
    let clock = 1_000_000_000_000;
    const session = await Session.new(dsn, null, { Directory: directory }, { ...params, now: () => clock });
    session.expire(60);
    await session.flush();
    clock += 61_000;
    const report = await Session.find(dsn, () => {}, { Directory: directory }, { ...params, now: () => clock });
    expect(report.purged).toBe(1);
    expect(await files()).toEqual([]);
  });

  it('regenerate() moves the session to the hash of the new id; the old key is gone', async () => {
    const { id } = await stored();
    const session = await Session.load(dsn, id, { Directory: directory }, params);
    session.regenerate();
    await session.flush();
    const next = session.id() as string;
    expect(next).not.toBe(id);
    expect(await files()).toEqual([`cgisess_${hashId(next)}`]);
    expect((await Session.load(dsn, next, { Directory: directory }, params)).param('user')).toBe('alice');
    expect((await Session.load(dsn, id, { Directory: directory }, params)).isEmpty()).toBe(true);
  });

  it('S49: delete() then flush() removes the hashed key', async () => {
    const { id } = await stored();
    const session = await Session.load(dsn, id, { Directory: directory }, params);
    session.delete();
    await session.flush();
    expect(await files()).toEqual([]);
  });
});
