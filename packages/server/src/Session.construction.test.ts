import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createMemoryDriver, defaultFileDirectory, registerDriver } from '@isosession/server';
import type { Driver } from '@isosession/server';

// S1–S16: construction with new / load, written as a user would (rules in docs/design.md).

const T0 = 1_700_000_000;
const REAL_TMPDIR = tmpdir();
const savedTmpdir = process.env.TMPDIR;
/** Where the file driver's default Directory (os.tmpdir()/isosession-<uid>) points for this file's tests. */
let defaultDir: string;
let defaultRoot: string;
let dir: string;

// Calls without dsnArgs use the file driver's default Directory, under os.tmpdir(): point it
// at a directory of this file's own so these tests never write into the real one. Set before
// the first Session call of this file, since the driver for `{}` is made once per process.
beforeAll(async () => {
  defaultRoot = await mkdtemp(join(REAL_TMPDIR, 'isosession-s1-default-'));
  process.env.TMPDIR = defaultRoot;
  defaultDir = defaultFileDirectory();
  await mkdir(defaultDir, { mode: 0o700 });
});
afterAll(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await rm(defaultRoot, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(join(REAL_TMPDIR, 'isosession-s1-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  for (const name of await readdir(defaultDir)) await rm(join(defaultDir, name), { force: true });
});

function clockAt(seconds: number) {
  const clock = { ms: seconds * 1000, now: () => clock.ms, set: (s: number) => { clock.ms = s * 1000; } };
  return clock;
}

/** A stored live session in `dir` with params a=1, b=[1,2]. */
async function stored(params: Record<string, unknown> = { a: 1, b: [1, 2] }): Promise<string> {
  const s = await Session.new(null, null, { Directory: dir });
  s.param(params);
  await s.flush();
  return s.id()!;
}

let driverCount = 0;
/** Registers a driver whose every call fails with `error`; returns its DSN. */
function failingDriver(error: Error): string {
  const name = `s2fail${process.pid}n${driverCount++}`;
  const fail = async (): Promise<never> => { throw error; };
  const driver: Driver = { retrieve: fail, store: fail, remove: fail, traverse: fail };
  registerDriver(name, () => driver);
  return `driver:${name}`;
}

function isPromise(value: unknown): boolean {
  return value instanceof Promise;
}

describe('S1: storage methods return Promises, the rest is synchronous', () => {
  it('S1: new, load, find, flush, close and s.new() return Promises', async () => {
    const made = Session.new(null, null, { Directory: dir });
    expect(isPromise(made)).toBe(true);
    const s = await made;
    s.param('a', 1);
    const flushed = s.flush();
    expect(isPromise(flushed)).toBe(true);
    await flushed;
    const loading = Session.load(null, s.id()!, { Directory: dir });
    expect(isPromise(loading)).toBe(true);
    const loaded = await loading;
    const closing = loaded.close();
    expect(isPromise(closing)).toBe(true);
    await closing;
    const finding = Session.find(null, () => {}, { Directory: dir });
    expect(isPromise(finding)).toBe(true);
    await finding;
    const empty = await Session.load(null, null, { Directory: dir });
    const renewed = empty.new();
    expect(isPromise(renewed)).toBe(true);
    expect((await renewed).isNew()).toBe(true);
  });

  it('S1: param, clear, expire, delete, cookie, header, id and friends answer synchronously', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    const results: unknown[] = [
      s.param('a', 1), s.param('a'), s.param(), s.param({ b: 2 }), s.clear('b'), s.expire('1h'),
      s.expire(), s.expire('a', '10m'), s.etime(), s.id(), s.isNew(), s.isEmpty(), s.isExpired(),
      s.atime(), s.ctime(), s.dataref(), s.cookie(), s.header(), s.name(), s.query(), s.remoteAddr(),
      s.ipMatch(), s.dump(), s.delete(),
    ];
    for (const result of results) expect(isPromise(result)).toBe(false);
    expect(s.param('a')).toBe(1);
    expect(s.expire()).toBe(3600);
    expect(s.header()).toBeInstanceOf(Headers);
  });
});

describe('S2: failures are SessionErrors; errstr() keeps the last one', () => {
  it('S2: a driver failure rejects with SessionError (code, message, cause) and sets errstr()', async () => {
    const cause = new Error('disk on fire');
    const dsn = failingDriver(cause);
    const error = await Session.load(dsn, 'a'.repeat(32), {}).then(
      () => { throw new Error('load should have rejected'); },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SessionError);
    const sessionError = error as SessionError;
    expect(typeof sessionError.code).toBe('string');
    expect(sessionError.message).toMatch(/disk on fire/);
    expect(sessionError.cause).toBe(cause);
    expect(Session.errstr()).toBe(sessionError.message);
  });

  it("S2: a serializer failure keeps the serializer's error as cause", async () => {
    const id = 'b'.repeat(32);
    await writeFile(join(dir, `cgisess_${id}`), '{not json');
    const error = await Session.load(null, id, { Directory: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).cause).toBeInstanceOf(Error);
    expect(Session.errstr()).toBe((error as SessionError).message);
  });

  it("S2: a successful Session.new() resets errstr() to ''", async () => {
    await Session.load(failingDriver(new Error('nope')), 'c'.repeat(32), {}).catch(() => {});
    expect(Session.errstr()).not.toBe('');
    await Session.new(null, null, { Directory: dir });
    expect(Session.errstr()).toBe('');
  });

  it('S2: a synchronous method fails with a thrown SessionError, not a return value', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    expect(() => s.expire('pumpkin')).toThrow(SessionError);
  });
});

