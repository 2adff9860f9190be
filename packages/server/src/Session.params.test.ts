import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Session } from '@isosession/server';

// S22–S30: param in all its forms, clear, dataref, and what survives a round trip.

const T0 = 1_700_000_000;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-s22-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function fresh(dsn: string | null = null): Promise<Session> {
  return Session.new(dsn, null, { Directory: dir });
}

async function roundTrip(s: Session, dsn: string | null = null): Promise<Session> {
  await s.flush();
  return Session.load(dsn, s.id(), { Directory: dir });
}

/** Silences and records isosession's process warnings. */
function captureWarnings(): string[] {
  const warnings: string[] = [];
  vi.spyOn(process, 'emitWarning').mockImplementation(((warning: string | Error) => {
    warnings.push(typeof warning === 'string' ? warning : warning.message);
  }) as typeof process.emitWarning);
  return warnings;
}

describe('S22: param(name, value) and param(name)', () => {
  it('S22: stores and returns a value; an unset name gives undefined', async () => {
    const s = await fresh();
    expect(s.param('author', 'Sherzod')).toBe('Sherzod');
    expect(s.param('author')).toBe('Sherzod');
    expect(s.param('nobody')).toBeUndefined();
    s.param('author', 'Mark');
    expect(s.param('author')).toBe('Mark');
    const loaded = await roundTrip(s);
    expect(loaded.param('author')).toBe('Mark');
    expect(loaded.param('nobody')).toBeUndefined();
  });

  it('S22: falsy values are values', async () => {
    const s = await fresh();
    s.param({ zero: 0, empty: '', no: false });
    const loaded = await roundTrip(s);
    expect(loaded.param('zero')).toBe(0);
    expect(loaded.param('empty')).toBe('');
    expect(loaded.param('no')).toBe(false);
  });
});

describe('S23: the named form', () => {
  it("S23: param({'-name', '-value'}) sets and returns the value", async () => {
    const s = await fresh();
    expect(s.param({ '-name': 'email', '-value': 'x@example.com' })).toBe('x@example.com');
    expect(s.param('email')).toBe('x@example.com');
    expect(s.param()).toEqual(['email']);
  });

  it("S23: param({'-name'}) reads, private _SESSION_* keys included", async () => {
    const s = await fresh();
    s.param('email', 'x@example.com');
    expect(s.param({ '-name': 'email' })).toBe('x@example.com');
    expect(s.param({ '-name': 'nobody' })).toBeUndefined();
    expect(s.param({ '-name': '_SESSION_ID' })).toBe(s.id());
    expect(s.param({ '-name': '_SESSION_CTIME' })).toBe(s.ctime());
    expect(s.param({ '-name': '_SESSION_ATIME' })).toBe(s.atime());
  });

  it("S23: the named read of a private key is read-only: '-value' on it does not write", async () => {
    const warnings = captureWarnings();
    const s = await fresh();
    const id = s.id();
    expect(s.param({ '-name': '_SESSION_ID', '-value': 'forged' })).toBeUndefined();
    expect(s.id()).toBe(id);
    expect(warnings.length).toBeGreaterThan(0);
  });
});

