import { describe, expect, it } from 'vitest';
import { SessionError } from '@isosession/core';
import { retryOnConflict } from './updateLoop.js';

describe("Session.update's retry loop", () => {
  it('tries again after a lost race, with a fresh load each time, until the commit lands', async () => {
    let loads = 0;
    const commits: number[] = [];
    const result = await retryOnConflict((s: { n: number }) => { s.n += 1; }, 5, async () => ({ n: ++loads * 10 }), async (s) => {
      commits.push(s.n);
      if (commits.length < 3) throw new SessionError('CONFLICT', 'moved');
    });
    expect(loads).toBe(3);
    expect(commits).toEqual([11, 21, 31]);
    expect(result.n).toBe(31);
  });

  it('gives up after `retries` lost races with the CONFLICT, and never retries another failure', async () => {
    let commits = 0;
    const conflict = async () => { commits += 1; throw new SessionError('CONFLICT', 'moved'); };
    await expect(retryOnConflict(() => undefined, 2, async () => ({}), conflict)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(commits).toBe(3);
    commits = 0;
    await expect(retryOnConflict(() => undefined, 5, async () => ({}), async () => { commits += 1; throw new SessionError('STORE_UNAVAILABLE', 'down'); })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(commits).toBe(1);
  });

  it("a failure of the caller's change is not a race: nothing is committed", async () => {
    let commits = 0;
    await expect(retryOnConflict(() => { throw new SessionError('CONFLICT', 'from the callback'); }, 5, async () => ({}), async () => { commits += 1; })).rejects.toThrow('from the callback');
    expect(commits).toBe(0);
  });

  it('names a bad change function or retry count', async () => {
    await expect(retryOnConflict('nope', 1, async () => ({}), async () => undefined)).rejects.toThrow('the 2nd argument must be a function');
    for (const retries of [-1, 1.5, '3', NaN]) {
      await expect(retryOnConflict(() => undefined, retries, async () => ({}), async () => undefined)).rejects.toThrow('options.retries must be a whole number');
    }
  });
});
