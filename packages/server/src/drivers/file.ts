import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, lutimes, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionError } from '@isosession/core';
import { withFileLock } from '../fileLock.js';
import type { Driver, DsnArgs, Merge, RawSession, StoreMeta, StoredRecord } from '../types.js';

const PREFIX = 'cgisess_';
const TEMP_SUFFIX = '.tmp';
const LOCK_SUFFIX = '.lock';

/** S75: an id that could name a path outside the directory is never used as a file name. */
function isSafeId(id: string): boolean {
  return (
    typeof id === 'string' &&
    id !== '' &&
    id.length <= 200 &&
    !id.includes('/') &&
    !id.includes('\\') &&
    !id.includes('..') &&
    !id.includes('\0')
  );
}

function refuse(id: string): SessionError {
  const why = typeof id !== 'string' || id === '' ? 'it is empty' : id.length > 200 ? `it is ${id.length} characters long; at most 200 fit in a file name` : 'it contains "/", "\\", ".." or NUL';
  return new SessionError('INVALID_ID', `file driver: refusing session id ${JSON.stringify(id)} (${why})`);
}

function parseMode(value: unknown): number {
  if (value === undefined) return 0o600;
  const mode = typeof value === 'string' ? Number.parseInt(value, 8) : value;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new SessionError('INVALID_ARGUMENT', `file driver: UMask must be a file mode such as 0o600 or "0600", got ${String(value)}`);
  }
  return mode;
}

function parseLockTimeout(value: unknown): number {
  if (value === undefined) return 10_000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new SessionError('INVALID_ARGUMENT', `file driver: LockTimeout must be milliseconds (a number >= 0), got ${String(value)}`);
  }
  return value;
}

/**
 * `file` (the default): one file `cgisess_<id>` per session in `Directory` (os tmpdir by
 * default). Writes are atomic (temp file, fsync, rename), so a crash leaves the old or the new
 * copy, never a torn one; updates hold a lock file unless `NoFlock`. The file's mtime is the
 * session's atime, so a touch is a utimes, not a rewrite. Symlinks are never followed.
 * `LockTimeout` (ms, default 10 000): how long an update waits for another's lock before
 * failing with STORE_UNAVAILABLE.
 */
export function createFileDriver(args: DsnArgs = {}): Driver {
  const directory = typeof args.Directory === 'string' && args.Directory !== '' ? args.Directory : tmpdir();
  const mode = parseMode(args.UMask);
  const lock = !args.NoFlock;
  const lockTimeoutMs = parseLockTimeout(args.LockTimeout);
  let ready: Promise<unknown> | undefined;

  const pathOf = (id: string) => join(directory, PREFIX + id);
  const ensureDirectory = () => (ready ??= mkdir(directory, { recursive: true, mode: 0o700 }).catch((error) => {
    ready = undefined;
    throw error;
  }));

  async function read(id: string): Promise<StoredRecord | null> {
    if (!isSafeId(id)) return null;
    let handle;
    try {
      // O_NOFOLLOW: a symlink planted as cgisess_<id> reads as missing (S76). O_NONBLOCK: a FIFO
      // planted there would block open() (and a libuv thread) until a writer came; now it opens
      // at once and fstat below refuses it. No effect on a regular file.
      handle = await open(pathOf(id), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return null;
      throw error;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) return null;
      // Read the size fstat gave, in place of readFile() (which fstats again: one more trip
      // through libuv's 4-thread pool, where it waits behind other requests' fsyncs). A session
      // file is never written in place (temp file + rename), so its size cannot change under us.
      const data = Buffer.allocUnsafeSlow(info.size);
      let filled = 0;
      while (filled < data.length) {
        const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return { data: filled === data.length ? data : data.subarray(0, filled), atime: Math.floor(info.mtimeMs / 1000) };
    } finally {
      await handle.close();
    }
  }

  async function write(id: string, data: RawSession, meta: StoreMeta): Promise<void> {
    if (!isSafeId(id)) throw refuse(id);
    await ensureDirectory();
    const target = pathOf(id);
    const temp = `${target}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    try {
      const handle = await open(temp, 'wx', mode);
      try {
        await handle.writeFile(data);
        await handle.sync();
        await handle.utimes(meta.atime, meta.atime);
      } finally {
        await handle.close();
      }
      // rename replaces the directory entry itself: a symlink at `target` is replaced, not followed.
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async function removeFile(id: string): Promise<void> {
    if (!isSafeId(id)) throw refuse(id);
    await rm(pathOf(id), { force: true });
  }

  const withLock = <T>(id: string, critical: () => Promise<T>): Promise<T> =>
    lock ? ensureDirectory().then(() => withFileLock(pathOf(id) + LOCK_SUFFIX, critical, { timeoutMs: lockTimeoutMs })) : critical();

  return {
    retrieve: read,
    store: write,
    remove: removeFile,
    async traverse(visit) {
      let names: string[];
      try {
        names = await readdir(directory);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const name of names) {
        if (name.startsWith(PREFIX) && name.endsWith(TEMP_SUFFIX)) {
          await removeAbandonedTemp(join(directory, name));
          continue;
        }
        if (!name.startsWith(PREFIX) || name.endsWith(LOCK_SUFFIX)) continue;
        const id = name.slice(PREFIX.length);
        if (isSafeId(id)) await visit(id);
      }
    },
    async update(id: string, merge: Merge) {
      if (!isSafeId(id)) throw refuse(id);
      await withLock(id, async () => {
        const result = merge(await read(id));
        if (result.action === 'store') await write(id, result.data, result.meta);
        else if (result.action === 'remove') await removeFile(id);
      });
    },
    async touch(id, meta) {
      if (!isSafeId(id)) throw refuse(id);
      try {
        // lutimes: sets the link's own times if someone planted one; never follows it.
        await lutimes(pathOf(id), meta.atime, meta.atime);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
  };
}

// A writer killed between creating its temp file and renaming it leaves the temp file behind.
// No live write takes anywhere near this long, so an older one is garbage; find() (housekeeping)
// sweeps them. ctime, not mtime: a write sets the temp file's mtime to the session's atime.
const ABANDONED_TEMP_MS = 60 * 60 * 1000;

async function removeAbandonedTemp(path: string): Promise<void> {
  try {
    const info = await lstat(path);
    if (Date.now() - info.ctimeMs > ABANDONED_TEMP_MS) await rm(path, { force: true });
  } catch {
    // Renamed or removed meanwhile: nothing to sweep.
  }
}
