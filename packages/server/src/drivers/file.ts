import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { Dir, Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, lutimes, mkdir, open, opendir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionError } from '@isosession/core';
import { withFileLock } from '../fileLock.js';
import { flockFd, loadFlock } from './fileFlock.js';
import { createRecentCopies } from './recentCopies.js';
import type { Driver, DsnArgs, Merge, RawSession, StoreMeta, StoredRecord } from '../types.js';

const PREFIX = 'cgisess_';
const TEMP_SUFFIX = '.tmp';
const LOCK_SUFFIX = '.lock';
// Lock and temp files never start with "cgisess_": Perl CGI::Session's find() takes every
// name matching ^cgisess_(.+)$ for a session, and one it cannot load stops its walk.
const LOCK_PREFIX = 'isosession-lock_';
const TEMP_PREFIX = 'isosession-tmp_';

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

function parseMode(value: unknown, shared: boolean): number {
  if (value === undefined) return 0o600;
  const mode = typeof value === 'string' ? Number.parseInt(value, 8) : value;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new SessionError('INVALID_ARGUMENT', `file driver: UMask must be a file mode such as 0o600 or "0600", got ${String(value)}`);
  }
  // Files another user can write are never adopted (see isTrustedFile), so this driver would
  // refuse to read back what it wrote.
  if (mode & 0o022 && !shared) {
    throw new SessionError('INVALID_ARGUMENT', `file driver: UMask 0o${mode.toString(8)} lets group or others write session files, and such files are never read back (anyone with that write access could plant a session); use 0o600 or 0o640, or pass SharedDirectory: true if the directory is shared on purpose`);
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

/** 1 MiB: four times the default session size limit (256 kB), far below what hurts a process. */
const DEFAULT_MAX_FILE_SIZE = 1024 * 1024;

function parseMaxFileSize(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_FILE_SIZE;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new SessionError('INVALID_ARGUMENT', `file driver: MaxFileSize must be a number of bytes >= 1, got ${String(value)}`);
  }
  return value;
}

function parseCompat(value: unknown): boolean {
  if (value === undefined) return false;
  if (value !== 'cgi-session') {
    throw new SessionError('INVALID_ARGUMENT', `file driver: Compat must be 'cgi-session' (share the directory with Perl CGI::Session) or left out, got ${String(value)}`);
  }
  return true;
}

/**
 * The default directory: `<os tmpdir>/isosession-<uid>`, created 0700 and checked like any
 * other (owned by this user, no group/other write, and here not a symlink). Chosen over
 * `~/.local/state`: it is on the same file system with the same lifetime as the old default
 * (os tmpdir), it works where HOME is unset or read-only (containers, serverless, system
 * users), and it depends on nothing but TMPDIR, so the CLI run from a shell finds the same
 * directory as the app. If another local user squats the name first, every use fails with a
 * SessionError that says so, instead of sessions landing in their directory (the pattern of
 * tmux's /tmp/tmux-<uid>).
 */
export function defaultFileDirectory(): string {
  const uid = process.getuid?.();
  return join(tmpdir(), uid === undefined ? 'isosession' : `isosession-${uid}`);
}

/**
 * Why `directory` must not hold sessions, or undefined if it may. A directory another user
 * can write lets them plant `cgisess_<id>` with `user: 'admin'` in it, and list live ids.
 */
function directoryProblem(info: Stats, shared: boolean): string | undefined {
  if (info.isSymbolicLink()) return 'is a symbolic link (the default directory must be a real one; a local user could point it anywhere)';
  if (!info.isDirectory()) return 'is not a directory';
  const uid = process.getuid?.();
  // Windows has no POSIX owner or mode bits; its per-user temp directory is private already.
  if (shared || uid === undefined) return undefined;
  if (info.uid !== uid) return `is owned by uid ${info.uid}, not by this process's user (uid ${uid})`;
  if (info.mode & 0o022) return `is writable by ${info.mode & 0o020 ? 'its group' : 'others'} (mode 0o${(info.mode & 0o777).toString(8)})`;
  return undefined;
}

