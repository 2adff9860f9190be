import type { SessionSnapshot } from '@isosession/core';

/** "Session `id` changed": what the router publishes after every stored change. */
export interface SessionChange {
  /** The session that changed. */
  id: string;
  /** Its stored version after the change (0 when `deleted`). */
  version: number;
  /** The session was deleted (destroy, or another request removed it). */
  deleted?: boolean;
  /**
   * The public snapshot after the change, when the publisher has it. A bus that crosses
   * processes may drop it; `watch` then loads the session itself.
   */
  snapshot?: SessionSnapshot;
}

/**
 * Carries session changes to `watch` subscriptions. The in-memory bus reaches subscribers in
 * this process; a Redis pub/sub or PostgreSQL LISTEN/NOTIFY bus implements the same two
 * methods to reach every process.
 */
export interface SessionBus {
  publish(change: SessionChange): void | Promise<void>;
  /** Calls `listener` for each change of session `id` until the returned function is called. */
  subscribe(id: string, listener: (change: SessionChange) => void): () => void;
}

/** A bus within one process. One per router by default; share one to publish from elsewhere. */
export function createMemorySessionBus(): SessionBus {
  const listeners = new Map<string, Set<(change: SessionChange) => void>>();
  return {
    publish(change) {
      const set = listeners.get(change.id);
      if (!set) return;
      for (const listener of [...set]) listener(change);
    },
    subscribe(id, listener) {
      let set = listeners.get(id);
      if (!set) listeners.set(id, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(id) === set) listeners.delete(id);
      };
    },
  };
}

/**
 * The changes of one session as an async iterable that ends when `signal` aborts. Subscribes
 * at once, so nothing published between this call and the first `next()` is lost.
 */
export function sessionChanges(bus: SessionBus, id: string, signal: AbortSignal | undefined): AsyncIterableIterator<SessionChange> {
  const queue: SessionChange[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const unsubscribe = bus.subscribe(id, (change) => {
    queue.push(change);
    wake?.();
  });
  const finish = () => {
    if (done) return;
    done = true;
    unsubscribe();
    signal?.removeEventListener('abort', finish);
    wake?.();
  };
  if (signal?.aborted) finish();
  else signal?.addEventListener('abort', finish);

  const iterator: AsyncIterableIterator<SessionChange> = {
    async next() {
      while (queue.length === 0 && !done) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      const change = queue.shift();
      return change === undefined ? { done: true, value: undefined } : { done: false, value: change };
    },
    async return() {
      finish();
      queue.length = 0;
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Publishes a change without ever failing the request that made it: a bus that throws or
 * rejects becomes one `ISOSESSION_BUS` process warning. What the router and `getSession` both
 * announce through after a stored change; server code that changes a session elsewhere can use
 * it the same way.
 */
export function publishSessionChange(bus: SessionBus | undefined, change: SessionChange): void {
  if (!bus) return;
  try {
    void Promise.resolve(bus.publish(change)).catch(warnPublishFailed);
  } catch (error) {
    warnPublishFailed(error);
  }
}

function warnPublishFailed(error: unknown): void {
  process.emitWarning(`isosession: publishing a session change failed: ${error instanceof Error ? error.message : String(error)}`, {
    code: 'ISOSESSION_BUS',
  });
}
