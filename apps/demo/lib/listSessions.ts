import { Session } from '@isosession/server';
import type { StoredRecord } from '@isosession/server';
import { dsn, dsnArgs, sessionParams } from './session';

/** One stored session as the admin page shows it (no param values: only who and how big). */
export interface SessionRow {
  id: string;
  /** What the page shows: the session's opaque tag (as its inspector does), never the id. */
  tag: string;
  user: string | null;
  ctime: number;
  atime: number;
  expiresAt: number | null;
  expired: boolean;
  bytes: number;
}

function byteLength(record: StoredRecord | null): number {
  if (record === null) return 0;
  const data = typeof record === 'string' || record instanceof Uint8Array ? record : record.data;
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/**
 * Every stored session, expired ones included, through `Session.find`. find() purges what it
 * finds expired (S56), which is the purge button's job, not the listing's: so this walk runs
 * on a clock stopped at the epoch, where nothing has expired and no atime moves (S57), and
 * judges expiry itself with the real clock. Nothing is written: the callback changes nothing.
 */
export async function listSessions(now = Date.now() / 1000): Promise<SessionRow[]> {
  const rows: SessionRow[] = [];
  await Session.find(
    dsn,
    async (session) => {
      const id = session.id();
      if (id === undefined) return;
      const expiresAt = session.expiresAt() ?? null;
      const user = session.param('user');
      rows.push({
        id,
        tag: session.tag() ?? '',
        user: typeof user === 'string' ? user : null,
        ctime: session.ctime() ?? 0,
        atime: session.atime() ?? 0,
        expiresAt,
        expired: expiresAt !== null && expiresAt <= now,
        bytes: byteLength(await session.driver().retrieve(id)),
      });
    },
    dsnArgs,
    { ...sessionParams, now: () => 0 },
  );
  return rows.sort((a, b) => b.atime - a.atime);
}

/** Removes every expired session (find() purges them, S56); returns the ids it removed. */
export async function purgeExpired(): Promise<{ purged: number; ids: string[] }> {
  const expired = (await listSessions()).filter((row) => row.expired).map((row) => row.id);
  const report = await Session.find(dsn, () => undefined, dsnArgs, sessionParams);
  return { purged: report.purged, ids: expired };
}
