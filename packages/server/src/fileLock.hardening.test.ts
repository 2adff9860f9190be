import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { SessionError } from '@isosession/core';
import { withFileLock } from './fileLock.js';

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

async function lockPathIn(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'isosession-lockhard-'));
  directories.push(directory);
  return join(directory, 'cgisess_x.lock');
}

/** Runs `work`, or answers 'blocked' if it has not settled after `ms`. */
function within<T>(ms: number, work: Promise<T>): Promise<T | 'blocked'> {
  return Promise.race([work, new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), ms).unref())]);
}

async function backdate(path: string, seconds: number): Promise<void> {
  const then = (Date.now() - seconds * 1000) / 1000;
  await utimes(path, then, then);
}

describe('withFileLock: a lock this process does not hold is not live, whatever pid it names', () => {
  it('a restarted container (same pid, same host) takes over its predecessor\'s lock at once', async () => {
    const lockPath = await lockPathIn();
    await writeFile(lockPath, `${process.pid}@${hostname()}#t${threadId}.0123456789ab`);
    await expect(withFileLock(lockPath, async () => 'ran', { timeoutMs: 1_000 })).resolves.toBe('ran');
    expect(await readdir(join(lockPath, '..'))).toEqual([]);
  });

  it('the same, with a lock written by an older version (no thread in the owner)', async () => {
    const lockPath = await lockPathIn();
    await writeFile(lockPath, `${process.pid}@${hostname()}#0123456789ab`);
    await expect(withFileLock(lockPath, async () => 'ran', { timeoutMs: 1_000 })).resolves.toBe('ran');
  });

  it('a lock naming a live but unrelated pid (a reused number) is taken over once older than staleMs', async () => {
    const lockPath = await lockPathIn();
    await writeFile(lockPath, `${process.ppid}@${hostname()}#t0.0123456789ab`);
    await backdate(lockPath, 60);
    await expect(withFileLock(lockPath, async () => 'ran', { timeoutMs: 1_000, staleMs: 30_000 })).resolves.toBe('ran');
  });

  it('a holder whose work outlasts staleMs keeps its lock (it refreshes it): nobody else gets in meanwhile', async () => {
    const lockPath = await lockPathIn();
    const events: string[] = [];
    const first = withFileLock(lockPath, async () => {
      events.push('first in');
      await new Promise((resolve) => setTimeout(resolve, 900));
      events.push('first out');
    }, { staleMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = withFileLock(lockPath, async () => {
      events.push('second in');
    }, { staleMs: 200, timeoutMs: 5_000 });
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'first out', 'second in']);
  });

  it('a fresh lock naming this pid but another worker thread is waited for (that thread may hold it)', async () => {
    const lockPath = await lockPathIn();
    await writeFile(lockPath, `${process.pid}@${hostname()}#t${threadId + 1}.0123456789ab`);
    const error = await withFileLock(lockPath, async () => 'never', { timeoutMs: 100 }).catch((reason: unknown) => reason);
    expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
    expect(await readdir(join(lockPath, '..'))).toEqual(['cgisess_x.lock']);
  });

  it('a lock held in this process is live: a second waiter times out with STORE_UNAVAILABLE', async () => {
    const lockPath = await lockPathIn();
    await withFileLock(lockPath, async () => {
      const error = await withFileLock(lockPath, async () => 'never', { timeoutMs: 50 }).catch((reason: unknown) => reason);
      expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
    });
  });
});

describe('withFileLock: a planted lock cannot hang or bloat the process', () => {
  it('a FIFO planted as the lock does not block: it is not a lock file and is removed', async () => {
    const lockPath = await lockPathIn();
    execFileSync('mkfifo', [lockPath]);
    try {
      expect(await within(3_000, withFileLock(lockPath, async () => 'ran', { timeoutMs: 1_000 }))).toBe('ran');
    } finally {
      try {
        // Frees a reader blocked in open() (the bug), so the test process can end.
        closeSync(openSync(lockPath, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // Removed (fixed) or no reader waiting.
      }
    }
  });

  it('a lock symlinked to /dev/zero is never read through (it cost 1 GB per attempt)', async () => {
    const lockPath = await lockPathIn();
    await symlink('/dev/zero', lockPath);
    const before = process.memoryUsage().rss;
    const result = await within(3_000, withFileLock(lockPath, async () => 'ran', { timeoutMs: 1_000 }).catch((reason: unknown) => reason));
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect(result).toBe('ran');
  });

  it('a directory planted as the lock (cannot be removed) ends the wait at LockTimeout, naming it', async () => {
    const lockPath = await lockPathIn();
    await mkdir(lockPath);
    const started = Date.now();
    const error = await withFileLock(lockPath, async () => 'never', { timeoutMs: 300 }).catch((reason: unknown) => reason);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
    expect((error as SessionError).message).toContain('is a directory, not a lock file');
  });
});
