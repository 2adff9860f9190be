import { listSessions } from '@/lib/listSessions';
import { PurgeButton } from '@/components/PurgeButton';

export const dynamic = 'force-dynamic';

function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export default async function AdminPage() {
  const now = Date.now() / 1000;
  const rows = await listSessions(now);
  const expired = rows.filter((row) => row.expired).length;
  const bytes = rows.reduce((sum, row) => sum + row.bytes, 0);
  return (
    <section className="card">
      <h1>Sessions</h1>
      <p>
        <span data-testid="session-count">{rows.length}</span> stored, <span data-testid="expired-count">{expired}</span> expired,{' '}
        {bytes} bytes in all. Listed with <code>Session.find</code>; private params are not shown here either.
      </p>
      <PurgeButton />
      <table className="sessions">
        <thead>
          <tr>
            <th>tag</th>
            <th>user</th>
            <th>age</th>
            <th>idle</th>
            <th>expires</th>
            <th>size</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.tag} data-testid="session-row" data-session={row.tag.slice(0, 8)} data-expired={row.expired ? 'yes' : 'no'}>
              <td>
                <code>{row.tag.slice(0, 8)}…</code>
              </td>
              <td>{row.user ?? '—'}</td>
              <td>{duration(now - row.ctime)}</td>
              <td>{duration(now - row.atime)}</td>
              <td>{row.expiresAt === null ? 'never' : row.expired ? 'expired' : `in ${duration(row.expiresAt - now)}`}</td>
              <td>{row.bytes} B</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
