'use client';
import { useEffect, useState } from 'react';
import { useSession } from '@isosession/react';

function clock(seconds: number | undefined): string {
  return seconds === undefined ? '—' : new Date(seconds * 1000).toLocaleTimeString('en-GB', { hour12: false });
}

function countdown(at: number | null, now: number | null): string {
  if (at === null) return 'never';
  if (now === null) return '…';
  const left = Math.max(0, Math.round(at - now));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  return `${h > 0 ? `${h}:` : ''}${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(s).padStart(2, '0')}`;
}

/** Ticks once a second after hydration (the server's clock would not match the browser's). */
function useNow(): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now() / 1000);
    const timer = setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/**
 * The live mirror as the browser holds it: the public params only (the server never sends
 * private ones), with the times and expiries of the last snapshot the server confirmed.
 */
export function Inspector() {
  const session = useSession();
  const now = useNow();
  return (
    <section className="card inspector">
      <h2>Session inspector</h2>
      <dl>
        {/* Not the session id: that stays in the HttpOnly cookie, out of any script's reach. */}
        <dt>tag</dt>
        <dd>
          <code data-testid="session-tag" title="an opaque tag of this session, not its id">{session.tag ? `${session.tag.slice(0, 8)}…` : '—'}</code>
        </dd>
        <dt>created</dt>
        <dd data-testid="session-ctime">{clock(session.ctime ?? undefined)}</dd>
        <dt>last access</dt>
        <dd data-testid="session-atime">{clock(session.atime ?? undefined)}</dd>
        <dt>expires in</dt>
        <dd data-testid="session-expires">{countdown(session.expiresAt, now)}</dd>
        {Object.entries(session.paramExpiresAt).map(([name, at]) => (
          <FragmentRow key={name} label={`${name} expires in`} value={countdown(at ?? null, now)} testId={`param-expires-${name}`} />
        ))}
        <dt>version</dt>
        <dd data-testid="session-version">{session.version ?? '—'}</dd>
        <dt>status</dt>
        <dd data-testid="session-status">{session.pending ? 'saving…' : session.status}</dd>
      </dl>
      <h3>Public params</h3>
      <pre data-testid="session-params">{JSON.stringify(session.params, null, 2)}</pre>
    </section>
  );
}

function FragmentRow({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
    </>
  );
}
