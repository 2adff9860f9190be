import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';

const T0 = 1_700_000_000;
const ID = 'c0ffee00c0ffee00c0ffee00c0ffee00';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-proto-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  // Belt and braces: a failing test must not leave the next one polluted.
  for (const target of [Object.prototype, Array.prototype, Function.prototype]) delete (target as Record<string, unknown>).polluted;
});

function assertNotPolluted(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  expect(Object.hasOwn(Array.prototype, 'polluted')).toBe(false);
  expect(Object.hasOwn(Function.prototype, 'polluted')).toBe(false);
  expect(Object.prototype.toString.call({})).toBe('[object Object]');
}

const JSON_PAYLOAD = `{"_SESSION_ID":"${ID}","_SESSION_CTIME":${T0},"_SESSION_ATIME":${T0},`
  + `"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},`
  + `"nested":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"ok":1},`
  + `"_SESSION_EXPIRE_LIST":{"__proto__":{"polluted":"yes"},"constructor":5}}`;

const YAML_PAYLOAD = `_SESSION_ID: ${ID}
_SESSION_CTIME: ${T0}
_SESSION_ATIME: ${T0}
__proto__:
  polluted: yes
constructor:
  prototype:
    polluted: yes
nested:
  __proto__:
    polluted: yes
  <<: { polluted: yes }
  ok: 1
_SESSION_EXPIRE_LIST:
  __proto__: { polluted: yes }
`;

function storablePayload(): Uint8Array {
  const own = (target: Record<string, unknown>, key: string, value: unknown) =>
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  const table: Record<string, unknown> = { _SESSION_ID: ID, _SESSION_CTIME: T0, _SESSION_ATIME: T0 };
  own(table, '__proto__', { polluted: 'yes' });
  own(table, 'constructor', { prototype: { polluted: 'yes' } });
  const nested: Record<string, unknown> = { ok: 1 };
  own(nested, '__proto__', { polluted: 'yes' });
  table.nested = nested;
  const list: Record<string, unknown> = {};
  own(list, '__proto__', { polluted: 'yes' });
  table._SESSION_EXPIRE_LIST = list;
  return new Uint8Array(serialize(table));
}

const PAYLOADS: [string, string | Uint8Array][] = [
  ['default', JSON_PAYLOAD],
  ['json', JSON_PAYLOAD],
  ['yaml', YAML_PAYLOAD],
  ['storable', storablePayload()],
  ['superjson', `{"json":${JSON_PAYLOAD}}`],
  ['superjson', `{"json":{"_SESSION_ID":"${ID}","_SESSION_CTIME":${T0},"_SESSION_ATIME":${T0},"when":"2020-01-01T00:00:00.000Z","a":{}},"meta":{"values":{"__proto__.polluted":["Date"],"constructor.prototype.polluted":["Date"],"when":["Date"]},"referentialEqualities":{"a":["__proto__.polluted"]}}}`],
  ['superjson', `{"json":{"_SESSION_ID":"${ID}","_SESSION_CTIME":${T0},"_SESSION_ATIME":${T0},"x":{}},"meta":{"values":{"x":[["class","Object"]]}}}`],
];

describe.each(PAYLOADS)('stored data with __proto__ / constructor keys (%s)', (serializer, payload) => {
  const dsn = `driver:file;serializer:${serializer}`;

  it('never pollutes Object.prototype through load, param, dataref, flush and find', async () => {
    await writeFile(join(dir, `cgisess_${ID}`), payload);
    const loaded = await Session.load(dsn, ID, { Directory: dir }).then((s) => s, (e: unknown) => e);
    assertNotPolluted();
    if (!(loaded instanceof Session)) {
      // Refusing the data is fine (CORRUPT); polluting is not.
      expect(loaded).toBeInstanceOf(SessionError);
      expect((loaded as SessionError).code).toBe('CORRUPT');
      return;
    }
    expect(loaded.id()).toBe(ID);
    for (const name of loaded.param()) loaded.param(name);
    loaded.param('x', { y: 1 });
    loaded.param({ z: 2 });
    loaded.expire('x', '1h');
    loaded.clear('z');
    const copy = { ...loaded.dataref() };
    Object.assign({}, copy, loaded.param('nested'));
    loaded.dump();
    assertNotPolluted();
    // superjson refuses to write an object with a "__proto__" key: a rejection, not pollution.
    const flushed = await loaded.flush().then(() => true, (error: unknown) => {
      expect(error).toBeInstanceOf(SessionError);
      return false;
    });
    assertNotPolluted();

    const again = await Session.load(dsn, ID, { Directory: dir }).catch((error: unknown) => error);
    if (again instanceof Session) {
      if (flushed) expect(again.param('x')).toEqual({ y: 1 });
      again.param('more', 1);
      await again.flush().catch(() => undefined);
    }
    await Session.find(dsn, (s) => { s.param(); }, { Directory: dir });
    assertNotPolluted();
  });
});

describe.each(['default', 'yaml', 'storable', 'superjson'])('params named __proto__ / constructor set by code (%s)', (serializer) => {
  const dsn = `driver:file;serializer:${serializer}`;

  it('never pollute Object.prototype through flush and load', async () => {
    const s = await Session.new(dsn, null, { Directory: dir });
    s.param('__proto__', { polluted: 'yes' });
    s.param('constructor', { prototype: { polluted: 'yes' } });
    s.param({ ['__proto__']: { polluted: 'yes' } });
    s.expire('__proto__', 10);
    expect(s.param()).toEqual(expect.arrayContaining(['__proto__', 'constructor']));
    assertNotPolluted();
    const flushed = await s.flush().then(() => true, (error: unknown) => {
      expect(error).toBeInstanceOf(SessionError);
      return false;
    });
    const loaded = await Session.load(dsn, s.id()!, { Directory: dir });
    expect(loaded.isEmpty()).toBe(!flushed);
    if (flushed) {
      loaded.param('touch', 1);
      await loaded.flush();
    }
    assertNotPolluted();
  });
});

describe.each(['yaml', 'storable'])('a param named __proto__ (%s)', (serializer) => {
  it('S39/S43: expire(name, t) works for it, as a plain key', async () => {
    const dsn = `driver:file;serializer:${serializer}`;
    const clock = { ms: T0 * 1000 };
    const params = { now: () => clock.ms };
    const s = await Session.new(dsn, null, { Directory: dir }, params);
    s.param('__proto__', 'value');
    s.param('other', 'kept');
    s.expire('__proto__', 10);
    expect(Object.entries(s.dataref()._SESSION_EXPIRE_LIST as object)).toEqual([['__proto__', 10]]);
    await s.flush();
    const loaded = await Session.load(dsn, s.id()!, { Directory: dir }, params);
    expect(Object.entries(loaded.dataref()._SESSION_EXPIRE_LIST as object)).toEqual([['__proto__', 10]]);
    loaded.expire('other', 20);
    await loaded.flush();
    clock.ms += 10_000;
    const later = await Session.load(dsn, s.id()!, { Directory: dir }, params);
    expect(later.param()).toEqual(['other']);
    assertNotPolluted();
  });
});
