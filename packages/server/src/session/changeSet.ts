import { ATIME, ETIME, copyTable, expireList, getKey, setExpireList, setKey } from '../sessionTable.js';
import type { SessionTable } from '../sessionTable.js';

/**
 * What one Session object changed since it was loaded or last flushed: what its flush writes
 * onto the latest stored copy (S54: two objects that change different params both keep their
 * change, whatever the flush order; for the same param the later flush wins).
 */
export interface ChangeSet {
  set: Set<string>;
  cleared: Set<string>;
  etime: boolean;
  /** Per-param expiries set (seconds) or removed (null). */
  expireList: Map<string, number | null>;
  atime: boolean;
}

export function noChanges(): ChangeSet {
  return { set: new Set(), cleared: new Set(), etime: false, expireList: new Map(), atime: false };
}

/** Whether the change set changes the data itself (anything but the access time). */
export function changesData(c: ChangeSet): boolean {
  return c.set.size > 0 || c.cleared.size > 0 || c.etime || c.expireList.size > 0;
}

export function hasChanges(c: ChangeSet): boolean {
  return changesData(c) || c.atime;
}

/** A failed flush's changes with those made while it ran on top (the later ones win). */
export function mergeChanges(older: ChangeSet, newer: ChangeSet): ChangeSet {
  const merged: ChangeSet = {
    set: new Set(older.set),
    cleared: new Set(older.cleared),
    etime: older.etime || newer.etime,
    expireList: new Map([...older.expireList, ...newer.expireList]),
    atime: older.atime || newer.atime,
  };
  for (const name of newer.set) {
    merged.set.add(name);
    merged.cleared.delete(name);
  }
  for (const name of newer.cleared) {
    merged.cleared.add(name);
    merged.set.delete(name);
  }
  return merged;
}

/**
 * `stored` with `changes` applied, values taken from `ours` (the object's own table): the
 * record a flush writes. Only what this object changed moves; the atime never goes back.
 * `perl`: the expire list is written in the shape Perl's CGI::Session reads.
 */
export function applyChanges(stored: SessionTable, ours: SessionTable, changes: ChangeSet, perl: boolean): SessionTable {
  const next = copyTable(stored);
  for (const name of changes.set) setKey(next, name, getKey(ours, name));
  for (const name of changes.cleared) delete next[name];
  if (changes.etime) {
    const etime = getKey(ours, ETIME);
    if (etime === undefined) delete next[ETIME];
    else setKey(next, ETIME, etime);
  }
  if (changes.expireList.size > 0) {
    const list = { ...expireList(next) };
    for (const [name, seconds] of changes.expireList) {
      if (seconds === null) delete list[name];
      else setKey(list, name, seconds);
    }
    setExpireList(next, list, perl);
  }
  setKey(next, ATIME, Math.max(ours[ATIME] as number, (next[ATIME] as number | undefined) ?? 0));
  return next;
}
