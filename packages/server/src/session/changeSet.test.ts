import { describe, expect, it } from 'vitest';
import type { SessionTable } from '../sessionTable.js';
import { applyChanges, hasChanges, mergeChanges, noChanges } from './changeSet.js';

const stored = (extra: SessionTable = {}): SessionTable => ({ _SESSION_ID: 'a'.repeat(32), _SESSION_CTIME: 100, _SESSION_ATIME: 150, ...extra });

describe('change sets', () => {
  it('a fresh set has no changes; any mark makes it one', () => {
    expect(hasChanges(noChanges())).toBe(false);
    expect(hasChanges({ ...noChanges(), atime: true })).toBe(true);
    expect(hasChanges({ ...noChanges(), expireList: new Map([['x', null]]) })).toBe(true);
  });

  it('S54: only what this object changed moves onto the stored copy; what another flush stored stays', () => {
    // The store gained `b` from another object since ours loaded; ours set `a` and cleared `c`.
    const ours = stored({ a: 1, c: 3, _SESSION_ATIME: 160 });
    const changes = { ...noChanges(), set: new Set(['a']), cleared: new Set(['c']) };
    const next = applyChanges(stored({ b: 2, c: 3 }), ours, changes, false);
    expect(next).toEqual(stored({ a: 1, b: 2, _SESSION_ATIME: 160 }));
  });

  it('the atime never goes back, and the session expiry and per-param expiries move only when changed', () => {
    const ours = stored({ _SESSION_ATIME: 140, _SESSION_ETIME: 60 });
    const untouched = applyChanges(stored({ _SESSION_ATIME: 155, _SESSION_ETIME: 30 }), ours, noChanges(), false);
    expect(untouched._SESSION_ATIME).toBe(155);
    expect(untouched._SESSION_ETIME).toBe(30);
    const changed = applyChanges(
      stored({ _SESSION_EXPIRE_LIST: { gone: 10, kept: 20 } }),
      ours,
      { ...noChanges(), etime: true, expireList: new Map<string, number | null>([['gone', null], ['added', 5]]) },
      false,
    );
    expect(changed._SESSION_ETIME).toBe(60);
    expect(changed._SESSION_EXPIRE_LIST).toEqual({ kept: 20, added: 5 });
  });

  it("merging a failed flush's changes with newer ones: the later set or clear of a name wins", () => {
    const older = { ...noChanges(), set: new Set(['a', 'b']), cleared: new Set(['c']) };
    const newer = { ...noChanges(), set: new Set(['c']), cleared: new Set(['a']), atime: true };
    const merged = mergeChanges(older, newer);
    expect([...merged.set].sort()).toEqual(['b', 'c']);
    expect([...merged.cleared]).toEqual(['a']);
    expect(merged.atime).toBe(true);
  });
});