describe('S3: nothing is written until flush', () => {
  it('S3: a new session that is never flushed leaves the store untouched', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param({ a: 1, b: 2 });
    s.expire('1h');
    expect(await readdir(dir)).toEqual([]);
  });

  it('S3: a loaded session that is changed but never flushed leaves the stored copy as it was', async () => {
    const clock = clockAt(T0);
    const first = await Session.new(null, null, { Directory: dir }, { now: clock.now });
    first.param('a', 1);
    first.expire('a', 10);
    await first.flush();
    const id = first.id()!;
    const file = join(dir, `cgisess_${id}`);
    const before = [await readFile(file, 'utf8'), (await stat(file)).mtimeMs, await readdir(dir)];
    clock.set(T0 + 50); // the load moves atime and expires "a", in memory only
    const loaded = await Session.load(null, id, { Directory: dir }, { now: clock.now });
    expect(loaded.param('a')).toBeUndefined();
    loaded.param('c', 3);
    loaded.expire('1h');
    expect([await readFile(file, 'utf8'), (await stat(file)).mtimeMs, await readdir(dir)]).toEqual(before);
  });

  it('S3: changes to a loaded session that is never flushed are not stored', async () => {
    const id = await stored({ a: 1 });
    const loaded = await Session.load(null, id, { Directory: dir });
    loaded.param('a', 2);
    loaded.param('c', 3);
    loaded.delete();
    const again = await Session.load(null, id, { Directory: dir });
    expect(again.param('a')).toBe(1);
    expect(again.param()).toEqual(['a']);
  });

  it('S3: `await using` flushes when the block ends', async () => {
    let id: string | undefined;
    {
      await using s = await Session.new(null, null, { Directory: dir });
      s.param('a', 'kept');
      id = s.id();
      expect(await readdir(dir)).toEqual([]);
    }
    expect((await Session.load(null, id!, { Directory: dir })).param('a')).toBe('kept');
  });
});

