import { SessionError } from '@isosession/core';
import { describe, expect, it } from 'vitest';
import { withDeadline } from './deadline.js';
import type { Deadline } from './deadline.js';

const expired = () => new SessionError('STORE_UNAVAILABLE', 'no answer in time');

describe('withDeadline: the time limit every driver call runs under', () => {
  it('answers what the work answers, and its failure as it is', async () => {
    await expect(withDeadline(1_000, expired, async () => 42)).resolves.toBe(42);
    const failure = new Error('driver failed');
    await expect(withDeadline(1_000, expired, async () => { throw failure; })).rejects.toBe(failure);
  });

  it('turns a work that throws before its first await into a rejection', async () => {
    const failure = new Error('thrown at once');
    const work = (() => { throw failure; }) as unknown as () => Promise<never>;
    await expect(withDeadline(1_000, expired, work)).rejects.toBe(failure);
  });

  it('rejects with expired() when time runs out, and tells the work through passed and abort', async () => {
    let seen: Deadline | undefined;
    let aborted = false;
    let finishLate!: () => void;
    const late = new Promise<void>((resolve) => (finishLate = resolve));
    const answer = withDeadline(20, expired, (deadline) => {
      seen = deadline;
      deadline.abort = () => (aborted = true);
      // A work stuck on a dead socket: it fails later, after the deadline answered.
      return late.then(() => { throw new Error('late failure nobody waits for'); });
    });
    await expect(answer).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('no answer in time') });
    expect(seen?.passed).toBe(true);
    expect(aborted).toBe(true);
    // The late failure is dropped (an unhandled rejection would fail this test run).
    finishLate();
    await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('keeps no timer once the work answered (the process can exit at once)', async () => {
    const before = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    await withDeadline(60_000, expired, async () => 'done');
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBe(before);
  });
});
