'use client';
import { useActionState } from 'react';
import { purgeExpiredSessions } from '@/app/admin/actions';
import type { PurgeState } from '@/app/admin/actions';

export function PurgeButton() {
  const [state, purge, pending] = useActionState<PurgeState>(purgeExpiredSessions, { purged: null });
  return (
    <form action={purge} className="row">
      <button type="submit" disabled={pending} data-testid="purge">
        Purge expired sessions
      </button>
      {state.purged !== null && (
        <span role="status" data-testid="purge-result">
          Purged {state.purged} expired {state.purged === 1 ? 'session' : 'sessions'}.
        </span>
      )}
    </form>
  );
}