describe('S24: the record form', () => {
  it('S24: param({a, b, c}) sets all three and returns 3', async () => {
    const s = await fresh();
    expect(s.param({ a: 1, b: 2, c: 3 })).toBe(3);
    expect(s.param('a')).toBe(1);
    expect(s.param('b')).toBe(2);
    expect(s.param('c')).toBe(3);
    const loaded = await roundTrip(s);
    expect(loaded.param().sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('S25: _SESSION_* names are never written by param', () => {
  it('S25: the single form warns, returns undefined and leaves the value', async () => {
    const warnings = captureWarnings();
    const s = await fresh();
    const [id, ctime] = [s.id(), s.ctime()];
    expect(s.param('_SESSION_ID', 'forged')).toBeUndefined();
    expect(s.param('_SESSION_CTIME', 1)).toBeUndefined();
    expect(s.param('_SESSION_ANYTHING', 'x')).toBeUndefined();
    expect(s.id()).toBe(id);
    expect(s.ctime()).toBe(ctime);
    expect(s.dataref()).not.toHaveProperty('_SESSION_ANYTHING');
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain('_SESSION_ID');
  });

  it('S25: the named form warns and returns undefined', async () => {
    const warnings = captureWarnings();
    const s = await fresh();
    const atime = s.atime();
    expect(s.param({ '-name': '_SESSION_ATIME', '-value': 5 })).toBeUndefined();
    expect(s.atime()).toBe(atime);
    expect(warnings).toHaveLength(1);
  });

  it('S25: the record form skips reserved names and does not count them', async () => {
    const warnings = captureWarnings();
    const s = await fresh();
    const id = s.id();
    expect(s.param({ a: 1, _SESSION_ID: 'forged', b: 2, _SESSION_ETIME: 99 })).toBe(2);
    expect(s.id()).toBe(id);
    expect(s.expire()).toBeUndefined();
    expect(s.param().sort()).toEqual(['a', 'b']);
    expect(warnings).toHaveLength(2);
    const loaded = await roundTrip(s);
    expect(loaded.id()).toBe(id);
    expect(loaded.expire()).toBeUndefined();
  });
});

describe('S26: param() lists the public names', () => {
  it('S26: three sets on a new session give exactly three names', async () => {
    const s = await fresh();
    expect(s.param()).toEqual([]);
    s.param('author', 'Sherzod');
    s.param('name', 'CGI::Session');
    s.param('version', '1');
    expect(s.param().sort()).toEqual(['author', 'name', 'version']);
    expect(s.param().some((name) => name.startsWith('_SESSION_'))).toBe(false);
  });

  it('S26: after a round trip with expiries set, still only the public names', async () => {
    const s = await fresh();
    s.param({ a: 1, b: 2, c: 3 });
    s.expire('1h');
    s.expire('a', '10m');
    const loaded = await roundTrip(s);
    expect(loaded.param().sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('S27: values round-trip through every serializer', () => {
  const NESTED = {
    list: [1, [2, [3, [4, { deep: ['end', null] }]]]],
    record: { a: { b: { c: [null, 'x', { d: [] }] } }, empty: {} },
    withNulls: [null, 1, null, 'two', null],
    unicode: 'Ünïcödé ✓ 日本語 😀 Ω',
    unicodeKeys: { 'ключ': 'значение', '鍵': ['値'] },
  };

  it.each(['default', 'json', 'superjson', 'yaml', 'storable'])(
    'S27: serializer %s: nested arrays/objects, null elements and unicode come back deep-equal',
    async (serializer) => {
      const dsn = `driver:file;serializer:${serializer}`;
      const s = await fresh(dsn);
      s.param(NESTED);
      s.param('nothing', null);
      const loaded = await roundTrip(s, dsn);
      for (const [name, value] of Object.entries(NESTED)) expect(loaded.param(name)).toEqual(value);
      expect(loaded.param('nothing')).toBeNull();
      expect(loaded.param().sort()).toEqual([...Object.keys(NESTED), 'nothing'].sort());
    },
  );

  it.each(['superjson', 'storable'])('S27: serializer %s keeps Date, Map, Set and BigInt', async (serializer) => {
    const dsn = `driver:file;serializer:${serializer}`;
    const s = await fresh(dsn);
    const when = new Date('2020-02-29T12:34:56.789Z');
    s.param({
      when,
      map: new Map<unknown, unknown>([['k', 1], [2, { v: [null] }]]),
      set: new Set(['a', 1, null]),
      big: 12345678901234567890n,
    });
    const loaded = await roundTrip(s, dsn);
    expect(loaded.param('when')).toBeInstanceOf(Date);
    expect((loaded.param('when') as Date).getTime()).toBe(when.getTime());
    expect(loaded.param('map')).toBeInstanceOf(Map);
    expect(loaded.param('map')).toEqual(new Map<unknown, unknown>([['k', 1], [2, { v: [null] }]]));
    expect(loaded.param('set')).toBeInstanceOf(Set);
    expect(loaded.param('set')).toEqual(new Set(['a', 1, null]));
    expect(loaded.param('big')).toBe(12345678901234567890n);
  });

  it('S27: storable keeps shared references, within a param and across params', async () => {
    const dsn = 'driver:file;serializer:storable';
    const s = await fresh(dsn);
    const shared = { n: 1 };
    s.param('pair', [shared, shared]);
    s.param('one', shared);
    s.param('two', shared);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    s.param('cyclic', cyclic);
    const loaded = await roundTrip(s, dsn);
    const pair = loaded.param('pair') as [object, object];
    expect(pair[0]).toEqual({ n: 1 });
    expect(pair[0]).toBe(pair[1]);
    expect(loaded.param('one')).toBe(loaded.param('two'));
    const loop = loaded.param('cyclic') as Record<string, unknown>;
    expect(loop.self).toBe(loop);
  });

  it('S27: the memory driver round-trips the same way', async () => {
    const dsn = 'driver:memory;serializer:storable';
    const dsnArgs = { Namespace: `s27-${process.pid}-${Date.now()}` };
    const s = await Session.new(dsn, null, dsnArgs);
    s.param({ when: new Date(0), list: [1, [2, null]], text: 'ü' });
    await s.flush();
    const loaded = await Session.load(dsn, s.id(), dsnArgs);
    expect(loaded.param('when')).toEqual(new Date(0));
    expect(loaded.param('list')).toEqual([1, [2, null]]);
    expect(loaded.param('text')).toBe('ü');
  });
});

describe('S28: param(name, undefined)', () => {
  it('S28: on an unset name it is a no-op', async () => {
    const s = await fresh();
    s.param('a', 1);
    expect(s.param('nobody', undefined)).toBeUndefined();
    expect(s.param()).toEqual(['a']);
    expect(Object.hasOwn(s.dataref(), 'nobody')).toBe(false);
    const loaded = await roundTrip(s);
    expect(loaded.param()).toEqual(['a']);
    expect(loaded.param('a')).toBe(1);
  });

  it('S28: on a set name it removes it like clear(name)', async () => {
    const s = await fresh();
    s.param({ a: 1, b: 2 });
    s.param('a', undefined);
    expect(s.param('a')).toBeUndefined();
    expect(s.param()).toEqual(['b']);
    const loaded = await roundTrip(s);
    expect(loaded.param()).toEqual(['b']);
    expect(loaded.param('b')).toBe(2);
  });

  it('S28: removing a stored param with undefined persists at the next flush', async () => {
    const s = await fresh();
    s.param({ a: 1, b: 2 });
    await s.flush();
    const loaded = await Session.load(null, s.id(), { Directory: dir });
    loaded.param('a', undefined);
    loaded.param({ c: undefined });
    const again = await roundTrip(loaded);
    expect(again.param()).toEqual(['b']);
  });
});

describe('S29: clear', () => {
  it('S29: clear(name) removes one public param, others untouched', async () => {
    const s = await fresh();
    s.param({ a: 1, b: 2, c: 3 });
    s.clear('a');
    expect(s.param('a')).toBeUndefined();
    expect(s.param().sort()).toEqual(['b', 'c']);
    const loaded = await roundTrip(s);
    expect(loaded.param().sort()).toEqual(['b', 'c']);
    expect(loaded.param('b')).toBe(2);
  });

  it('S29: clear([names]) removes those', async () => {
    const s = await fresh();
    s.param({ a: 1, b: 2, c: 3 });
    await s.flush();
    const loaded = await Session.load(null, s.id(), { Directory: dir });
    loaded.clear(['a', 'c', 'never-set']);
    expect(loaded.param()).toEqual(['b']);
    expect((await roundTrip(loaded)).param()).toEqual(['b']);
  });

  it('S29: clear() removes every public param and keeps the session', async () => {
    const s = await fresh();
    s.param({ a: 1, b: 2, c: 3 });
    s.expire('1h');
    await s.flush();
    const loaded = await Session.load(null, s.id(), { Directory: dir });
    loaded.clear();
    expect(loaded.param()).toEqual([]);
    expect(loaded.id()).toBe(s.id());
    const again = await roundTrip(loaded);
    expect(again.id()).toBe(s.id());
    expect(again.param()).toEqual([]);
    expect(again.expire()).toBe(3600);
  });

  it('S29: _SESSION_* names are ignored', async () => {
    const s = await fresh();
    s.param('a', 1);
    s.expire('1h');
    const before = { ...s.dataref() };
    s.clear(['_SESSION_ID', '_SESSION_CTIME', '_SESSION_ATIME', '_SESSION_ETIME']);
    s.clear('_SESSION_ID');
    expect(s.dataref()).toEqual(before);
    const loaded = await roundTrip(s);
    expect(loaded.id()).toBe(s.id());
    expect(loaded.expire()).toBe(3600);
    expect(loaded.param('a')).toBe(1);
  });
});

describe('S30: dataref()', () => {
  it('S30: the whole table: _SESSION_ID/CTIME/ATIME plus public params', async () => {
    const s = await Session.new(null, null, { Directory: dir }, { now: () => T0 * 1000 });
    s.param({ a: 1, b: [2] });
    const table = s.dataref();
    expect(table._SESSION_ID).toBe(s.id());
    expect(table._SESSION_CTIME).toBe(T0);
    expect(table._SESSION_ATIME).toBe(T0);
    expect(table.a).toBe(1);
    expect(table.b).toEqual([2]);
    expect(table).not.toHaveProperty('_SESSION_ETIME');
    expect(table).not.toHaveProperty('_SESSION_EXPIRE_LIST');
  });

  it('S30: _SESSION_ETIME and _SESSION_EXPIRE_LIST appear when set, also after a load', async () => {
    const s = await Session.new(null, null, { Directory: dir }, { now: () => T0 * 1000 });
    s.param({ a: 1, b: 2 });
    s.expire('+1h');
    s.expire('a', '10m');
    s.expire('b', 30);
    expect(s.dataref()._SESSION_ETIME).toBe(3600);
    expect(s.dataref()._SESSION_EXPIRE_LIST).toEqual({ a: 600, b: 30 });
    await s.flush();
    const loaded = await Session.load(null, s.id(), { Directory: dir }, { now: () => T0 * 1000 });
    const table = loaded.dataref();
    expect(table._SESSION_ID).toBe(s.id());
    expect(table._SESSION_ETIME).toBe(3600);
    expect(table._SESSION_EXPIRE_LIST).toEqual({ a: 600, b: 30 });
    expect(table.a).toBe(1);
  });

  it('S30: an empty session has an empty table', async () => {
    const s = await Session.load(null, null, { Directory: dir });
    expect(s.dataref()).toEqual({});
  });
});
