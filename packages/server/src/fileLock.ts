import { randomBytes } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SessionError } from '@isosession/core';

export interface FileLockOptions {
  /** Give up after this many milliseconds. @default 10_000 */
  timeoutMs?: number;
  /** A lock older than this whose owner cannot be checked is taken over. @default 30_000 */
  staleMs?: number;
}

// A lock file whose creator died before writing its owner into it is empty; a live creator
// fills it within microseconds, so an empty lock this old is stale.
const EMPTY_LOCK_STALE_MS = 5_000;
// Breaking a stale lock takes milliseconds; a breaker file this old was left by a process killed meanwhile.
const BREAKER_STALE_MS = 2_000;

/**
 * Runs `critical` while holding `lockPath`, a lock file made with O_CREAT|O_EXCL (atomic on
 * every local file system, and across processes). A lock left by a dead process on this host
 * is taken over at once; one from elsewhere once it is older than `staleMs`.
 */

export async function withFileLock<T>(lockPath: string, critical: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  // The random part makes every lock distinct, so a stale one is never confused with its successor.
  const owner = `${process.pid}@${hostname()}#${randomBytes(6).toString('hex')}`;
  let delay = 1;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(owner);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SessionError('STORE_ERROR', `cannot create lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
      }
      const stale = await staleLock(lockPath, staleMs);
      if (stale) {
        await breakLock(lockPath, stale);
        continue;
      }
      if (Date.now() > deadline) {
        throw new SessionError('STORE_UNAVAILABLE', `timed out after ${timeoutMs} ms waiting for lock ${lockPath}`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 50);
    }
  }
  try {
    return await critical();
  } finally {
    await rm(lockPath, { force: true });
  }
}

interface LockIdentity {
  owner: string;
  ino: number;
  mtimeMs: number;
}

/** Owner and file identity read through one handle, so they describe the same lock file. */
async function readLock(lockPath: string): Promise<LockIdentity> {
  const handle = await open(lockPath, 'r');
  try {
    const info = await handle.stat();
    return { owner: await handle.readFile('utf8'), ino: info.ino, mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** The lock's identity if it is stale (owner dead, or too old to trust), else undefined. */
async function staleLock(lockPath: string, staleMs: number): Promise<LockIdentity | undefined> {
  try {
    const identity = await readLock(lockPath);
    const { owner } = identity;
    const [, pid, host] = /^(\d+)@([^#]*)/.exec(owner) ?? [];
    if (pid !== undefined && host === hostname()) return isAlive(Number(pid)) ? undefined : identity;
    const age = Date.now() - identity.mtimeMs;
    return age > (owner === '' ? Math.min(staleMs, EMPTY_LOCK_STALE_MS) : staleMs) ? identity : undefined;
  } catch {
    // Gone already (released), or being written this instant: not stale, try again.
    return undefined;
  }
}

/**
 * Removes a stale lock, unless it was replaced meanwhile. Several waiters may find the same
 * stale lock; without the breaker file, one could remove it, another take the lock, and a
 * third, still holding its old verdict, remove that live lock: two holders at once.
 */
async function breakLock(lockPath: string, stale: LockIdentity): Promise<void> {
  const breaker = `${lockPath}.break.lock`;
  try {
    await (await open(breaker, 'wx', 0o600)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another waiter is breaking it; retry then, or clear a breaker its maker died holding.
    const info = await stat(breaker).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > BREAKER_STALE_MS) await rm(breaker, { force: true });
    return;
  }
  try {
    const now = await readLock(lockPath);
    if (now.owner === stale.owner && now.ino === stale.ino && now.mtimeMs === stale.mtimeMs) await rm(lockPath, { force: true });
  } catch {
    // Released meanwhile: nothing to break.
  } finally {
    await rm(breaker, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
