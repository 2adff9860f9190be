import { expect } from 'vitest';
import { Agent } from 'node:http';
import { recordFigures } from './figures.js';
import { dumpSessions, httpGet, newSessions, recoveryMs, runLoad, verify } from './loadClients.js';
import { scaled } from './scale.js';
import type { RunningApp } from './startApp.js';

export interface Outage {
  /** Breaks the store (kill, pause, terminate connections). */
  begin(): Promise<void>;
  /** Mends it (restart, resume); nothing for faults the store recovers from by itself. */
  end(): Promise<void>;
  /** How long the store stays broken, ms. */
  lengthMs: number;
  /**
   * Whether any request in the middle of the outage must be refused. Not for faults the
   * store heals between blows (terminated connections: the pool opens new ones).
   * @default true
   */
  alwaysDown?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A fault in the middle of a load: clients write their own params for a while, the store
 * breaks, stays broken, mends, and the load goes on. Then: no answer but 200 or a 503, some
 * 503 during the outage with the adapter's clear message, 200s again after it without any
 * restart of the app, and every acknowledged write in the store (none succeeded falsely).
 */
export async function outageUnderLoad(scenario: string, app: RunningApp, outage: Outage, clients = 50): Promise<void> {
  const base = app.base;
  const cookies = await newSessions(base, 20);
  let phase = 'before';
  const before = scaled(1.5);
  const after = scaled(2.5);
  const started = Date.now();
  // The load ends `after` ms after the store is mended, not at a fixed time from the start:
  // on a busy machine the outage's own steps (the probe, ending the fault) can run long, and
  // a fixed deadline would then leave no time at all to see the service come back.
  let stopAt = Number.POSITIVE_INFINITY;
  const load = runLoad({
    base: () => base,
    cookies,
    clients,
    durationMs: before + outage.lengthMs + after + 120_000,
    stopped: () => Date.now() >= stopAt,
    phase: () => phase,
    mix: { set: 3, clear: 1, expire: 1 },
  });

  await sleep(before);
  phase = 'outage';
  await outage.begin();
  const outageAt = Date.now() - started;
  // One request of our own in the middle of the outage: what a user sees.
  await sleep(Math.min(outage.lengthMs / 2, 1500));
  const agent = new Agent({ keepAlive: false });
  const sample = await httpGet(agent, `${base}/op?kind=set&name=probe&value=1`, cookies[0]).catch(async (error: Error) => {
    await sleep(200);
    throw new Error(`${error.message}; ${app.crash() ?? 'the app process is still running'}`);
  });
  await sleep(Math.max(0, outage.lengthMs - Math.min(outage.lengthMs / 2, 1500)));
  await outage.end();
  phase = 'after';
  const restoredAt = Date.now() - started;
  stopAt = Date.now() + after;
  const report = await load;
  // The app process must have lived through it: a crash is the worst answer of all.
  expect(app.crash()).toBeUndefined();

  const verdict = verify(report.params, await dumpSessions(base, cookies));
  const recovery = recoveryMs(report.timeline, restoredAt);
  recordFigures(scenario, {
    clients,
    outageMs: outage.lengthMs,
    answers: report.counts,
    sampleDuringOutage: `${sample.status} ${sample.body.trim()}`,
    firstSuccessAfterRestoreMs: recovery,
    firstRefusalAfterFaultMs: report.timeline.filter(([at, status]) => at >= outageAt && status === 503).map(([at]) => at - outageAt).sort((a, b) => a - b)[0],
    acknowledged: report.acked,
    paramsChecked: verdict.checked,
    lostUpdates: verdict.lost.length,
  });

  if (outage.alwaysDown !== false) {
    expect(sample.status).toBe(503);
    expect(sample.body).toMatch(/session store did not answer/);
  } else {
    expect([200, 503]).toContain(sample.status);
  }
  for (const [label, answers] of Object.entries(report.counts)) {
    // Only 200 or the clear 503; never a 500, a hang or a dropped connection.
    expect(Object.keys(answers).filter((status) => status !== '200' && status !== '503'), label).toEqual([]);
  }
  expect(report.counts.outage?.['503'] ?? 0).toBeGreaterThan(0);
  expect(recovery).toBeDefined();
  expect(recovery!).toBeLessThan(10_000);
  expect(report.counts.after?.['200'] ?? 0).toBeGreaterThan(0);
  expect(verdict.lost).toEqual([]);
}
