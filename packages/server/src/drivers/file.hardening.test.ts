import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createFileDriver, defaultFileDirectory } from '@isosession/server';
import { takeWarnings } from '@isosession/test-support/capturedWarnings';

// Attacks by another local user on the file driver's directory. The tests run as root in CI
// and here, so "another user" is uid 65534 (nobody), made the owner with chown.
const NOBODY = 65534;
const T0 = Math.floor(Date.now() / 1000);

let base: string;
let savedTmpdir: string | undefined;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'isosession-filehard-'));
  savedTmpdir = process.env.TMPDIR;
});
afterEach(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await Session.closeAll();
  await rm(base, { recursive: true, force: true });
});

function plantedAdmin(id: string): string {
  return JSON.stringify({ _SESSION_ID: id, _SESSION_CTIME: T0, _SESSION_ATIME: T0, user: 'admin' });
}

async function privateDirectory(): Promise<string> {
  const directory = join(base, 'sessions');
  await mkdir(directory, { mode: 0o700 });
  return directory;
}

/** Runs `work`, or answers 'blocked' if it has not settled after `ms`. */
function within<T>(ms: number, work: Promise<T>): Promise<T | 'blocked'> {
  return Promise.race([work, new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), ms).unref())]);
}

describe('file driver: the default directory is private, not the shared temp directory', () => {
  it('a local user listing the temp directory sees no session file (the name is the credential)', async () => {
    process.env.TMPDIR = base;
    const s = await Session.new();
    s.param('user', 'alice');
    await s.flush();
    expect((await readdir(base)).filter((name) => name.startsWith('cgisess_'))).toEqual([]);
    expect(defaultFileDirectory()).toBe(join(base, `isosession-${process.getuid!()}`));
    expect(await readdir(defaultFileDirectory())).toEqual([`cgisess_${s.id()}`]);
    expect((await lstat(defaultFileDirectory())).mode & 0o777).toBe(0o700);
  });

  it('a default directory squatted by another user (theirs, world-writable) is refused with a SessionError', async () => {
    process.env.TMPDIR = base;
    const squatted = join(base, `isosession-${process.getuid!()}`);
    await mkdir(squatted);
    await chmod(squatted, 0o777);
    await chown(squatted, NOBODY, NOBODY);
    const s = await Session.new();
    s.param('user', 'alice');
    const error = await s.flush().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).message).toMatch(/refusing session directory .*isosession-\d+: it is owned by uid 65534/);
    expect(await readdir(squatted)).toEqual([]);
  });

  it('a symlink planted as the default directory (pointing at a directory of ours) is refused', async () => {
    process.env.TMPDIR = base;
    const ours = await privateDirectory();
    await symlink(ours, join(base, `isosession-${process.getuid!()}`));
    const s = await Session.new();
    s.param('user', 'alice');
    await expect(s.flush()).rejects.toThrow(/is a symbolic link/);
    expect(await readdir(ours)).toEqual([]);
  });
});

