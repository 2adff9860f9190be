import { performance } from 'node:perf_hooks';

/** One timed run: throughput and latency percentiles (ms). */
export interface RunResult {
  ops: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

/** Several runs of one cell: the median run's numbers and the ops/s range. */
export interface CellResult {
  opsPerSec: number;
  min: number;
  max: number;
  p50: number;
  p99: number;
  runs: number;
}

/** `op(worker, i)` is one operation; `concurrency` async loops run it until `seconds` pass. */
export type Operation = (worker: number, iteration: number) => Promise<void>;

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

export async function timedRun(op: Operation, concurrency: number, seconds: number): Promise<RunResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    for (let iteration = 0; performance.now() < deadline; iteration++) {
      const begin = performance.now();
      await op(worker, iteration);
      latencies.push(performance.now() - begin);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { ops: latencies.length, opsPerSec: latencies.length / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median of each measure over the runs (ops/s, p50, p99 separately), with the ops/s range. */
export function summarize(runs: RunResult[]): CellResult {
  const throughput = runs.map((run) => run.opsPerSec);
  return {
    opsPerSec: median(throughput),
    min: Math.min(...throughput),
    max: Math.max(...throughput),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    runs: runs.length,
  };
}

export function formatOps(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

export function formatMs(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}
