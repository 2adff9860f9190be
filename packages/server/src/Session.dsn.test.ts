import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-dsn-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<SessionError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SessionError);
  return error as SessionError;
}

describe('DSN', () => {
  it('S61: parseDsn splits on ";" and ":", takes unique key prefixes in any case, lower-cases values', () => {
    expect(Session.parseDsn('DR:FILE').driver).toBe('file');
    expect(Session.parseDsn('driver:file;serializer:default;id:md5')).toEqual({ driver: 'file', serializer: 'default', id: 'md5' });
    expect(Session.parseDsn('d:File;ser:Storable;i:Incr')).toEqual({ driver: 'file', serializer: 'storable', id: 'incr' });
    expect(Session.parseDsn('DRIVER:MySQL;SERIALIZER:YAML;ID:UUID')).toEqual({ driver: 'mysql', serializer: 'yaml', id: 'uuid' });
    expect(Session.parseDsn('Driv:postgresql;SeRiAl:json')).toEqual({ driver: 'postgresql', serializer: 'json' });
  });

  it('S61: parseDsn returns only the keys given', () => {
    expect(Session.parseDsn('id:static')).toEqual({ id: 'static' });
    expect(Session.parseDsn('s:superjson')).toEqual({ serializer: 'superjson' });
  });

  it('S62: new("dr:File;ser:Default;id:MD5") is the file driver, default (JSON) serializer, md5 ids', async () => {
    const s = await Session.new('dr:File;ser:Default;id:MD5', null, { Directory: dir });
    expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
    s.param('who', 'me');
    await s.flush();
    const file = join(dir, `cgisess_${s.id()}`);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ _SESSION_ID: s.id(), who: 'me' });
    const loaded = await Session.load('driver:file;serializer:default;id:md5', s.id()!, { Directory: dir });
    expect(loaded.param('who')).toBe('me');
    const defaults = await Session.load(null, s.id()!, { Directory: dir });
    expect(defaults.param('who')).toBe('me');
  });

  it('S63: an unknown driver rejects, naming it and the known drivers', async () => {
    for (const call of [
      () => Session.new('driver:mysq', null, {}),
      () => Session.load('driver:mysq', null, {}),
      () => Session.find('driver:mysq', () => {}, {}),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe('INVALID_DSN');
      expect(error.message).toContain('"mysq"');
      expect(error.message).toMatch(/file/);
      expect(error.message).toMatch(/memory/);
      expect(Session.errstr()).toBe(error.message);
    }
  });

  it('S63: an unknown serializer rejects, naming it and the known serializers', async () => {
    const error = await rejection(Session.new('serializer:freezethaw', null, { Directory: dir }));
    expect(error.code).toBe('INVALID_DSN');
    expect(error.message).toContain('freezethaw');
    for (const known of ['default', 'json', 'superjson', 'yaml', 'storable']) expect(error.message).toContain(known);
  });

  it('S63: an unknown id generator rejects, naming it and the known ones', async () => {
    const error = await rejection(Session.new('id:sha1', null, { Directory: dir }));
    expect(error.code).toBe('INVALID_DSN');
    expect(error.message).toContain('sha1');
    for (const known of ['md5', 'uuid', 'incr', 'static']) expect(error.message).toContain(known);
  });

  it('S63: a malformed DSN or an unknown key rejects with INVALID_DSN', async () => {
    for (const dsn of ['driver', 'driver:', 'colour:blue', 'driver:file;driver:memory']) {
      const error = await rejection(Session.new(dsn, null, { Directory: dir }));
      expect(error.code).toBe('INVALID_DSN');
    }
  });
});