describe('file driver: a directory or file another user can write is not trusted', () => {
  it('a world-writable Directory is refused with a SessionError that names it and the fix', async () => {
    const directory = await privateDirectory();
    await chmod(directory, 0o777);
    const error = await Session.new('driver:file', null, { Directory: directory }).then(async (s) => {
      s.param('a', 1);
      await s.flush();
    }).catch((reason: unknown) => reason);
    expect((error as SessionError).code).toBe('STORE_ERROR');
    expect((error as SessionError).message).toContain(`refusing session directory ${directory}: it is writable by its group (mode 0o777)`);
    expect((error as SessionError).message).toContain('SharedDirectory: true');
    // Reading from it is refused too: a planted session there is never adopted.
    await writeFile(join(directory, `cgisess_${'a'.repeat(32)}`), plantedAdmin('a'.repeat(32)));
    await expect(Session.load('driver:file', 'a'.repeat(32), { Directory: directory })).rejects.toThrow(/refusing session directory/);
  });

  it('a session file planted by another user (user: admin) is not adopted', async () => {
    const directory = await privateDirectory();
    const id = 'b'.repeat(32);
    const planted = join(directory, `cgisess_${id}`);
    await writeFile(planted, plantedAdmin(id), { mode: 0o600 });
    await chown(planted, NOBODY, NOBODY);
    const loaded = await Session.load('driver:file', id, { Directory: directory });
    expect(loaded.isEmpty()).toBe(true);
    const fresh = await Session.new('driver:file', id, { Directory: directory });
    expect(fresh.id()).not.toBe(id);
    expect(fresh.param('user')).toBeUndefined();
    expect((await takeWarnings('ISOSESSION_UNTRUSTED_FILE'))[0]?.message).toContain('a planted session?');
  });

  it('a group- or world-writable session file (anyone could have rewritten it) is not adopted', async () => {
    const directory = await privateDirectory();
    const id = 'c'.repeat(32);
    const planted = join(directory, `cgisess_${id}`);
    await writeFile(planted, plantedAdmin(id));
    await chmod(planted, 0o666);
    expect((await Session.load('driver:file', id, { Directory: directory })).isEmpty()).toBe(true);
    expect((await takeWarnings('ISOSESSION_UNTRUSTED_FILE'))[0]?.message).toContain(`ignored a session file in ${directory}`);
  });

  it('SharedDirectory: true (off by default) adopts files and directories of another user on purpose', async () => {
    const directory = await privateDirectory();
    await chmod(directory, 0o777);
    const id = 'd'.repeat(32);
    const planted = join(directory, `cgisess_${id}`);
    await writeFile(planted, plantedAdmin(id));
    await chmod(planted, 0o666);
    await chown(planted, NOBODY, NOBODY);
    const loaded = await Session.load('driver:file', id, { Directory: directory, SharedDirectory: true });
    expect(loaded.param('user')).toBe('admin');
  });

  it('a UMask that lets others write session files is refused at construction (they would never be read back)', async () => {
    const directory = await privateDirectory();
    expect(() => createFileDriver({ Directory: directory, UMask: 0o666 })).toThrow(/UMask 0o666 lets group or others write/);
    expect(() => createFileDriver({ Directory: directory, UMask: 0o660, SharedDirectory: true })).not.toThrow();
  });
});

describe('file driver: a planted file cannot hang or bloat the process', () => {
  it('a sparse 256 MB session file is refused (TOO_LARGE) without allocating it', async () => {
    const directory = await privateDirectory();
    const id = 'e'.repeat(32);
    const planted = join(directory, `cgisess_${id}`);
    await writeFile(planted, '');
    await truncate(planted, 256 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    const error = await createFileDriver({ Directory: directory }).retrieve(id).then(() => 'read', (reason: unknown) => reason);
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    expect((error as SessionError).code).toBe('TOO_LARGE');
    expect((error as SessionError).message).toMatch(/268435456 bytes, over MaxFileSize \(1048576\)/);
  });

  it('MaxFileSize is configurable, and a session over it is not stored', async () => {
    const directory = await privateDirectory();
    const driver = createFileDriver({ Directory: directory, MaxFileSize: 100 });
    await expect(driver.store('f'.repeat(32), 'x'.repeat(101), { atime: T0 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(await readdir(directory)).toEqual([]);
    expect(() => createFileDriver({ Directory: directory, MaxFileSize: '1MB' })).toThrow(/MaxFileSize must be a number of bytes/);
  });

  it('a FIFO planted as isosession-lock_<id>.lock does not hang a flush (it is removed: O_EXCL never makes a FIFO)', async () => {
    const directory = await privateDirectory();
    const args = { Directory: directory, LockTimeout: 1_000 };
    const s = await Session.new('driver:file', null, args);
    s.param('a', 1);
    await s.flush();
    const lockPath = join(directory, `isosession-lock_${s.id()}.lock`);
    execFileSync('mkfifo', [lockPath]);
    try {
      s.param('a', 2);
      expect(await within(3_000, s.flush().then(() => 'flushed'))).toBe('flushed');
      expect((await Session.load('driver:file', s.id()!, args)).param('a')).toBe(2);
    } finally {
      // Frees a reader blocked in open() (the bug), so the test process can end.
      try {
        closeSync(openSync(lockPath, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // Removed (fixed) or no reader waiting.
      }
    }
  });
});