describe('S4: values are JS values, ids are strings', () => {
  it('S4: null is an ordinary stored value, undefined means unset', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param('none', null);
    s.param('list', [1, null, 'x', true, { k: false }]);
    expect(s.param('none')).toBeNull();
    expect(s.param('missing')).toBeUndefined();
    await s.flush();
    const loaded = await Session.load(null, s.id()!, { Directory: dir });
    expect(loaded.param('none')).toBeNull();
    expect(loaded.param().sort()).toEqual(['list', 'none']);
    expect(loaded.param('list')).toEqual([1, null, 'x', true, { k: false }]);
    expect(loaded.param('missing')).toBeUndefined();
  });

  it('S4: ids are strings; incr ids are decimal strings', async () => {
    const md5 = await Session.new(null, null, { Directory: dir });
    expect(typeof md5.id()).toBe('string');
    const incr = await Session.new('driver:file;id:incr', null, { Directory: dir, IDFile: join(dir, 'ids') });
    expect(incr.id()).toBe('1');
    const next = await Session.new('driver:file;id:incr', null, { Directory: dir, IDFile: join(dir, 'ids') });
    expect(next.id()).toBe('2');
  });
});

describe('S5: default ids', () => {
  it('S5: default ids are 32 lower-case hex characters and differ even at the same instant', async () => {
    const clock = clockAt(T0);
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = await Session.new(null, null, { Directory: dir }, { now: clock.now });
      expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
      ids.add(s.id()!);
    }
    expect(ids.size).toBe(200);
  });
});

describe('S6: new() without an id', () => {
  it.each([
    ['new()', () => Session.new()],
    ['new(null)', () => Session.new(null)],
    ['new(undefined)', () => Session.new(undefined)],
    ['new(null, null, args)', () => Session.new(null, null, { Directory: dir })],
  ])('S6: %s resolves to a new session (isNew, not empty, not expired)', async (_label, make) => {
    const s = await make();
    expect(typeof s.id()).toBe('string');
    expect(s.isNew()).toBe(true);
    expect(s.isEmpty()).toBe(false);
    expect(s.isExpired()).toBe(false);
  });
});

describe('S7: load() without an id', () => {
  it.each([
    ['load()', () => Session.load()],
    ['load(null)', () => Session.load(null)],
    ['load(undefined)', () => Session.load(undefined)],
    ['load(null, null, args)', () => Session.load(null, null, { Directory: dir })],
  ])('S7: %s resolves to an empty session', async (_label, make) => {
    const s = await make();
    expect(s.id()).toBeUndefined();
    expect(s.isEmpty()).toBe(true);
    expect(s.isNew()).toBe(false);
    expect(s.isExpired()).toBe(false);
  });
});

describe('S8: null and undefined are the defaults', () => {
  it('S8: new(null, null, {Directory}) stores under Directory as JSON in cgisess_<md5 id>', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param('a', 1);
    await s.flush();
    expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
    expect(await readdir(dir)).toEqual([`cgisess_${s.id()}`]);
  });

  it('S8: undefined in every position works like null', async () => {
    const s = await Session.new(undefined, undefined, { Directory: dir }, undefined);
    s.param('a', 1);
    await s.flush();
    const loaded = await Session.load(undefined, s.id(), { Directory: dir }, undefined);
    expect(loaded.param('a')).toBe(1);
    expect(loaded.name()).toBe(Session.name());
  });

  it('S8: null dsnArgs means {}: the file driver in the default Directory (os.tmpdir()/isosession-<uid>)', async () => {
    const s = await Session.new(null, null, null, null);
    s.param('a', 1);
    await s.flush();
    expect(await readdir(defaultDir)).toEqual([`cgisess_${s.id()}`]);
    expect((await Session.load(null, s.id(), null, null)).param('a')).toBe(1);
  });
});

