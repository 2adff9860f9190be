import { describe, expect, it } from 'vitest';
import '../builtins.js';
import { ATIME, CTIME, ID, VERSION } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';
import type { MergeResult, StoredRecord } from '../types.js';
import { noChanges } from './changeSet.js';
import { resolveConfig } from './config.js';
import { flushMerge } from './flushMerge.js';
import type { FlushWrite } from './flushMerge.js';
import { freezeTable } from './storedRecord.js';

const config = await resolveConfig('driver:memory;serializer:json', {}, {});
const stored = (extra: SessionTable = {}): StoredRecord => freezeTable(config.format, { [ID]: 'abc', [CTIME]: 1, [ATIME]: 5, [VERSION]: 3, theirs: 'kept', ...extra }, 'abc');

function write(over: Partial<FlushWrite> = {}): FlushWrite {
  const changes = noChanges();
  changes.set.add('mine');
  return { table: { [ID]: 'abc', [CTIME]: 1, [ATIME]: 9, mine: 1 }, changes, isNew: false, sourceId: 'abc', newId: 'abc', sourceKey: 'abc', newKey: 'abc', ...over };
}

const dataStored = (result: MergeResult) => (result.action === 'store' ? JSON.parse(String(result.data)) : undefined);

describe("a flush's merge onto the latest stored copy", () => {
  it('S54: writes only what this object changed onto what another request stored, bumping the version', () => {
    const { merge, written } = flushMerge(config, write());
    const result = merge(stored());
    expect(dataStored(result)).toMatchObject({ theirs: 'kept', mine: 1, [VERSION]: 4, [ATIME]: 9 });
    expect(written()?.table).toMatchObject({ theirs: 'kept', mine: 1 });
  });

  it('S53: never resurrects a stored session that is gone, but stores a new one', () => {
    expect(() => flushMerge(config, write()).merge(null)).toThrow(expect.objectContaining({ code: 'GONE' }));
    expect(dataStored(flushMerge(config, write({ isNew: true })).merge(null))).toMatchObject({ mine: 1, [VERSION]: 1 });
  });

  it("Session.update's compare-and-swap: CONFLICT when the version or (compat) the data moved", () => {
    expect(() => flushMerge(config, write({ expectVersion: 2 })).merge(stored())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(dataStored(flushMerge(config, write({ expectVersion: 3 })).merge(stored()))).toMatchObject({ [VERSION]: 4 });
    expect(() => flushMerge(config, write({ expectData: String(stored({ theirs: 'old' })) })).merge(stored())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  it('after regenerate(): removes the old record and leaves the merged copy, under the new id, to store', () => {
    const { merge, written } = flushMerge(config, write({ newId: 'def', newKey: 'def' }));
    expect(merge(stored())).toEqual({ action: 'remove' });
    expect(written()?.table[ID]).toBe('def');
    expect(JSON.parse(String(written()?.data))[ID]).toBe('def');
  });

  it('runs again from scratch when a driver retries it: the last run is what was written', () => {
    const { merge, written } = flushMerge(config, write());
    merge(stored());
    merge(stored({ theirs: 'newer', [VERSION]: 7 }));
    expect(written()?.table).toMatchObject({ theirs: 'newer', [VERSION]: 8 });
  });
});
