import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError, registerDriver } from '@isosession/server';
import type { Driver } from '@isosession/server';
import { recordingDriver } from './testing/recordingDriver.js';

const T0 = 1_700_000_000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-flush-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('flush', () => {
  it('S46: isNew() turns false after a successful flush()', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    expect(s.isNew()).toBe(true);
    s.param('a', 1);
    await s.flush();
    expect(s.isNew()).toBe(false);
    const loaded = await Session.load(null, s.id()!, { Directory: dir });
    expect(loaded.id()).toBe(s.id());
    expect(loaded.isNew()).toBe(false);
  });

  it('S46: isNew() stays true when the flush fails', async () => {
    const rec = recordingDriver();
    rec.failOn.add('update');
    const s = await Session.new(rec.dsn, null, {});
    await expect(s.flush()).rejects.toBeInstanceOf(SessionError);
    expect(s.isNew()).toBe(true);
  });

  it('S47: flush() of a new session writes Directory/cgisess_<id>, and load sees it', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param({ name: 'sherzod', list: [1, 2, 3] });
    await s.flush();
    const file = join(dir, `cgisess_${s.id()}`);
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ _SESSION_ID: s.id(), name: 'sherzod' });
    const loaded = await Session.load(null, s.id()!, { Directory: dir });
    expect(loaded.param('name')).toBe('sherzod');
    expect(loaded.param('list')).toEqual([1, 2, 3]);
  });

  it('S47: a new session with no params is stored too', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    await s.flush();
    expect(await readdir(dir)).toEqual([`cgisess_${s.id()}`]);
    expect((await Session.load(null, s.id()!, { Directory: dir })).isEmpty()).toBe(false);
  });

  it('S47: flush() of a changed loaded session stores the change', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param('count', 1);
    await s.flush();
    const again = await Session.load(null, s.id()!, { Directory: dir });
    again.param('count', 2);
    again.clear('nothing');
    await again.flush();
    expect((await Session.load(null, s.id()!, { Directory: dir })).param('count')).toBe(2);
  });

  it('S48: a second flush() with nothing changed writes nothing', async () => {
    const rec = recordingDriver();
    const s = await Session.new(rec.dsn, null, {});
    s.param('a', 1);
    await s.flush();
    expect(rec.writes()).toHaveLength(1);
    await s.flush();
    await s.flush();
    expect(rec.writes()).toHaveLength(1);
  });

  it('S48: after a load, the first flush persists atime, the next one writes nothing', async () => {
    const rec = recordingDriver();
    const clock = { ms: T0 * 1000 };
    const params = { now: () => clock.ms };
    const s = await Session.new(rec.dsn, null, {}, params);
    await s.flush();
    clock.ms += 60_000;
    const loaded = await Session.load(rec.dsn, s.id()!, {}, params);
    const before = rec.writes().length;
    await loaded.flush();
    expect(rec.writes().length).toBe(before + 1);
    await loaded.flush();
    expect(rec.writes().length).toBe(before + 1);
  });

  it('S48: a find() load that changes nothing writes nothing', async () => {
    const rec = recordingDriver();
    const s = await Session.new(rec.dsn, null, {});
    s.param('a', 1);
    await s.flush();
    const before = rec.writes().length;
    let seen = 0;
    await Session.find(rec.dsn, (found) => {
      seen += 1;
      expect(found.param('a')).toBe(1);
    }, {});
    expect(seen).toBe(1);
    expect(rec.writes().length).toBe(before);
  });
});

describe('delete', () => {
  it('S49: delete() only marks; flush() removes the stored copy and empties the object', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param('a', 1);
    await s.flush();
    const id = s.id()!;
    const file = join(dir, `cgisess_${id}`);

    const loaded = await Session.load(null, id, { Directory: dir });
    loaded.delete();
    expect(existsSync(file)).toBe(true);
    expect((await Session.load(null, id, { Directory: dir })).param('a')).toBe(1);

    await loaded.flush();
    expect(existsSync(file)).toBe(false);
    expect(loaded.id()).toBeUndefined();
    expect(loaded.isEmpty()).toBe(true);
    expect(loaded.param()).toEqual([]);
    expect((await Session.load(null, id, { Directory: dir })).isEmpty()).toBe(true);
  });

  it('S50: delete() then flush() on a never-stored session writes and removes nothing', async () => {
    const rec = recordingDriver();
    const s = await Session.new(rec.dsn, null, {});
    s.param('a', 1);
    s.delete();
    await s.flush();
    expect(rec.writes()).toEqual([]);
    expect(s.id()).toBeUndefined();
    expect(s.isEmpty()).toBe(true);
    expect(s.param()).toEqual([]);
  });

  it('S50: on the file driver, nothing appears in Directory', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.delete();
    await s.flush();
    expect(await readdir(dir)).toEqual([]);
  });

  it('S51: flush() of an empty session resolves and touches no storage', async () => {
    const rec = recordingDriver();
    const none = await Session.load(rec.dsn, null, {});
    const unknown = await Session.load(rec.dsn, 'f'.repeat(32), {});
    rec.calls.length = 0;
    await expect(none.flush()).resolves.toBeUndefined();
    await expect(unknown.flush()).resolves.toBeUndefined();
    expect(rec.calls).toEqual([]);

    const s = await Session.new(rec.dsn, null, {});
    await s.flush();
    s.delete();
    await s.flush();
    rec.calls.length = 0;
    await expect(s.flush()).resolves.toBeUndefined();
    expect(rec.calls).toEqual([]);
  });
});