describe('S9: a single argument', () => {
  it('S9: a string is the claimed session id', async () => {
    const s = await Session.new();
    s.param('a', 'single');
    await s.flush();
    const byLoad = await Session.load(s.id());
    expect(byLoad.id()).toBe(s.id());
    expect(byLoad.param('a')).toBe('single');
    const byNew = await Session.new(s.id());
    expect(byNew.id()).toBe(s.id());
    expect(byNew.isNew()).toBe(false);
  });

  it('S9: anything else is a Query the claim is read from', async () => {
    const s = await Session.new();
    await s.flush();
    const request = new Request('http://example.test/', { headers: { cookie: `CGISESSID=${s.id()}` } });
    const loaded = await Session.load(request);
    expect(loaded.id()).toBe(s.id());
    expect(loaded.query()).toBe(request);
    const cgi = { cookie: (name: string) => (name === 'CGISESSID' ? s.id() : undefined) };
    expect((await Session.new(cgi)).id()).toBe(s.id());
  });
});

describe('S10: load of an unknown id', () => {
  it('S10: resolves to an empty session, no error', async () => {
    await Session.new(null, null, { Directory: dir });
    expect(Session.errstr()).toBe('');
    const s = await Session.load(null, 'd'.repeat(32), { Directory: dir });
    expect(s.id()).toBeUndefined();
    expect(s.isEmpty()).toBe(true);
    expect(s.isNew()).toBe(false);
    expect(s.isExpired()).toBe(false);
    expect(Session.errstr()).toBe('');
    expect(await readdir(dir)).toEqual([]);
  });

  it('S10: a fake cookie id loads empty', async () => {
    const request = new Request('http://example.test/', { headers: { cookie: 'CGISESSID=fake' } });
    const s = await Session.load(null, request, { Directory: dir });
    expect(s.isEmpty()).toBe(true);
    expect(s.id()).toBeUndefined();
  });
});

