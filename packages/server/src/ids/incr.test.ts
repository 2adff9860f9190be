import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '@isosession/server';

const dsn = 'driver:memory;id:incr';
let dir: string;
let IDFile: string;
let Namespace: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-incr-'));
  IDFile = join(dir, 'last-id');
  Namespace = `incr-${randomBytes(6).toString('hex')}`;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function nextId(args: Record<string, unknown>): Promise<string> {
  return (await Session.new(dsn, null, { Namespace, ...args })).id()!;
}

describe('id:incr', () => {
  it('S82: IDFile is required', async () => {
    const error = await Session.new(dsn, null, { Namespace }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).message).toContain('IDFile');
  });

  it('S82: ids start at IDInit + IDIncr (defaults 0 and 1) and are decimal strings', async () => {
    expect(await nextId({ IDFile })).toBe('1');
    expect(await nextId({ IDFile })).toBe('2');
    expect(await nextId({ IDFile })).toBe('3');
  });

  it("S82: IDInit 1000, IDIncr 2 gives '1002', '1004'; IDFile holds the last id as decimal text", async () => {
    const args = { IDFile, IDInit: 1000, IDIncr: 2 };
    expect(await nextId(args)).toBe('1002');
    expect(await readFile(IDFile, 'utf8')).toBe('1002');
    expect(await nextId(args)).toBe('1004');
    expect(await readFile(IDFile, 'utf8')).toBe('1004');
  });

  it('S82: an IDFile that holds 41 continues at 42', async () => {
    await writeFile(IDFile, '41\n');
    expect(await nextId({ IDFile })).toBe('42');
    expect(await nextId({ IDFile, IDInit: 1000 })).toBe('43');
  });

  it('S82: the counter is shared across session objects and DSNs using the same IDFile', async () => {
    expect(await nextId({ IDFile })).toBe('1');
    const onFile = await Session.new('driver:file;id:incr', null, { Directory: dir, IDFile });
    expect(onFile.id()).toBe('2');
    const fresh = await (await Session.load(dsn, null, { Namespace, IDFile })).new();
    expect(fresh.id()).toBe('3');
  });

  it('S82: concurrent new() calls get distinct ids with none skipped', async () => {
    const ids = await Promise.all(Array.from({ length: 30 }, () => nextId({ IDFile, IDIncr: 5 })));
    expect(ids.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 5 * (i + 1)));
  });

  it('S82: an incr id round-trips through flush and load', async () => {
    const s = await Session.new(dsn, null, { Namespace, IDFile });
    s.param('n', 1);
    await s.flush();
    const loaded = await Session.load(dsn, s.id()!, { Namespace, IDFile });
    expect(loaded.id()).toBe('1');
    expect(loaded.param('n')).toBe(1);
    expect((await Session.new(dsn, '1', { Namespace, IDFile })).id()).toBe('1');
  });

  it('S82: a claimed id the store does not hold gets the next id, not the claim', async () => {
    const s = await Session.new(dsn, '777', { Namespace, IDFile });
    expect(s.id()).toBe('1');
  });

  it('S82: an IDFile that does not hold a number rejects instead of restarting the sequence', async () => {
    await writeFile(IDFile, 'pumpkin');
    await expect(nextId({ IDFile })).rejects.toBeInstanceOf(SessionError);
    expect(await readFile(IDFile, 'utf8')).toBe('pumpkin');
  });
});
