import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUT = process.env.ISOSESSION_RELIABILITY_OUT ?? join(tmpdir(), 'isosession-reliability');

/**
 * Keeps a scenario's measured figures (loss rates, RSS, fault outcomes, case counts): one JSON
 * line appended to $ISOSESSION_RELIABILITY_OUT/figures.jsonl, and one line on stdout.
 */
export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  mkdirSync(OUT, { recursive: true });
  appendFileSync(join(OUT, 'figures.jsonl'), `${JSON.stringify({ scenario, at: new Date().toISOString(), ...figures })}\n`);
  process.stdout.write(`reliability: ${scenario}: ${JSON.stringify(figures)}\n`);
}
