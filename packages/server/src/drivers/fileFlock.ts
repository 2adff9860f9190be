import { createRequire } from 'node:module';
import { SessionError } from '@isosession/core';

interface FsExt {
  flockSync(fd: number, flags: 'shnb' | 'exnb' | 'un'): void;
}

let fsExt: FsExt | undefined;

/**
 * `fs-ext` (an optional dependency, a native flock(2) binding), loaded only when a file store
 * shared with Perl is used. flock(2) it must be: Perl's flock() is flock(2) on Linux, which
 * does not see fcntl/OFD record locks (what `fs-native-extensions` takes there).
 */
export function loadFlock(): FsExt {
  if (fsExt) return fsExt;
  try {
    fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;
  } catch (error) {
    throw new SessionError('STORE_ERROR', `file driver: Compat 'cgi-session' locks session files with flock(2) like Perl's CGI::Session, which needs the optional dependency fs-ext (npm install fs-ext; it builds with node-gyp): ${(error as Error).message}`, { cause: error });
  }
  return fsExt;
}

/**
 * Takes a flock(2) lock on `fd` (shared for a read, exclusive for a write), as Perl's
 * CGI::Session::Driver::file does on the session file itself. Polled without blocking, so a
 * waiting request never occupies one of libuv's four threads; the lock goes with the handle's
 * close. Gives up after `timeoutMs` with STORE_UNAVAILABLE.
 */
export async function flockFd(fd: number, kind: 'shared' | 'exclusive', timeoutMs: number, path: string): Promise<void> {
  const binding = loadFlock();
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      binding.flockSync(fd, kind === 'shared' ? 'shnb' : 'exnb');
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
        throw new SessionError('STORE_ERROR', `file driver: cannot flock ${path}: ${(error as Error).message}`, { cause: error });
      }
    }
    if (Date.now() > deadline) {
      throw new SessionError('STORE_UNAVAILABLE', `file driver: timed out after ${timeoutMs} ms waiting for the ${kind} flock on ${path} (another process, Perl's CGI::Session or ours, holds it)`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 20);
  }
}