/** A session file is adopted only if this user wrote it: owned by them, writable by no one else. */
function isTrustedFile(info: Stats, shared: boolean): boolean {
  const uid = process.getuid?.();
  return shared || uid === undefined || (info.uid === uid && (info.mode & 0o022) === 0);
}

/**
 * `file` (the default): one file `cgisess_<id>` per session in `Directory` (default
 * `defaultFileDirectory()`, a private directory). Writes are atomic (temp file, fsync,
 * rename), so a crash leaves the old or the new copy, never a torn one; updates hold a lock
 * file unless `NoFlock`. The file's mtime is the session's atime, so a touch is a utimes, not
 * a rewrite. Symlinks, FIFOs and files another user could have written are never read.
 * `LockTimeout` (ms, default 10 000): how long an update waits for another's lock before
 * failing with STORE_UNAVAILABLE. `MaxFileSize` (bytes, default 1 MiB): a bigger session file
 * is refused (TOO_LARGE) before anything is allocated for it. `SharedDirectory` (default
 * false): the directory is deliberately shared with another user, so its owner, its mode and
 * the owner of each file are not checked. `Compat: 'cgi-session'` (set by
 * `sessionParams.compat`): the directory is shared with Perl CGI::Session, so session files are
 * written in place under flock(2) on the file itself, shared for reads and exclusive for writes,
 * as Perl does (needs the optional dependency fs-ext); no lock or temp files.
 */
