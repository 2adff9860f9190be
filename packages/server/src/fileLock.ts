import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, open, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { SessionError } from '@isosession/core';

export interface FileLockOptions {
  /** Give up after this many milliseconds. @default 10_000 */
  timeoutMs?: number;
  /**
   * A lock older than this is taken over, whoever it names; a holder keeps its lock fresh
   * while it runs, so only an abandoned lock gets this old. @default 30_000
   */
  staleMs?: number;
}

// A lock file whose creator died before writing its owner into it is empty; a live creator
// fills it within microseconds, so an empty lock this old is stale.
const EMPTY_LOCK_STALE_MS = 5_000;
// Breaking a stale lock takes milliseconds; a breaker file this old was left by a process killed meanwhile.
const BREAKER_STALE_MS = 2_000;
// An owner string is ~60 bytes; reading more than this from a lock file is never needed, so a
// lock that is a huge (or endless) file costs nothing.
const MAX_OWNER_BYTES = 256;
// O_NOFOLLOW: a lock planted as a symlink (to /dev/zero, to a FIFO) is not opened through.
// O_NONBLOCK: opening a FIFO planted as a lock returns at once instead of blocking a libuv
// thread until a writer comes (which LockTimeout could never interrupt).
const OPEN_UNTRUSTED = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

// The owners of the locks this thread holds right now. A lock naming this pid, host and
// thread that is not in here was left by an earlier process that had the same pid (a
// restarted container is pid 1 again, with the same hostname): it is not live. Kept on
// globalThis so two copies of this module in one thread (an ESM and a CJS build) agree.
const HELD_KEY = Symbol.for('isosession.fileLock.held');
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[HELD_KEY] as Set<string> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] = new Set<string>()) as Set<string>;

// The tail of each lock path's queue of waiters in this thread. Waiters of one process take
// turns here, in arrival order, before they touch the lock file: they never poll each other's
// lock files (fairer, and no backoff sleeps between two requests of one process), and a lock
// file naming this thread is only ever met once its holder is gone for good. Kept on
// globalThis for the same reason as `held`. Entries are deleted when their queue empties.
const QUEUES_KEY = Symbol.for('isosession.fileLock.queues');
const queues: Map<string, Promise<void>> = ((globalThis as Record<symbol, unknown>)[QUEUES_KEY] as Map<string, Promise<void>> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[QUEUES_KEY] = new Map<string, Promise<void>>()) as Map<string, Promise<void>>;

// os.hostname() is a system call; a lock's owner names the host at every take and every
// staleness check. A host renamed while the process runs keeps its old name here, which only
// makes its own old locks look foreign (waited out by age, never broken early).
const HOST = hostname();

/**
 * Runs `critical` while holding `lockPath`, a lock file made with O_CREAT|O_EXCL (atomic on
 * every local file system, and across processes). A lock is taken over when it is stale: left
 * by a dead process on this host, left by an earlier process with this one's pid, older than
 * `staleMs` (the holder refreshes it meanwhile), or not a lock file at all (a FIFO, a
 * symlink: O_EXCL only ever creates regular files). Every wait ends after `timeoutMs`.
 */
export async function withFileLock<T>(lockPath: string, critical: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const key = resolve(lockPath);
  const previous = queues.get(key);
  let leave!: () => void;
  const turn = new Promise<void>((done) => (leave = done));
  // Whoever comes next waits for us, and we for `previous`: a waiter that times out still
  // leaves only after `previous`, so the order holds.
  const tail = previous ? previous.then(() => turn) : turn;
  queues.set(key, tail);
  try {
    if (previous) await waitForTurn(previous, deadline, timeoutMs, lockPath);
    return await holdFileLock(lockPath, critical, deadline, timeoutMs, options.staleMs ?? 30_000);
  } finally {
    leave();
    if (queues.get(key) === tail) queues.delete(key);
  }
}

