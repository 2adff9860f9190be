import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createFileDriver } from '@isosession/server';

const T0 = 1_700_000_000;
// base/ holds the session Directory and the files a path trick would reach.
let base: string;
let dir: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'isosession-filesem-'));
  dir = join(base, 'sessions');
  await mkdir(dir);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

function table(id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ _SESSION_ID: id, _SESSION_CTIME: T0, _SESSION_ATIME: T0, ...extra });
}

describe('file driver: layout', () => {
  it('S74: one file cgisess_<id> per session in Directory', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await Session.new(null, null, { Directory: dir });
      s.param('i', i);
      await s.flush();
      ids.push(s.id()!);
    }
    expect((await readdir(dir)).sort()).toEqual(ids.map((id) => `cgisess_${id}`).sort());
    // Flushing one of them again keeps one file for it.
    const again = await Session.load(null, ids[0]!, { Directory: dir });
    again.param('i', 'changed');
    await again.flush();
    expect(await readdir(dir)).toHaveLength(3);
  });

  it('S74: a missing Directory is created, parents too', async () => {
    const nested = join(base, 'a', 'b', 'c');
    const s = await Session.new(null, null, { Directory: nested });
    await s.flush();
    expect(await readdir(nested)).toEqual([`cgisess_${s.id()}`]);
  });

  it('S74: Directory defaults to a private directory isosession-<uid> in the OS temp directory', async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const s = await Session.new();
      await s.flush();
      expect(existsSync(join(dir, `isosession-${process.getuid!()}`, `cgisess_${s.id()}`))).toBe(true);
      expect((await Session.load(s.id()!)).id()).toBe(s.id());
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });
});

describe('file driver: path tricks', () => {
  const tricks = ['x/../../outside', '../outside', '..', 'a\\b', 'a/b', 'nul\u0000byte'];

  it('S75: the driver refuses ids with "/", "\\", ".." or NUL: retrieve is "not found", store and remove throw', async () => {
    await writeFile(join(base, 'outside'), table('x/../../outside', { secret: 'outside' }));
    await writeFile(join(base, 'cgisess_'), table('..', { secret: 'parent' }));
    const driver = createFileDriver({ Directory: dir });
    for (const id of tricks) {
      expect(await driver.retrieve(id)).toBeNull();
      await expect(driver.store(id, table(id), { atime: T0 })).rejects.toBeInstanceOf(SessionError);
      await expect(driver.remove(id)).rejects.toBeInstanceOf(SessionError);
    }
    expect(await readFile(join(base, 'outside'), 'utf8')).toBe(table('x/../../outside', { secret: 'outside' }));
    expect((await readdir(base)).sort()).toEqual(['cgisess_', 'outside', 'sessions']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('S75: load of such an id is empty (or a SessionError), never the outside file', async () => {
    await writeFile(join(base, 'outside'), table('x/../../outside', { secret: 'outside' }));
    for (const id of tricks) {
      const result = await Session.load(null, id, { Directory: dir }).then((s) => s, (e: unknown) => e);
      if (result instanceof Session) {
        expect(result.isEmpty()).toBe(true);
        expect(result.param('secret')).toBeUndefined();
      } else {
        expect(result).toBeInstanceOf(SessionError);
      }
    }
  });

  it('S75: new() with such an id gets a fresh id inside Directory', async () => {
    for (const id of tricks) {
      const s = await Session.new(null, id, { Directory: dir });
      expect(s.id()).not.toBe(id);
      expect(s.id()).toMatch(/^[0-9a-f]{32}$/);
      await s.flush();
      expect(existsSync(join(dir, `cgisess_${s.id()}`))).toBe(true);
    }
    expect((await readdir(base)).sort()).toEqual(['sessions']);
  });

  it('S75: flush() of such a static id rejects with SessionError and writes nothing anywhere', async () => {
    for (const id of ['x/../../escape', '../escape', 'a\\b']) {
      const s = await Session.new('driver:file;id:static', null, { Directory: dir, Id: id });
      expect(s.id()).toBe(id);
      s.param('payload', 'should not land');
      const error = await s.flush().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(SessionError);
    }
    expect((await readdir(base)).sort()).toEqual(['sessions']);
    expect((await readdir(dir)).filter((name) => !name.endsWith('.lock'))).toEqual([]);
  });

  it('S75: find() never visits anything outside Directory', async () => {
    await writeFile(join(base, 'cgisess_outside'), table('outside'));
    const s = await Session.new(null, null, { Directory: dir });
    await s.flush();
    const seen: (string | undefined)[] = [];
    await Session.find(null, (found) => { seen.push(found.id()); }, { Directory: dir });
    expect(seen).toEqual([s.id()]);
  });
});

describe('file driver: symlinks', () => {
  const id = 'planted_symlink_id';
  const dsn = 'driver:file;id:static';

  async function plant(): Promise<{ victim: string; victimText: string; link: string }> {
    const victim = join(base, 'victim');
    const victimText = table(id, { secret: 'victim data' });
    await writeFile(victim, victimText);
    const link = join(dir, `cgisess_${id}`);
    await symlink(victim, link);
    return { victim, victimText, link };
  }

  it('S76: a planted cgisess_<id> symlink reads as missing', async () => {
    await plant();
    const loaded = await Session.load(dsn, id, { Directory: dir });
    expect(loaded.isEmpty()).toBe(true);
    expect(loaded.param('secret')).toBeUndefined();
    expect(await createFileDriver({ Directory: dir }).retrieve(id)).toBeNull();
  });

  it('S76: a write replaces the link instead of writing through it', async () => {
    const { victim, victimText, link } = await plant();
    const s = await Session.new(dsn, id, { Directory: dir });
    expect(s.id()).toBe(id);
    expect(s.isNew()).toBe(true);
    expect(s.param('secret')).toBeUndefined();
    s.param('mine', 'session data');
    await s.flush();
    expect(await readFile(victim, 'utf8')).toBe(victimText);
    const info = await lstat(link);
    expect(info.isSymbolicLink()).toBe(false);
    expect(info.isFile()).toBe(true);
    expect((await Session.load(dsn, id, { Directory: dir })).param('mine')).toBe('session data');
  });

  it('S76: a symlink to a directory or a dangling one also reads as missing', async () => {
    await symlink(base, join(dir, 'cgisess_dirlink'));
    await symlink(join(base, 'nowhere'), join(dir, 'cgisess_dangling'));
    expect((await Session.load(dsn, 'dirlink', { Directory: dir })).isEmpty()).toBe(true);
    expect((await Session.load(dsn, 'dangling', { Directory: dir })).isEmpty()).toBe(true);
    const s = await Session.new(dsn, 'dangling', { Directory: dir });
    await s.flush();
    expect(existsSync(join(base, 'nowhere'))).toBe(false);
  });
});
