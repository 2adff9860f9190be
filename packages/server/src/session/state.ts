import type { SessionTable } from '../sessionTable.js';
import type { RawSession } from '../types.js';
import { hashId } from '../hashId.js';
import { noChanges } from './changeSet.js';
import type { ChangeSet } from './changeSet.js';
import type { Config } from './config.js';

/**
 * What one Session object holds between its load and its flushes: the table and what changed
 * in it, and what the store held when it was read. The Session class reads and changes it
 * through its API; loading (load.ts) and flushing (flush.ts) are functions over it.
 */
export interface SessionState {
  /** null: empty (nothing loaded, expired, or deleted and flushed). */
  table: SessionTable | null;
  isNew: boolean;
  isExpired: boolean;
  /** delete() was called: the next flush removes the session. */
  deleted: boolean;
  changes: ChangeSet;
  /** The stored version this object last read or wrote (0: never stored). */
  loadedVersion: number;
  /** compat: the stored data as loaded, for Session.update's compare-and-swap. */
  loadedData: RawSession | undefined;
  /** The id this session was stored under before `regenerate()`; removed at flush. */
  previousId: string | undefined;
  /** A regenerate() whose id generator is async: the id, awaited at the next flush. */
  pendingId: Promise<string> | undefined;
}

export function emptyState(): SessionState {
  return { table: null, isNew: false, isExpired: false, deleted: false, changes: noChanges(), loadedVersion: 0, loadedData: undefined, previousId: undefined, pendingId: undefined };
}

/** After a delete was flushed, or a flush found the session gone: nothing is held. */
export function clearState(state: SessionState): void {
  state.table = null;
  state.deleted = false;
  state.isNew = false;
  state.previousId = undefined;
  state.pendingId = undefined;
  state.changes = noChanges();
}

/** Where a Session object stands towards its store: fixed when it is made, but for find()'s key. */
export interface Scope {
  config: Config;
  /** Made from a request (not a sid): only these see and leave tombstones. */
  fromRequest: boolean;
  /** The client's address (ipMatch, and stored with a new session). */
  remoteAddr: string | undefined;
  /**
   * find(): the stored key this session was visited under, used as it is (hashIds); set only
   * for a session find() hands over, whose atime stays where it was (S57).
   */
  visitedKey: string | undefined;
}

/**
 * The key the driver stores `id` under: the id, or with `hashIds` its SHA-256 (a key that
 * find() visited is already one, and is used as it is).
 */
export function storeKey(scope: Scope, id: string): string {
  return scope.config.sessionParams.hashIds && id !== scope.visitedKey ? hashId(id) : id;
}

/** The current second, from `sessionParams.now` when a clock is given. */
export function nowOf(config: Config): number {
  const now = config.sessionParams.now;
  return Math.floor((now ? now() : Date.now()) / 1000);
}

/**
 * A promise a flush awaits later: marked handled now, so that a failure before the flush is not
 * an unhandled rejection (which ends a Node process); the flush still sees the failure.
 */
export function handled<T>(promise: T | Promise<T>): Promise<T> {
  const settled = Promise.resolve(promise);
  settled.catch(() => undefined);
  return settled;
}