async function waitForTurn(previous: Promise<void>, deadline: number, timeoutMs: number, lockPath: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((done) => {
    timer = setTimeout(() => done('timeout'), Math.max(0, deadline - Date.now()));
  });
  try {
    const outcome = await Promise.race([previous.then(() => 'turn' as const), timedOut]);
    if (outcome === 'timeout') {
      throw new SessionError('STORE_UNAVAILABLE', `timed out after ${timeoutMs} ms waiting for lock ${lockPath} (held by a request of this process)`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The lock file itself: what other processes (and other threads of this one) contend on. */
async function holdFileLock<T>(lockPath: string, critical: () => Promise<T>, deadline: number, timeoutMs: number, staleMs: number): Promise<T> {
  // The random part makes every lock distinct, so a stale one is never confused with its successor.
  const owner = `${process.pid}@${HOST}#t${threadId}.${randomBytes(6).toString('hex')}`;
  let delay = 1;
  let handle: FileHandle;
  let blocker: LockIdentity | undefined;
  for (;;) {
    try {
      handle = await open(lockPath, 'wx', 0o600);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SessionError('STORE_ERROR', `cannot create lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
      }
      blocker = await readLock(lockPath).catch(() => undefined);
      if (blocker && isStale(blocker, staleMs) && (await breakLock(lockPath, blocker))) continue;
      if (Date.now() > deadline) {
        const what = blocker?.notALock ? ` (${lockPath} is ${blocker.notALock}, not a lock file, and could not be removed; remove it)` : '';
        throw new SessionError('STORE_UNAVAILABLE', `timed out after ${timeoutMs} ms waiting for lock ${lockPath}${what}`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 50);
    }
  }
  held.add(owner);
  // Keep the lock's mtime fresh while `critical` runs, so the age limit never breaks a live holder.
  const refresh = setInterval(() => {
    const now = new Date();
    handle.utimes(now, now).catch(() => {});
  }, Math.max(staleMs / 3, 10));
  refresh.unref();
  try {
    await handle.writeFile(owner);
    return await critical();
  } finally {
    clearInterval(refresh);
    // Removed before it stops counting as held: a waiter of this thread that read our owner
    // meanwhile must still see it live, or it would break the lock and take it, and our rm,
    // landing after, would remove its lock and let a third in beside it.
    try {
      // unlink, not rm: rm lstat()s first, one more trip through libuv's thread pool per write.
      await unlink(lockPath).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    } finally {
      held.delete(owner);
      await handle.close();
    }
  }
}

interface LockIdentity {
  owner: string;
  ino: number;
  mtimeMs: number;
  /** Set when the path is not a regular file: what it is instead. */
  notALock?: string;
}

function describe(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isDirectory()) return 'a directory';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}

/** Owner and file identity read through one handle, so they describe the same lock file; undefined if gone. */
async function readLock(lockPath: string): Promise<LockIdentity | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(lockPath, OPEN_UNTRUSTED);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // ELOOP: a symlink (never followed); ENXIO: a socket. Neither is a lock file.
    const info = await lstat(lockPath).catch(() => undefined);
    if (!info) return undefined;
    return { owner: '', ino: info.ino, mtimeMs: info.mtimeMs, notALock: describe(info) ?? 'unreadable' };
  }
  try {
    const info = await handle.stat();
    const notALock = describe(info);
    if (notALock) return { owner: '', ino: info.ino, mtimeMs: info.mtimeMs, notALock };
    const buffer = Buffer.alloc(Math.min(info.size, MAX_OWNER_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return { owner: buffer.toString('utf8', 0, bytesRead), ino: info.ino, mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** Whether a lock can be taken over (see withFileLock). */
function isStale(lock: LockIdentity, staleMs: number): boolean {
  if (lock.notALock) return true;
  const { owner } = lock;
  const [, pid, host, thread] = /^(\d+)@([^#]*)(?:#t(\d+)\.)?/.exec(owner) ?? [];
  if (pid !== undefined && host === HOST) {
    if (Number(pid) === process.pid) {
      if (held.has(owner)) return false;
      // Another worker thread of this process may hold it; it cannot be asked, so the age limit decides.
      if (thread === undefined || Number(thread) === threadId) return true;
    } else if (!isAlive(Number(pid))) {
      return true;
    }
  }
  // A live pid may be an unrelated process that reused the number; a lock from another host
  // cannot be checked at all. An abandoned lock stops being refreshed, so its age tells.
  const age = Date.now() - lock.mtimeMs;
  return age > (owner === '' ? Math.min(staleMs, EMPTY_LOCK_STALE_MS) : staleMs);
}

/**
 * Removes a stale lock, unless it was replaced meanwhile; true if it is gone. Several waiters
 * may find the same stale lock; without the breaker file, one could remove it, another take the
 * lock, and a third, still holding its old verdict, remove that live lock: two holders at once.
 */
async function breakLock(lockPath: string, stale: LockIdentity): Promise<boolean> {
  const breaker = `${lockPath}.break.lock`;
  try {
    await (await open(breaker, 'wx', 0o600)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    // Another waiter is breaking it; retry then, or clear a breaker its maker died holding.
    const info = await lstat(breaker).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > BREAKER_STALE_MS) await rm(breaker, { force: true }).catch(() => {});
    return false;
  }
  try {
    const now = await readLock(lockPath);
    if (!now) return true;
    if (now.owner !== stale.owner || now.ino !== stale.ino || now.mtimeMs !== stale.mtimeMs) return false;
    await rm(lockPath, { force: true });
    return true;
  } catch {
    // Could not be removed (a directory planted as the lock): the wait goes on, bounded by the timeout.
    return false;
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
