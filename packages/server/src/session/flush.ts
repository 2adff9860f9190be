import { SessionError } from '@isosession/core';
import { ID, setKey, versionOf } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import { storeCall } from '../storeCall.js';
import type { RawSession } from '../types.js';
import { applyChanges, changesData, hasChanges, mergeChanges, noChanges } from './changeSet.js';
import type { ChangeSet } from './changeSet.js';
import { isPerl } from './config.js';
import { goneError, idGenerationError, staleError } from './errors.js';
import { flushMerge } from './flushMerge.js';
import { isStale } from './load.js';
import { clearState, handled, nowOf, storeKey } from './state.js';
import type { Scope, SessionState } from './state.js';
import { storeMeta } from './storedRecord.js';
import { leaveTombstoneFor, removeRecord } from './storeOps.js';

export interface FlushOptions {
  /** Compare-and-swap: fail with CONFLICT unless the stored version is still this one. */
  expectVersion?: number;
  /** The same on the stored data itself (compat: Perl rewrites it without a version). */
  expectData?: RawSession;
}

/**
 * One flush of `state` (S47–S54): a deleted session is removed, a changed one merged onto the
 * latest stored copy atomically, one whose access time alone moved touched. Params changed
 * while it runs stay in `state.changes` for the next flush; a failed flush keeps its own too.
 */
export async function flushState(scope: Scope, state: SessionState, options: FlushOptions): Promise<void> {
  const table = state.table;
  if (table === null) return; // S51
  if (state.deleted) {
    // S50: a never-stored session has nothing to remove.
    if (!state.isNew) {
      const id = table[ID] as string;
      await leaveTombstone(scope, state.previousId ?? id);
      await removeRecord(scope.config, storeKey(scope, state.previousId ?? id));
      if (state.previousId !== undefined) await removeRecord(scope.config, storeKey(scope, id));
    }
    clearState(state);
    return;
  }
  const changes = state.changes;
  state.changes = noChanges();
  try {
    await write(scope, state, table, changes, options);
  } catch (error) {
    if (state.table !== null) state.changes = mergeChanges(changes, state.changes);
    throw error;
  }
}

async function write(scope: Scope, state: SessionState, table: SessionTable, changes: ChangeSet, options: FlushOptions): Promise<void> {
  const { config } = scope;
  const { driver } = config;
  const driverName = config.resolved.driver;
  if (!state.isNew && !changesData(changes) && state.previousId === undefined && state.pendingId === undefined) {
    if (!changes.atime) return; // S48
    // Only the access time moved: a touch, where the driver has one. Sharing a store with
    // Perl, which reads atime only from the data, it is written there.
    if (driver.touch && !isPerl(config)) {
      const id = table[ID] as string;
      const found = await storeCall(driverName, 'touch', () => driver.touch!(storeKey(scope, id), storeMeta(table, config.maxAge)));
      if (!found) throw await goneOrStale(scope, state, id);
      return;
    }
  }
  await settleRegeneratedId(scope, state, table);
  const newId = table[ID] as string;
  const sourceId = state.previousId ?? newId;
  const { merge, written } = flushMerge(config, {
    table, changes, isNew: state.isNew, sourceId, newId, sourceKey: storeKey(scope, sourceId), newKey: storeKey(scope, newId), ...options,
  });
  if (sourceId !== newId && !state.isNew) await leaveTombstone(scope, sourceId);
  try {
    await storeCall(driverName, 'flush', () => driver.update(storeKey(scope, sourceId), merge));
  } catch (error) {
    if (error instanceof SessionError && error.code === 'GONE') throw await goneOrStale(scope, state, sourceId);
    throw error;
  }
  const result = written();
  if (!result) return;
  if (sourceId !== newId) {
    // Regenerated: the merged table was removed under the old id; store it under the new one.
    try {
      const meta = storeMeta(result.table, config.maxAge);
      await storeCall(driverName, 'store', () => driver.store(storeKey(scope, newId), result.data, meta));
    } catch (error) {
      // The old id is gone already: keep the merged copy as a session not stored yet, so the
      // next flush stores it under the new id instead of failing GONE and losing it (S53).
      settle(scope, state, result.table);
      state.loadedVersion = 0;
      state.isNew = true;
      throw error;
    }
  }
  settle(scope, state, result.table);
  state.loadedVersion = versionOf(result.table);
  state.isNew = false; // S46
}

/** A regenerate() whose generator is async: its id, awaited before the flush writes. */
async function settleRegeneratedId(scope: Scope, state: SessionState, table: SessionTable): Promise<void> {
  const pending = state.pendingId;
  if (!pending) return;
  const { config } = scope;
  let next: string;
  try {
    next = await pending;
  } catch (error) {
    // Ask the generator again at the next flush, instead of failing on this promise for ever.
    if (state.pendingId === pending) state.pendingId = handled(Promise.resolve().then(() => config.idGenerator.generateId(config.dsnArgs)));
    throw idGenerationError(config.resolved.id, error, { context: 'regenerate(): ', outcome: '; nothing was written, the next flush tries again' });
  }
  setKey(table, ID, next);
  state.pendingId = undefined;
}

/** Adopts what a flush wrote, with the changes made while it ran applied on top (S54). */
function settle(scope: Scope, state: SessionState, written: SessionTable): void {
  const during = state.changes;
  state.table = hasChanges(during) ? applyChanges(written, state.table as SessionTable, during, isPerl(scope.config)) : written;
  state.previousId = undefined;
}

/**
 * Before an id is removed by regenerate() or delete(). Only a request's session leaves a
 * tombstone: its response brings the browser the newer cookie, whereas a job or an admin
 * removing a session by id sends none, and that browser must get a fresh session at once.
 */
async function leaveTombstone(scope: Scope, id: string): Promise<void> {
  if (scope.fromRequest) await leaveTombstoneFor(scope.config, storeKey(scope, id), nowOf(scope.config));
}

/** A flush that found its session gone: STALE when a request's id was replaced just now. */
async function goneOrStale(scope: Scope, state: SessionState, id: string): Promise<SessionError> {
  let stale = false;
  try {
    stale = await isStale(scope, id, nowOf(scope.config));
  } catch {
    // The store failing now says nothing about the session: report what the flush saw.
  }
  clearState(state);
  return stale ? staleError(id) : goneError(id);
}
