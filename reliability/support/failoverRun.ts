import { expect } from 'vitest';
import { Agent } from 'node:http';
import { recordFigures } from './figures.js';
import { dumpSessions, httpGet, newSessions, runLoad, verify } from './loadClients.js';
import type { LoadReport } from './loadClients.js';
import { scaled } from './scale.js';

export interface Failover {
  /** Breaks a master (SIGKILL). `ids` are the load's session ids, to pick the master that holds most of them. */
  kill(ids: string[]): Promise<void>;
  /** Resolves when the store takes writes again (a replica promoted, and whatever else the scenario needs). */
  heal(): Promise<void>;
}

export interface FailoverFigures {
  report: LoadReport;
  /** Acknowledged writes (200) whose effect is not in the store afterwards. */
  lost: number;
  /** From the kill to the last answer that was not a 200 (after it, every write succeeded). */
  writesBackAfterMs: number;
  /** From the kill until heal() resolved. */
  healedAfterMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A failover in the middle of a load: `clients` clients write their own params of shared
 * sessions through the app at `base`, a master is SIGKILLed and
 * replaced, and the load goes on. Measured: the answers (only 200 or the clear 503 allowed),
 * how long after the kill writes succeeded again, and acknowledged writes lost.
 */
export async function failoverUnderLoad(scenario: string, base: string, failover: Failover, options: { clients?: number; sessions?: number; figures?: Record<string, unknown> } = {}): Promise<FailoverFigures> {
  const clients = options.clients ?? 100;
  const cookies = await newSessions(base, options.sessions ?? 20);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const ids = await Promise.all(cookies.map(async (cookie) => (JSON.parse((await httpGet(agent, `${base}/dump`, cookie)).body) as { id: string }).id));
  agent.destroy();

  let phase = 'before';
  const before = scaled(1.5);
  const after = scaled(3);
  const started = Date.now();
  const load = runLoad({
    base: () => base,
    cookies,
    clients,
    // Long enough for the failover and `after` more seconds of load once it healed.
    durationMs: 60_000,
    phase: () => phase,
    mix: { set: 3, clear: 1, expire: 1 },
    stopped: () => phase === 'done',
  });
  await sleep(before);
  phase = 'failover';
  const killedAt = Date.now() - started;
  await failover.kill(ids);
  await failover.heal();
  const healedAt = Date.now() - started;
  phase = 'after';
  await sleep(after);
  phase = 'done';
  const report = await load;
  const verdict = verify(report.params, await dumpSessions(base, cookies));

  const notOk = report.timeline.filter(([at, status]) => at >= killedAt && status !== 200).map(([at]) => at);
  const writesBackAfterMs = notOk.length === 0 ? 0 : Math.max(...notOk) - killedAt;
  const figures: FailoverFigures = { report, lost: verdict.lost.length, writesBackAfterMs, healedAfterMs: healedAt - killedAt };
  recordFigures(scenario, {
    clients,
    sessions: cookies.length,
    ...options.figures,
    answers: Object.fromEntries(Object.entries(report.counts).filter(([label]) => label !== 'done')),
    refused503: Object.values(report.counts).reduce((sum, answers) => sum + (answers['503'] ?? 0), 0),
    healedAfterMs: figures.healedAfterMs,
    writesBackAfterMs,
    acknowledged: report.acked,
    paramsChecked: verdict.checked,
    lostAcknowledgedWrites: verdict.lost.length,
  });
  for (const [label, answers] of Object.entries(report.counts)) {
    // Only 200 or the clear 503; never a 500, a hang or a dropped connection.
    expect(Object.keys(answers).filter((status) => status !== '200' && status !== '503'), label).toEqual([]);
  }
  expect(report.counts.after?.['200'] ?? 0).toBeGreaterThan(0);
  return figures;
}
