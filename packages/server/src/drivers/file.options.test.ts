import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '../index.js';
import type { DsnArgs } from '../index.js';
import { withFileLock } from '../fileLock.js';

const directories: string[] = [];
afterEach(async () => {
  await Session.closeAll();
});
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

async function freshDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'isosession-file-options-'));
  directories.push(directory);
  return directory;
}

async function storedSession(args: DsnArgs, values: Record<string, unknown> = { a: 1 }): Promise<string> {
  const s = await Session.new('driver:file', null, args);
  s.param(values);
  await s.flush();
  return s.id()!;
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/**
 * A lock on `id` held by this (live) process, as another request in flight would hold it; a
 * lock file merely naming this pid is not live (it could be a predecessor's with the same pid).
 */
async function holdLock(directory: string, id: string): Promise<{ lockPath: string; release: () => Promise<void> }> {
  const lockPath = join(directory, `isosession-lock_${id}.lock`);
  let release!: () => void;
  let taken!: () => void;
  const isTaken = new Promise<void>((resolve) => { taken = resolve; });
  const held = withFileLock(lockPath, () => {
    taken();
    return new Promise<void>((resolve) => { release = resolve; });
  });
  await isTaken;
  return { lockPath, release: async () => { release(); await held; } };
}

/** A lock file left behind by some process, as NoFlock must ignore it. */
async function plantLock(directory: string, id: string): Promise<string> {
  const lockPath = join(directory, `isosession-lock_${id}.lock`);
  await writeFile(lockPath, `${process.pid}@${hostname()}#planted-by-test`);
  return lockPath;
}

describe('file driver options', () => {
  it('session files are created 0600 by default, readable by their owner only', async () => {
    const directory = await freshDirectory();
    const id = await storedSession({ Directory: directory });
    expect(await modeOf(join(directory, `cgisess_${id}`))).toBe(0o600);
  });

  // Modes inside the usual process umasks (022, 002, 027), which only ever remove bits.
  for (const umask of [0o640, '0640', 0o400]) {
    it(`UMask ${typeof umask === 'string' ? JSON.stringify(umask) : `0o${umask.toString(8)}`} is the mode of created and rewritten session files`, async () => {
      const directory = await freshDirectory();
      const args = { Directory: directory, UMask: umask };
      const id = await storedSession(args);
      const expected = typeof umask === 'string' ? Number.parseInt(umask, 8) : umask;
      expect(await modeOf(join(directory, `cgisess_${id}`))).toBe(expected);
      const again = await Session.load('driver:file', id, args);
      again.param('b', 2);
      await again.flush();
      expect(await modeOf(join(directory, `cgisess_${id}`))).toBe(expected);
    });
  }

  it('a UMask that is not a file mode is a configuration error', async () => {
    const directory = await freshDirectory();
    for (const umask of ['rwx', 0o1777, -1, '9']) {
      const error = await Session.new('driver:file', null, { Directory: directory, UMask: umask }).catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('INVALID_ARGUMENT');
      expect((error as SessionError).message).toContain('UMask');
    }
  });

  it('S74: a missing Directory is created with its parents, private to its owner', async () => {
    const base = await freshDirectory();
    const directory = join(base, 'several', 'levels', 'deep');
    const id = await storedSession({ Directory: directory });
    expect(await readdir(directory)).toEqual([`cgisess_${id}`]);
    expect(await modeOf(directory)).toBe(0o700);
    expect((await Session.load('driver:file', id, { Directory: directory })).param('a')).toBe(1);
  });

  it('an update waiting on a lock held longer than LockTimeout fails with STORE_UNAVAILABLE and writes nothing', async () => {
    const directory = await freshDirectory();
    const args = { Directory: directory, LockTimeout: 50 };
    const id = await storedSession(args, { color: 'red' });
    const { lockPath, release } = await holdLock(directory, id);
    const s = await Session.load('driver:file', id, args);
    s.param('color', 'blue');
    const error = await s.flush().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
    expect((error as SessionError).message).toContain(lockPath);
    expect(Session.errstr()).toContain('timed out');
    expect((await Session.load('driver:file', id, args)).param('color')).toBe('red');

    // Once the holder lets go, the same flush goes through.
    await release();
    await s.flush();
    expect((await Session.load('driver:file', id, args)).param('color')).toBe('blue');
  });

  it('NoFlock: updates neither take nor wait for the lock file', async () => {
    const directory = await freshDirectory();
    const args = { Directory: directory, NoFlock: true, LockTimeout: 50 };
    const id = await storedSession(args, { color: 'red' });
    expect(await readdir(directory)).toEqual([`cgisess_${id}`]);
    const lockPath = await plantLock(directory, id);
    const s = await Session.load('driver:file', id, args);
    s.param('color', 'blue');
    await s.flush();
    expect((await Session.load('driver:file', id, args)).param('color')).toBe('blue');
    expect((await readdir(directory)).sort()).toEqual([`cgisess_${id}`, `isosession-lock_${id}.lock`]);
    await rm(lockPath);
  });

  it('a LockTimeout that is not milliseconds is a configuration error', async () => {
    const directory = await freshDirectory();
    const error = await Session.new('driver:file', null, { Directory: directory, LockTimeout: '10s' }).catch((reason: unknown) => reason);
    expect((error as SessionError).code).toBe('INVALID_ARGUMENT');
    expect((error as SessionError).message).toContain('LockTimeout');
  });
});