describe('close and asyncDispose', () => {
  it('S52: close() is flush()', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param('a', 'closed');
    await s.close();
    expect(s.isNew()).toBe(false);
    expect((await Session.load(null, s.id()!, { Directory: dir })).param('a')).toBe('closed');

    const deleted = await Session.load(null, s.id()!, { Directory: dir });
    deleted.delete();
    await deleted.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('S52: `await using` flushes when the block ends', async () => {
    let id: string | undefined;
    {
      await using s = await Session.new(null, null, { Directory: dir });
      s.param('a', 'disposed');
      id = s.id();
    }
    expect((await Session.load(null, id!, { Directory: dir })).param('a')).toBe('disposed');
  });

  it('S52: [Symbol.asyncDispose]() is flush()', async () => {
    const s = await Session.new(null, null, { Directory: dir });
    s.param('a', 1);
    await s[Symbol.asyncDispose]();
    expect(s.isNew()).toBe(false);
    expect((await Session.load(null, s.id()!, { Directory: dir })).param('a')).toBe(1);
  });
});

describe('failed writes', () => {
  function failingDriver(name: string) {
    const stored = new Map<string, string | Uint8Array>();
    const failures: { store?: Error; remove?: Error } = {};
    const driver: Driver = {
      async retrieve(id) {
        return stored.get(id) ?? null;
      },
      async store(id, data) {
        if (failures.store) throw failures.store;
        stored.set(id, data);
      },
      async remove(id) {
        if (failures.remove) throw failures.remove;
        stored.delete(id);
      },
      async traverse(visit) {
        for (const id of [...stored.keys()]) await visit(id);
      },
    };
    registerDriver(name, () => driver);
    return { failures, stored };
  }

  it('S53: a failed store rejects flush() with SessionError, the driver error as cause, and sets errstr()', async () => {
    const { failures, stored } = failingDriver('failstore53');
    const diskFull = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    failures.store = diskFull;
    const s = await Session.new('driver:failstore53', null, {});
    s.param('a', 1);
    const error = await s.flush().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).cause).toBe(diskFull);
    expect((error as SessionError).code).toBe('STORE_ERROR');
    expect((error as SessionError).message).toContain('no space left');
    expect(Session.errstr()).toBe((error as SessionError).message);
    expect(stored.size).toBe(0);
  });

  it('S53: a failed remove rejects flush() of a deleted session the same way', async () => {
    const { failures, stored } = failingDriver('failremove53');
    const s = await Session.new('driver:failremove53', null, {});
    await s.flush();
    const refused = new Error('permission denied');
    failures.remove = refused;
    const loaded = await Session.load('driver:failremove53', s.id()!, {});
    loaded.delete();
    const error = await loaded.flush().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).cause).toBe(refused);
    expect(Session.errstr()).toContain('permission denied');
    expect(stored.has(s.id()!)).toBe(true);
  });
});

describe.each([
  ['file', 'driver:file', () => ({ Directory: dir })],
  ['memory', 'driver:memory', () => ({ Namespace: `flush54-${dir}` })],
])('no lost updates (%s)', (_label, dsn, args) => {
  async function twoCopies() {
    const s = await Session.new(dsn, null, args());
    s.param({ keep: 'me', x: 0, y: 0, same: 'initial' });
    await s.flush();
    const id = s.id()!;
    return { id, a: await Session.load(dsn, id, args()), b: await Session.load(dsn, id, args()) };
  }

  it('S54: two sessions changing different params both survive, a then b', async () => {
    const { id, a, b } = await twoCopies();
    a.param('x', 'from a');
    b.param('y', 'from b');
    await a.flush();
    await b.flush();
    const final = await Session.load(dsn, id, args());
    expect([final.param('x'), final.param('y'), final.param('keep')]).toEqual(['from a', 'from b', 'me']);
  });

  it('S54: two sessions changing different params both survive, b then a', async () => {
    const { id, a, b } = await twoCopies();
    a.param('x', 'from a');
    b.param('y', 'from b');
    b.clear('keep');
    await b.flush();
    await a.flush();
    const final = await Session.load(dsn, id, args());
    expect([final.param('x'), final.param('y'), final.param('keep')]).toEqual(['from a', 'from b', undefined]);
  });

  it('S54: a flush never resurrects a session another request deleted: GONE, nothing written', async () => {
    const { id, a, b } = await twoCopies();
    a.delete();
    await a.flush();
    b.param('x', 'late write');
    const error = await b.flush().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('GONE');
    expect((await Session.load(dsn, id, args())).isEmpty()).toBe(true);
  });

  it('S54: the same param: the later flush wins', async () => {
    const first = await twoCopies();
    first.a.param('same', 'a');
    first.b.param('same', 'b');
    await first.a.flush();
    await first.b.flush();
    expect((await Session.load(dsn, first.id, args())).param('same')).toBe('b');

    const second = await twoCopies();
    second.a.param('same', 'a');
    second.b.param('same', 'b');
    await second.b.flush();
    await second.a.flush();
    expect((await Session.load(dsn, second.id, args())).param('same')).toBe('a');
  });
});
