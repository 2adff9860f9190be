import { SessionError } from '@isosession/core';

/**
 * Session.update's loop: `open` loads a fresh session, `change` (the caller's function) changes
 * it, `commit` flushes it with compare-and-swap. A lost race (CONFLICT from `commit`) is tried
 * again after a random backoff (doubling, at most 64 ms), up to `retries` times; a failure of
 * `change` is not a lost race and ends it at once, with nothing flushed.
 */
export async function retryOnConflict<S>(change: unknown, retries: unknown, open: () => Promise<S>, commit: (session: S) => Promise<void>): Promise<S> {
  if (typeof change !== 'function') {
    throw new SessionError('INVALID_ARGUMENT', 'update(): the 2nd argument must be a function that changes the session');
  }
  if (typeof retries !== 'number' || !(Number.isInteger(retries) || retries === Infinity) || retries < 0) {
    throw new SessionError('INVALID_ARGUMENT', `update(): options.retries must be a whole number >= 0 (or Infinity), got ${typeof retries === 'string' ? JSON.stringify(retries) : String(retries)}`);
  }
  for (let attempt = 0; ; attempt++) {
    const session = await open();
    await (change as (session: S) => unknown)(session);
    try {
      await commit(session);
      return session;
    } catch (error) {
      if (!(error instanceof SessionError) || error.code !== 'CONFLICT' || attempt >= retries) throw error;
      const ceiling = Math.min(2 ** attempt, 64);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}
