import { SessionError } from '@isosession/core';
import { ATIME, CTIME, ID, REMOTE_ADDR, getKey, setKey, versionOf } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import { isTombstone, tombstoneExpired } from '../tombstone.js';
import { noChanges } from './changeSet.js';
import { ipMatchOf } from './claim.js';
import { isPerl } from './config.js';
import { idGenerationError, staleError } from './errors.js';
import { expiredParams } from './expiry.js';
import { nowOf, storeKey } from './state.js';
import type { Scope, SessionState } from './state.js';
import { dataOf, thawRecord } from './storedRecord.js';
import { isExpiredRecord, removeIfExpired, removeRecord, retrieveRecord, wasReplacedRecently } from './storeOps.js';

export type LoadMode = 'new' | 'load' | 'find';

/**
 * Loads the claimed session into `state`, applying ip matching and both expiries (S40–S43,
 * S73); with 'new', creates one when none is live. 'skipped': find() passes this key by (a
 * tombstone, or another address's session).
 */
export async function loadState(scope: Scope, state: SessionState, mode: LoadMode, claim: string | undefined): Promise<'ok' | 'skipped'> {
  if (mode === 'find') scope.visitedKey = claim;
  const { config } = scope;
  const now = nowOf(config);
  if (claim !== undefined) {
    const key = storeKey(scope, claim);
    const raw = await retrieveRecord(config, key);
    if (raw !== null) {
      const { table, storedAtime } = thawRecord(config.format, raw, claim, key);
      const storedAddr = getKey(table, REMOTE_ADDR);
      if (isTombstone(table)) {
        // find() walks every key, tombstones included: never a session; purged once over.
        const expired = tombstoneExpired(table, now);
        if (expired) await removeIfExpired(config, key, claim, now);
        if (mode === 'find') return 'skipped';
        if (!expired) throw staleError(claim);
      } else if (ipMatchOf(config) && storedAddr !== undefined && storedAddr !== (scope.remoteAddr ?? '')) {
        // S59: find never deletes for a mismatch, it skips.
        if (mode === 'find') return 'skipped';
        // S73: another address is refused, and the stored copy is deleted.
        await removeRecord(config, key);
      } else if (isExpiredRecord(config, table, storedAtime, now)) {
        await removeIfExpired(config, key, claim, now);
        state.isExpired = true;
      } else {
        adopt(scope, state, table, storedAtime, now);
        // Perl never bumps _SESSION_VERSION: Session.update compares the data itself.
        if (isPerl(config)) state.loadedData = dataOf(raw);
        return 'ok';
      }
    } else if (mode !== 'find' && (await isStale(scope, claim, now))) {
      throw staleError(claim);
    }
  }
  if (mode === 'new') await createState(scope, state, claim, now);
  return 'ok';
}

/**
 * Whether a request's claimed id was regenerated or deleted less than `staleGrace` ago. Only
 * requests are checked (a browser's in-flight write racing a login or logout); a string sid
 * is the caller's own and keeps CGI::Session's "unknown id: new session".
 */
export async function isStale(scope: Scope, id: string, now: number): Promise<boolean> {
  return scope.fromRequest && wasReplacedRecently(scope.config, storeKey(scope, id), now);
}

function adopt(scope: Scope, state: SessionState, table: SessionTable, storedAtime: number, now: number): void {
  setKey(table, ATIME, storedAtime);
  state.table = table;
  state.loadedVersion = versionOf(table);
  // S43: per-param idle expiry, applied before load returns.
  for (const name of expiredParams(table, storedAtime, now)) {
    delete table[name];
    state.changes.cleared.add(name);
  }
  // S57: find() hands over sessions without moving their atime.
  if (scope.visitedKey === undefined) {
    setKey(table, ATIME, now);
    state.changes.atime = true;
  }
}

/** A brand-new session in `state`: a fresh id (the generator may look at the claim), nothing stored. */
export async function createState(scope: Scope, state: SessionState, claim: string | undefined, now: number): Promise<void> {
  const { config } = scope;
  let id: string;
  try {
    id = await config.idGenerator.generateId(config.dsnArgs, claim);
  } catch (error) {
    // S2: a custom generator's plain Error still reaches the caller as a SessionError.
    throw idGenerationError(config.resolved.id, error);
  }
  if (typeof id !== 'string' || id === '') {
    throw new SessionError('ID_GENERATION', `id generator "${config.resolved.id}" returned no id`);
  }
  const table: SessionTable = {};
  setKey(table, ID, id);
  setKey(table, CTIME, now);
  setKey(table, ATIME, now);
  // Perl CGI::Session always stores the address, "" when unknown (its -ip_match compares them).
  if (scope.remoteAddr !== undefined || isPerl(config)) setKey(table, REMOTE_ADDR, scope.remoteAddr ?? '');
  state.table = table;
  state.isNew = true;
  state.isExpired = false;
  state.deleted = false;
  state.loadedVersion = 0;
  state.changes = noChanges();
}