export function createFileDriver(args: DsnArgs = {}): Driver {
  const given = typeof args.Directory === 'string' && args.Directory !== '';
  const directory = given ? (args.Directory as string) : defaultFileDirectory();
  const shared = args.SharedDirectory === true;
  if (args.SharedDirectory !== undefined && typeof args.SharedDirectory !== 'boolean') {
    throw new SessionError('INVALID_ARGUMENT', `file driver: SharedDirectory must be true or false, got ${String(args.SharedDirectory)}`);
  }
  const mode = parseMode(args.UMask, shared);
  const lock = !args.NoFlock;
  const lockTimeoutMs = parseLockTimeout(args.LockTimeout);
  const maxFileSize = parseMaxFileSize(args.MaxFileSize);
  const inPlace = parseCompat(args.Compat);
  // Broken configuration fails here, not at the first request.
  if (inPlace) loadFlock();
  let ready: Promise<unknown> | undefined;
  let checked: Promise<void> | undefined;
  // What this process last wrote to each file, with the file's identity just after the write.
  // A read whose lstat still shows that identity returns the copy: one metadata call in place
  // of open, fstat, read, close (a request loads, then its flush reads again under the lock).
  // Any other writer makes a new inode (rename) and a touch changes ctime, so a stale copy is
  // never returned. Compat mode writes in place beside Perl and keeps no copies.
  const written = createRecentCopies<WrittenCopy>();

  const pathOf = (id: string) => join(directory, PREFIX + id);

  /** Checks the directory once per driver; rejects (and checks again next time) if it is unsafe. */
  const checkDirectory = () => (checked ??= (given ? stat(directory) : lstat(directory)).then((info) => {
    const problem = directoryProblem(info, shared);
    if (problem) {
      throw new SessionError('STORE_ERROR', `file driver: refusing session directory ${directory}: it ${problem}. Another user could read live ids there or plant sessions. Use a directory this user owns with mode 0700${given ? '' : ' (pass Directory)'}, or pass SharedDirectory: true if it is shared on purpose`);
    }
  }).catch((error: unknown) => {
    checked = undefined;
    throw error;
  }));
  const ensureDirectory = () => (ready ??= mkdir(directory, { recursive: true, mode: 0o700 }).then(checkDirectory).catch((error) => {
    ready = undefined;
    throw error;
  }));

  async function read(id: string): Promise<StoredRecord | null> {
    if (!isSafeId(id)) return null;
    try {
      await checkDirectory();
    } catch (error) {
      // No directory yet: no sessions yet. Reading never creates it.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    if (!inPlace) {
      const copy = written.get(id);
      if (copy) {
        const now = await lstat(pathOf(id)).catch(() => undefined);
        if (now && sameFile(now, copy.stamp)) {
          const { data } = copy.record;
          // A copy of the copy: what a caller does with the Buffer it gets must not reach the cache.
          return { data: typeof data === 'string' ? data : Buffer.from(data), atime: Math.floor(now.mtimeMs / 1000) };
        }
        written.forget(id);
      }
    }
    const handle = await openSession(id, constants.O_RDONLY);
    if (!handle) return null;
    try {
      // Perl rewrites the file in place under an exclusive flock: read under a shared one.
      if (inPlace) await flockFd(handle.fd, 'shared', lockTimeoutMs, pathOf(id));
      return await readOpen(handle, id);
    } finally {
      await handle.close();
    }
  }

  /** Opens cgisess_<id> without following a symlink; null when it is not there. */
  async function openSession(id: string, flags: number): Promise<FileHandle | null> {
    try {
      // O_NOFOLLOW: a symlink planted as cgisess_<id> reads as missing (S76). O_NONBLOCK: a FIFO
      // planted there would block open() (and a libuv thread) until a writer came; now it opens
      // at once and fstat in readOpen refuses it. No effect on a regular file.
      return await open(pathOf(id), flags | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENXIO') return null;
      throw error;
    }
  }

  async function readOpen(handle: FileHandle, id: string): Promise<StoredRecord | null> {
    const info = await handle.stat();
    if (!info.isFile()) return null;
    if (!isTrustedFile(info, shared)) {
      warnUntrusted(directory);
      return null;
    }
    // Checked before allocating: a sparse file claims any size at no cost to its planter.
    if (info.size > maxFileSize) {
      throw new SessionError('TOO_LARGE', `file driver: ${pathOf(id)} is ${info.size} bytes, over MaxFileSize (${maxFileSize}); not read. Raise MaxFileSize if sessions are really this large`);
    }
    // Read the size fstat gave, in place of readFile() (which fstats again: one more trip
    // through libuv's 4-thread pool, where it waits behind other requests' fsyncs). The size
    // cannot change under us: files are replaced by rename, or (Compat) written under our flock.
    const data = Buffer.allocUnsafeSlow(info.size);
    let filled = 0;
    while (filled < data.length) {
      const { bytesRead } = await handle.read(data, filled, data.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { data: filled === data.length ? data : data.subarray(0, filled), atime: Math.floor(info.mtimeMs / 1000) };
  }

  function checkSize(id: string, data: RawSession): void {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (size > maxFileSize) {
      throw new SessionError('TOO_LARGE', `file driver: session ${id} is ${size} bytes once serialized, over MaxFileSize (${maxFileSize}); nothing was stored`);
    }
  }

  /** Perl's way: truncate and rewrite the file itself, under the exclusive flock the caller holds. */
  async function rewriteOpen(handle: FileHandle, data: RawSession, meta: StoreMeta): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await handle.truncate(0);
    let written = 0;
    while (written < bytes.byteLength) {
      written += (await handle.write(bytes, written, bytes.byteLength - written, written)).bytesWritten;
    }
    await handle.sync();
    await handle.utimes(meta.atime, meta.atime);
  }

  /**
   * Compat: runs `critical` on cgisess_<id> opened for writing and flocked exclusively; `null`
   * when the file is not there. A file removed or replaced while we waited for its lock is opened
   * again, so the lock held is always the one on the file that is in the directory.
   */
  async function withLockedFile<T>(id: string, critical: (handle: FileHandle | null) => Promise<T>): Promise<T> {
    await ensureDirectory();
    for (;;) {
      const handle = await openSession(id, constants.O_RDWR);
      if (!handle) return critical(null);
      try {
        await flockFd(handle.fd, 'exclusive', lockTimeoutMs, pathOf(id));
        const [held, linked] = await Promise.all([handle.stat(), lstat(pathOf(id)).catch(() => undefined)]);
        if (linked === undefined || linked.ino !== held.ino || linked.dev !== held.dev) continue;
        if (!held.isFile() || !isTrustedFile(held, shared)) {
          throw new SessionError('STORE_ERROR', `file driver: ${pathOf(id)} is not a session file this user may write (a planted file?); nothing was written`);
        }
        return await critical(handle);
      } finally {
        await handle.close();
      }
    }
  }

  /** Compat: creates cgisess_<id> with the data (false: another process created it first). */
  async function createInPlace(id: string, data: RawSession, meta: StoreMeta): Promise<boolean> {
    let handle: FileHandle;
    try {
      handle = await open(pathOf(id), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await flockFd(handle.fd, 'exclusive', lockTimeoutMs, pathOf(id));
      await rewriteOpen(handle, data, meta);
    } finally {
      await handle.close();
    }
    return true;
  }

  async function storeInPlace(id: string, data: RawSession, meta: StoreMeta): Promise<void> {
    for (;;) {
      const done = await withLockedFile(id, async (handle) => {
        if (!handle) return createInPlace(id, data, meta);
        await rewriteOpen(handle, data, meta);
        return true;
      });
      if (done) return;
    }
  }

  async function updateInPlace(id: string, merge: Merge): Promise<void> {
    for (;;) {
      const done = await withLockedFile(id, async (handle) => {
        const result = merge(handle ? await readOpen(handle, id) : null);
        if (result.action === 'store') {
          checkSize(id, result.data);
          if (!handle) return createInPlace(id, result.data, result.meta);
          await rewriteOpen(handle, result.data, result.meta);
        } else if (result.action === 'remove' && handle) {
          await rm(pathOf(id), { force: true });
        }
        return true;
      });
      if (done) return;
    }
  }

  async function write(id: string, data: RawSession, meta: StoreMeta): Promise<void> {
    if (!isSafeId(id)) throw refuse(id);
    checkSize(id, data);
    if (inPlace) return storeInPlace(id, data, meta);
    await ensureDirectory();
    const target = pathOf(id);
    const temp = join(directory, `${TEMP_PREFIX}${id}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
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
      written.forget(id);
      await rm(temp, { force: true });
      throw error;
    }
    // Its identity after the rename (which changes ctime); a copy is kept only for Buffers we
    // own or strings, never for a caller's Buffer that it could change afterwards.
    const stamp = await lstat(target).catch(() => undefined);
    if (stamp) written.set(id, { record: { data: typeof data === 'string' ? data : Buffer.from(data) }, stamp });
    else written.forget(id);
  }

  async function removeFile(id: string): Promise<void> {
    if (!isSafeId(id)) throw refuse(id);
    written.forget(id);
    await rm(pathOf(id), { force: true });
  }

  const withLock = <T>(id: string, critical: () => Promise<T>): Promise<T> =>
    lock ? ensureDirectory().then(() => withFileLock(join(directory, LOCK_PREFIX + id + LOCK_SUFFIX), critical, { timeoutMs: lockTimeoutMs })) : critical();

  return {
    retrieve: read,
    store: write,
    remove: removeFile,
    async traverse(visit) {
      // opendir, not readdir: entries stream in small buffers, so a directory of a million
      // sessions is walked without a million names in memory.
      let entries: Dir;
      try {
        await checkDirectory();
        entries = await opendir(directory, { bufferSize: 256 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for await (const entry of entries) {
        const name = entry.name;
        // cgisess_<id>.<hex>.tmp: the name temp files had before they stopped starting with cgisess_.
        if ((name.startsWith(TEMP_PREFIX) || name.startsWith(PREFIX)) && name.endsWith(TEMP_SUFFIX)) {
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
      if (inPlace) return updateInPlace(id, merge);
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

/** A copy of what this process wrote, and the file's identity right after. */
interface WrittenCopy {
  record: { data: RawSession };
  stamp: Stats;
}

/** Still the very file we wrote: same inode, size, mtime and ctime (ctime moves on any change). */
function sameFile(now: Stats, then: Stats): boolean {
  return now.isFile() && now.ino === then.ino && now.dev === then.dev && now.size === then.size && now.mtimeMs === then.mtimeMs && now.ctimeMs === then.ctimeMs;
}

const warned = new Set<string>();

/** Once per directory: a planted file is worth knowing about, but not once per request. */
function warnUntrusted(directory: string): void {
  if (warned.has(directory)) return;
  warned.add(directory);
  process.emitWarning(`isosession: file driver: ignored a session file in ${directory} that this process's user does not own or that others can write (a planted session?); pass SharedDirectory: true if another user writes sessions there on purpose`, { code: 'ISOSESSION_UNTRUSTED_FILE' });
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
