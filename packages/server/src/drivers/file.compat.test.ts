import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, SessionError, createFileDriver } from '@isosession/server';
import { perlCgiSessionAvailable } from '../testing/perlCgiSession.js';

// The file driver beside Perl CGI::Session: names Perl's find() never mistakes for sessions (in
// every mode), and with Compat 'cgi-session' Perl's own locking: flock(2) on the session file.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-filecompat-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PERL_FIND_PATTERN = /^cgisess_(.+)$/;

describe('file driver: lock and temp files never match Perl find()\'s ^cgisess_(.+)$', () => {
  it('while an update holds its lock and writes its temp file, only session files match', async () => {
    const driver = createFileDriver({ Directory: dir });
    const seen: string[] = [];
    const s = await Session.new('driver:file', null, { Directory: dir });
    await s.flush();
    const id = s.id() as string;
    await driver.update!(id, (current) => {
      expect(current).not.toBeNull();
      return { action: 'store', data: '{}', meta: { atime: 1 } };
    });
    // Inside an update: list the directory while the lock file exists.
    const write = driver.update!(id, () => ({ action: 'store', data: 'x'.repeat(1 << 20), meta: { atime: 1 } }));
    for (let i = 0; i < 20; i++) seen.push(...(await readdir(dir)));
    await write;
    const matching = [...new Set(seen)].filter((name) => PERL_FIND_PATTERN.test(name));
    expect(matching).toEqual([`cgisess_${id}`]);
    expect(seen.some((name) => name.startsWith('isosession-'))).toBe(true);
  });
});

const perl = perlCgiSessionAvailable();

/** Holds flock(LOCK_EX) on `path` from a Perl process, as CGI::Session's store() does, until killed. */
async function perlHoldsLock(path: string): Promise<() => void> {
  const child = spawn('perl', ['-MFcntl=:flock', '-e', 'open(my $fh, "+<", $ARGV[0]) or die $!; flock($fh, LOCK_EX) or die $!; print "locked\\n"; $| = 1; sleep 30', path]);
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`perl exited ${code}`)));
  });
  return () => child.kill();
}

describe.runIf(perl)("file driver, Compat 'cgi-session': flock(2) on the session file, as Perl", () => {
  const compat = { compat: 'cgi-session' as const };

  it('writes in place (same inode, no temp or lock file) and waits for Perl\'s exclusive flock', async () => {
    const s = await Session.new('driver:file', null, { Directory: dir }, compat);
    s.param('n', 1);
    await s.flush();
    const id = s.id() as string;
    const path = join(dir, `cgisess_${id}`);
    const inode = (await stat(path)).ino;
    const release = await perlHoldsLock(path);
    const started = Date.now();
    setTimeout(release, 300);
    // The load waits for the shared lock: it cannot finish while Perl holds LOCK_EX.
    const again = await Session.load('driver:file', id, { Directory: dir, LockTimeout: 5000 }, compat).catch((error: unknown) => error);
    expect(again).not.toBeInstanceOf(Error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const loaded = again as Session;
    loaded.param('n', 2);
    await loaded.flush();
    expect((await stat(path)).ino).toBe(inode);
    expect(await readdir(dir)).toEqual([`cgisess_${id}`]);
    expect(JSON.parse(await readFile(path, 'utf8')).n).toBe(2);
  });

  it('a flock held past LockTimeout fails with STORE_UNAVAILABLE and writes nothing', async () => {
    const s = await Session.new('driver:file', null, { Directory: dir }, compat);
    s.param('n', 1);
    await s.flush();
    const path = join(dir, `cgisess_${s.id() as string}`);
    const release = await perlHoldsLock(path);
    try {
      const error = await Session.load('driver:file', s.id() as string, { Directory: dir, LockTimeout: 200 }, compat).catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
      expect((error as SessionError).message).toContain('flock');
    } finally {
      release();
    }
  });

  it('refuses an unknown Compat value', () => {
    expect(() => createFileDriver({ Directory: dir, Compat: 'perl' })).toThrow(/Compat must be 'cgi-session'/);
  });
});
