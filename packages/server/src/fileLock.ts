import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SessionError } from '@isosession/core';

export interface FileLockOptions {
  /** Give up after this many milliseconds. @default 10_000 */
  timeoutMs?: number;
  /** A lock older than this whose owner cannot be checked is taken over. @default 30_000 */
  staleMs?: number;
}

/**
 * Runs `critical` while holding `lockPath`, a lock file made with O_CREAT|O_EXCL (atomic on
 * every local file system, and across processes). A lock left by a dead process on this host
 * is taken over at once; one from elsewhere once it is older than `staleMs`.
 */
export async function withFileLock<T>(lockPath: string, critical: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}@${hostname()}`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SessionError('STORE_ERROR', `cannot create lock file ${lockPath}: ${(error as Error).message}`, { cause: error });
      }
      if (await isStale(lockPath, staleMs)) {
        await rm(lockPath, { force: true });
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

async function isStale(lockPath: string, staleMs: number): Promise<boolean> {
  try {
    const owner = await readFile(lockPath, 'utf8');
    const [pid, host] = owner.split('@');
    if (host === hostname() && pid && /^\d+$/.test(pid)) return !isAlive(Number(pid));
    const info = await stat(lockPath);
    return Date.now() - info.mtimeMs > staleMs;
  } catch {
    // Gone already (released), or being written this instant: not stale, try again.
    return false;
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
