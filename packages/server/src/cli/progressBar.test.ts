import { describe, expect, it } from 'vitest';
import { PROGRESS_THRESHOLD, createProgress } from './progressBar.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 80, write: (text: string) => writes.push(text) } };
}

describe('createProgress', () => {
  it('draws a bar in place on a terminal for a run over the threshold, and clears it at the end', () => {
    const { writes, stream } = fakeStream(true);
    const total = PROGRESS_THRESHOLD + 1000;
    const progress = createProgress(stream, total, 'finding');
    for (let i = 0; i < total; i++) progress.tick();
    progress.done();
    expect(writes[0]).toMatch(/^\rfinding \[-+\] 0\/3000 0%$/);
    expect(writes).toContain(`\rfinding [${'#'.repeat(40)}] 3000/3000 100%`);
    // One redraw per percent, not per session.
    expect(writes.length).toBeLessThanOrEqual(102);
    expect(writes.at(-1)).toBe('\r\u001b[K');
  });

  it('draws nothing when stderr is not a terminal, or for a small run', () => {
    for (const [isTTY, total] of [[false, 10_000], [true, PROGRESS_THRESHOLD]] as const) {
      const { writes, stream } = fakeStream(isTTY);
      const progress = createProgress(stream, total, 'finding');
      for (let i = 0; i < total; i++) progress.tick();
      progress.done();
      expect(writes).toEqual([]);
    }
  });
});
