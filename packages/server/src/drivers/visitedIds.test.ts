import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VisitedIds } from './visitedIds.js';

describe('VisitedIds', () => {
  it('says whether an id was recorded before, across many growths', () => {
    const visited = new VisitedIds(16);
    const ids = Array.from({ length: 50_000 }, () => randomBytes(16).toString('hex'));
    for (const id of ids) expect(visited.add(id)).toBe(true);
    expect(visited.size).toBe(ids.length);
    for (const id of ids) expect(visited.add(id)).toBe(false);
    expect(visited.size).toBe(ids.length);
    // Ids differing in one character, empty and non-ASCII ids are distinct.
    for (const id of ['', 'a', 'b', 'é', 'e\u0301', `${ids[0]}x`]) expect(visited.add(id)).toBe(true);
  });

  it('holds a million ids in well under the ~70 MB a Set of their strings takes', () => {
    const visited = new VisitedIds();
    for (let i = 0; i < 1_000_000; i++) visited.add(`${i.toString(16).padStart(32, '0')}`);
    expect(visited.size).toBe(1_000_000);
    expect(visited.bytes).toBeLessThanOrEqual(32 * 1024 * 1024);
  });
});