describe('S11: new() of an id the store does not hold gets a fresh id', () => {
  it('S11: an id that never existed', async () => {
    const claim = 'e'.repeat(32);
    const s = await Session.new(null, claim, { Directory: dir });
    expect(s.id()).not.toBe(claim);
    expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
    expect(s.isNew()).toBe(true);
  });

  it('S11: an id that was deleted (delete + flush)', async () => {
    const id = await stored();
    const victim = await Session.load(null, id, { Directory: dir });
    victim.delete();
    await victim.flush();
    const s = await Session.new(null, id, { Directory: dir });
    expect(s.id()).not.toBe(id);
    expect(s.isNew()).toBe(true);
    expect(s.param()).toEqual([]);
  });

  it('S11: an id whose file was removed behind our back', async () => {
    const id = await stored();
    await rm(join(dir, `cgisess_${id}`));
    const s = await Session.new(null, id, { Directory: dir });
    expect(s.id()).not.toBe(id);
    expect(s.isNew()).toBe(true);
  });

  it('S11: an expired id', async () => {
    const clock = clockAt(T0);
    const first = await Session.new(null, null, { Directory: dir }, { now: clock.now });
    first.expire(10);
    await first.flush();
    clock.set(T0 + 10);
    const s = await Session.new(null, first.id(), { Directory: dir }, { now: clock.now });
    expect(s.id()).not.toBe(first.id());
    expect(s.isNew()).toBe(true);
    expect(s.isExpired()).toBe(false);
  });

  it('S11: an id created from another address under ipMatch', async () => {
    const first = await Session.new(null, null, { Directory: dir }, { remoteAddr: '10.0.0.1', ipMatch: true });
    await first.flush();
    const s = await Session.new(null, first.id(), { Directory: dir }, { remoteAddr: '10.0.0.2', ipMatch: true });
    expect(s.id()).not.toBe(first.id());
    expect(s.isNew()).toBe(true);
  });

  it('S11: an id the store refuses (a path trick) is never adopted', async () => {
    for (const claim of ['../../etc/passwd', 'a/b', 'a\\b', '..']) {
      const s = await Session.new(null, claim, { Directory: dir });
      expect(s.id()).not.toBe(claim);
      expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('S11: only id:static reuses the claim', async () => {
    const s = await Session.new('driver:file;id:static', 'my-static-id', { Directory: dir });
    expect(s.id()).toBe('my-static-id');
    expect(s.isNew()).toBe(true);
  });
});

describe('S12: new/load of a stored live session', () => {
  it('S12: load(dsn, sid, args) resolves to the stored session', async () => {
    const id = await stored({ a: 1, b: [1, 2], c: { d: 'e' } });
    const s = await Session.load(null, id, { Directory: dir });
    expect(s.id()).toBe(id);
    expect(s.param('a')).toBe(1);
    expect(s.param('b')).toEqual([1, 2]);
    expect(s.param('c')).toEqual({ d: 'e' });
    expect(s.isNew()).toBe(false);
    expect(s.isEmpty()).toBe(false);
  });

  it('S12: new(dsn, sid, args) resolves to the stored session, not a new one', async () => {
    const id = await stored({ a: 1, b: [1, 2] });
    const s = await Session.new(null, id, { Directory: dir });
    expect(s.id()).toBe(id);
    expect(s.param().sort()).toEqual(['a', 'b']);
    expect(s.param('b')).toEqual([1, 2]);
    expect(s.isNew()).toBe(false);
  });

  it('S12: the memory driver too', async () => {
    const dsnArgs = { Namespace: `s12-${process.pid}-${Date.now()}` };
    const s = await Session.new('driver:memory', null, dsnArgs);
    s.param('x', 'y');
    await s.flush();
    const loaded = await Session.load('driver:memory', s.id(), dsnArgs);
    expect(loaded.id()).toBe(s.id());
    expect(loaded.param('x')).toBe('y');
    expect(loaded.isNew()).toBe(false);
  });
});

describe('S13: the claimed id is only a claim', () => {
  it('S13: id() is the effective id, and what the cookie sends back', async () => {
    const claim = 'f'.repeat(32);
    const request = new Request('http://example.test/', { headers: { cookie: `CGISESSID=${claim}` } });
    const s = await Session.new(null, request, { Directory: dir });
    expect(s.id()).not.toBe(claim);
    expect(s.cookie()).toMatch(new RegExp(`^CGISESSID=${s.id()};`));
    expect(s.cookie()).not.toContain(claim);
  });

  it('S13: a claim of a live session is its id', async () => {
    const id = await stored();
    const request = new Request('http://example.test/', { headers: { cookie: `CGISESSID=${id}` } });
    const s = await Session.new(null, request, { Directory: dir });
    expect(s.id()).toBe(id);
  });
});

describe('S14: s.new() on an empty or expired session', () => {
  it('S14: after load of nothing: a new session with the same dsn, dsnArgs and sessionParams', async () => {
    const clock = clockAt(T0);
    const empty = await Session.load('driver:file;serializer:json', null, { Directory: dir }, { now: clock.now, name: 'itchy' });
    expect(empty.isEmpty()).toBe(true);
    clock.set(T0 + 5);
    const s = await empty.new();
    expect(typeof s.id()).toBe('string');
    expect(s.isNew()).toBe(true);
    expect(s.isExpired()).toBe(false);
    expect(s.isEmpty()).toBe(false);
    expect(s.ctime()).toBe(T0 + 5);
    expect(s.atime()).toBe(T0 + 5);
    expect(s.name()).toBe('itchy');
    s.param('a', 1);
    await s.flush();
    expect(await readdir(dir)).toEqual([`cgisess_${s.id()}`]);
    expect((await Session.load('driver:file;serializer:json', s.id(), { Directory: dir })).param('a')).toBe(1);
  });

  it('S14: after load of an expired session', async () => {
    const clock = clockAt(T0);
    const first = await Session.new(null, null, { Directory: dir }, { now: clock.now });
    first.expire(60);
    await first.flush();
    clock.set(T0 + 100);
    const expired = await Session.load(null, first.id(), { Directory: dir }, { now: clock.now });
    expect(expired.isExpired()).toBe(true);
    const s = await expired.new();
    expect(s.id()).not.toBe(first.id());
    expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
    expect(s.isNew()).toBe(true);
    expect(s.isExpired()).toBe(false);
    expect(s.isEmpty()).toBe(false);
    expect(s.ctime()).toBe(T0 + 100);
    expect(s.atime()).toBe(T0 + 100);
    expect(s.expire()).toBeUndefined();
    await s.flush();
    expect(await readdir(dir)).toEqual([`cgisess_${s.id()}`]);
  });

  it('S14: the memory driver keeps its Namespace', async () => {
    const dsnArgs = { Namespace: `s14-${process.pid}-${Date.now()}` };
    const empty = await Session.load('driver:memory', null, dsnArgs);
    const s = await empty.new();
    s.param('a', 'ns');
    await s.flush();
    const seen: string[] = [];
    await Session.find('driver:memory', (found) => { seen.push(found.id()!); }, dsnArgs);
    expect(seen).toEqual([s.id()]);
  });
});

describe('S15: the 3rd and 4th arguments must be objects', () => {
  it.each(['load', 'new'] as const)('S15: %s rejects a 3rd argument that is not an object', async (method) => {
    for (const bad of ['Directory=/tmp', 42, true, [dir]]) {
      const call = (Session[method] as (...args: unknown[]) => Promise<Session>)(null, null, bad);
      expect(isPromise(call)).toBe(true);
      const error = await call.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionError);
      const message = (error as SessionError).message;
      expect(message).toMatch(/3rd|dsnArgs/);
      if (method === 'load') expect(message).not.toMatch(/new\(\)/);
    }
  });

  it.each(['load', 'new'] as const)('S15: %s rejects a 4th argument that is not an object', async (method) => {
    for (const bad of ['name=x', 7]) {
      const error = await (Session[method] as (...args: unknown[]) => Promise<Session>)(null, null, { Directory: dir }, bad)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionError);
      const message = (error as SessionError).message;
      expect(message).toMatch(/4th|sessionParams/);
      if (method === 'load') expect(message).not.toMatch(/new\(\)/);
    }
  });

  it('S15: null and undefined 3rd/4th arguments are accepted', async () => {
    await expect(Session.load(null, null, null, null)).resolves.toBeInstanceOf(Session);
    await expect(Session.load(null, null, undefined, undefined)).resolves.toBeInstanceOf(Session);
  });
});

describe('S16: stored data that is not a session table', () => {
  it.each([
    ['an array', '[]'],
    ['a string', '"just a string"'],
    ['a number', '42'],
    ['null', 'null'],
    ['an object without _SESSION_ID', '{"a":1,"_SESSION_CTIME":1,"_SESSION_ATIME":1}'],
    ['undecodable bytes', '{{{ not json'],
    // Adopting it would flush to, and send the cookie of, the other session.
    ['a table that names another session', `{"_SESSION_ID":"${'f'.repeat(32)}","_SESSION_CTIME":1,"_SESSION_ATIME":1}`],
  ])('S16: %s rejects load and new with SessionError instead of an empty session', async (_label, content) => {
    const id = '0'.repeat(31) + '1';
    await writeFile(join(dir, `cgisess_${id}`), content);
    const loadError = await Session.load(null, id, { Directory: dir }).catch((e: unknown) => e);
    expect(loadError).toBeInstanceOf(SessionError);
    expect((loadError as SessionError).code).toBe('CORRUPT');
    const newError = await Session.new(null, id, { Directory: dir }).catch((e: unknown) => e);
    expect(newError).toBeInstanceOf(SessionError);
    expect(await readdir(dir)).toEqual([`cgisess_${id}`]);
  });

  it('S16: the memory driver too', async () => {
    const dsnArgs = { Namespace: `s16-${process.pid}-${Date.now()}` };
    const id = '0'.repeat(31) + '2';
    await createMemoryDriver(dsnArgs).store(id, '{"hello":"world"}', { atime: T0 });
    await expect(Session.load('driver:memory', id, dsnArgs)).rejects.toBeInstanceOf(SessionError);
  });
});
