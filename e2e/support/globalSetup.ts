import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const DAY_MS = 24 * 3600 * 1000;

/** Makes this run's store directory, and removes those of runs older than a day. */
export default function globalSetup(): void {
  const current = process.env.E2E_DATA_DIR;
  if (!current) return;
  const parent = path.dirname(current);
  mkdirSync(current, { recursive: true });
  for (const entry of readdirSync(parent)) {
    const full = path.join(parent, entry);
    if (entry.startsWith('e2e-') && full !== current && Date.now() - statSync(full).mtimeMs > DAY_MS) {
      rmSync(full, { recursive: true, force: true });
    }
  }
}
