/**
 * How long the load and fault scenarios run. CI keeps the battery within minutes; for the
 * issue's full 20 s loads run `ISOSESSION_RELIABILITY_SCALE=4 npm run test:reliability`.
 */
export const SCALE = Math.max(0.2, Number(process.env.ISOSESSION_RELIABILITY_SCALE ?? '1') || 1);

/** `seconds` of wall time, scaled, in ms. */
export function scaled(seconds: number): number {
  return Math.round(seconds * SCALE * 1000);
}

/** fast-check runs per property (ISOSESSION_FUZZ_RUNS, default 1000). */
export const FUZZ_RUNS = Math.max(1, Number(process.env.ISOSESSION_FUZZ_RUNS ?? '1000') || 1000);
