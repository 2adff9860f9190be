import { ID, VERSION, copyTable, setKey, versionOf } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import { checkSizeOnFlush } from '../sizeLimits.js';
import type { Merge, RawSession } from '../types.js';
import { applyChanges } from './changeSet.js';
import type { ChangeSet } from './changeSet.js';
import type { Config } from './config.js';
import { isPerl } from './config.js';
import { conflictError, goneError } from './errors.js';
import { dataOf, freezeTable, sameData, storeMeta, thawRecord } from './storedRecord.js';

/** What one flush writes, and onto what it may write it. */
export interface FlushWrite {
  /** The object's table as it stands: the values of the params it changed. */
  table: SessionTable;
  changes: ChangeSet;
  /** Never stored: the store may have nothing yet. Otherwise nothing stored means GONE (S53). */
  isNew: boolean;
  /** The id the session is stored under now, and the one it is written under (after regenerate()). */
  sourceId: string;
  newId: string;
  sourceKey: string;
  newKey: string;
  /** Compare-and-swap (Session.update): CONFLICT unless the stored version is still this one. */
  expectVersion?: number;
  /** The same on the stored data itself (compat: Perl rewrites it without a version). */
  expectData?: RawSession;
}

export interface FlushMerge {
  /** What the driver's `update` runs on the stored copy: at most once per attempt, no side effect. */
  merge: Merge;
  /** The table and data of the merge's last run, or undefined when it never ran. */
  written(): { table: SessionTable; data: RawSession } | undefined;
}

/**
 * The merge of a flush (S47, S54): this object's changes applied onto the latest stored copy,
 * the version bumped, the size checked. Under a regenerate() the old record is removed and
 * the caller stores `written()` under the new id.
 */
export function flushMerge(config: Config, write: FlushWrite): FlushMerge {
  const { table, changes, isNew, sourceId, newId, expectVersion, expectData } = write;
  let last: { table: SessionTable; data: RawSession } | undefined;
  const merge: Merge = (current) => {
    let base: SessionTable;
    if (current === null) {
      // Never resurrect what another request deleted or regenerated. No side effect here: a
      // driver may run merge on a guess (redis: "not stored yet") and retry.
      if (!isNew) throw goneError(sourceId);
      if (expectVersion !== undefined && expectVersion !== 0) throw conflictError(sourceId);
      base = copyTable(table);
    } else {
      if (expectData !== undefined && !sameData(dataOf(current), expectData)) throw conflictError(sourceId);
      base = thawRecord(config.format, current, sourceId, write.sourceKey).table;
      if (expectVersion !== undefined && versionOf(base) !== expectVersion) throw conflictError(sourceId);
      base = applyChanges(base, table, changes, isPerl(config));
    }
    setKey(base, ID, newId);
    setKey(base, VERSION, versionOf(base) + 1);
    const data = freezeTable(config.format, base, write.newKey);
    checkSizeOnFlush({ data, current, table: base, setNames: changes.set, serializer: config.serializer, limits: config.limits });
    last = { table: base, data };
    if (sourceId !== newId) return { action: 'remove' };
    return { action: 'store', data, meta: storeMeta(base, config.maxAge) };
  };
  return { merge, written: () => last };
}
