import { storeCall } from '../storeCall.js';
import type { FindReport } from '../types.js';
import type { Config } from './config.js';

/** One stored session as find() hands it over. */
export interface Visited {
  isExpired(): boolean;
  flush(): Promise<void>;
}

/**
 * Walks every stored session (S55–S60): `open` loads one without moving its atime (undefined:
 * not a session, or removed meanwhile), `code` runs on it and what it changed is flushed.
 * Sessions that fail to load are reported in `failed` and the walk goes on; `code` or a flush
 * failing ends the walk with that error as it is, not as the driver's ("traverse failed").
 */
export async function walkSessions<S extends Visited>(config: Config, open: (id: string) => Promise<S | undefined>, code: (session: S) => unknown): Promise<FindReport> {
  const report: FindReport = { visited: 0, purged: 0, failed: [] };
  // Each id is handled as the driver's walk yields it, never gathered into a list first: a
  // store of a million sessions is walked in the memory of one page of ids. Sessions created
  // while the walk runs (a regenerate inside `code`) may or may not be visited.
  let stopped: { error: unknown } | undefined;
  const visit = async (id: string) => {
    let session: S | undefined;
    try {
      session = await open(id);
    } catch (error) {
      report.failed.push({ id, error });
      return;
    }
    if (session === undefined) return;
    report.visited += 1;
    if (session.isExpired()) report.purged += 1;
    await code(session);
    await session.flush();
  };
  try {
    await storeCall(config.resolved.driver, 'traverse', () => config.driver.traverse(async (id) => {
      try {
        await visit(id);
      } catch (error) {
        stopped = { error };
        throw error;
      }
    }));
  } catch (error) {
    throw stopped ? stopped.error : error;
  }
  return report;
}
