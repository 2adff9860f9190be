import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';

const dsn = 'driver:file;serializer:v8';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-v8-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function store(values: Record<string, unknown>): Promise<string> {
  const s = await Session.new(dsn, null, { Directory: dir });
  s.param(values);
  await s.flush();
  return s.id()!;
}

describe('v8 serializer (structured clone)', () => {
  it('S27: keeps shared references within a param and across params', async () => {
    const shared = { count: 1, tags: ['a'] };
    const id = await store({ pair: { left: shared, right: shared }, also: shared, list: [shared, shared] });
    const loaded = await Session.load(dsn, id, { Directory: dir });
    const pair = loaded.param('pair') as { left: object; right: object };
    expect(pair.left).toEqual(shared);
    expect(pair.left).toBe(pair.right);
    expect(loaded.param('also')).toBe(pair.left);
    const list = loaded.param('list') as object[];
    expect(list[0]).toBe(list[1]);
    expect(list[0]).toBe(pair.left);
  });

  it('S27: shared references survive a load + change + flush of another param', async () => {
    const shared = { n: 1 };
    const id = await store({ a: shared, b: shared });
    const loaded = await Session.load(dsn, id, { Directory: dir });
    loaded.param('c', 'changed');
    await loaded.flush();
    const again = await Session.load(dsn, id, { Directory: dir });
    expect(again.param('a')).toBe(again.param('b'));
  });

  it('S27: keeps circular references', async () => {
    const node: { name: string; self?: unknown; children: unknown[] } = { name: 'root', children: [] };
    node.self = node;
    node.children.push({ parent: node });
    const loaded = await Session.load(dsn, await store({ node }), { Directory: dir });
    const back = loaded.param('node') as typeof node;
    expect(back.self).toBe(back);
    expect((back.children[0] as { parent: unknown }).parent).toBe(back);
  });

  it('S27: keeps Date, Map, Set, BigInt and typed arrays', async () => {
    const when = new Date('2001-09-09T01:46:40Z');
    const loaded = await Session.load(dsn, await store({
      when,
      map: new Map<unknown, unknown>([[1, 'one'], ['two', new Set([2n])]]),
      set: new Set([1, 'a', null]),
      big: -(2n ** 70n),
      bytes: new Uint8Array([0, 1, 255]),
    }), { Directory: dir });
    expect(loaded.param('when')).toEqual(when);
    expect(loaded.param('map')).toEqual(new Map<unknown, unknown>([[1, 'one'], ['two', new Set([2n])]]));
    expect(loaded.param('set')).toEqual(new Set([1, 'a', null]));
    expect(loaded.param('big')).toBe(-(2n ** 70n));
    expect(loaded.param('bytes')).toEqual(new Uint8Array([0, 1, 255]));
  });

  it('never stores code: a function value makes flush() reject and nothing is written', async () => {
    const s = await Session.new(dsn, null, { Directory: dir });
    s.param('callback', () => 'evil');
    const error = await s.flush().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('INVALID_ARGUMENT');
    expect((error as SessionError).message).toMatch(/serializer "v8"/);
    expect(s.isNew()).toBe(true);
    expect((await Session.load(dsn, s.id()!, { Directory: dir })).isEmpty()).toBe(true);
  });
});

describe('the old name "storable"', () => {
  it('still reads and writes the same bytes, with one DeprecationWarning per process', async () => {
    const warnings: Error[] = [];
    const listen = (warning: Error) => warnings.push(warning);
    process.on('warning', listen);
    try {
      const old = await Session.new('driver:file;serializer:storable', null, { Directory: dir });
      old.param('when', new Date(0));
      await old.flush();
      await Session.load('driver:file;serializer:storable', old.id() as string, { Directory: dir });
      const now = await Session.load(dsn, old.id() as string, { Directory: dir });
      expect(now.param('when')).toEqual(new Date(0));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    const deprecations = warnings.filter((warning) => (warning as { code?: string }).code === 'ISOSESSION_SERIALIZER_STORABLE');
    expect(deprecations).toHaveLength(1);
    expect(deprecations[0]!.name).toBe('DeprecationWarning');
    expect(deprecations[0]!.message).toContain('"v8"');
  });
});
