import type { SessionSnapshot } from '@isosession/core';
import { SessionError } from '@isosession/core';
import type { Session } from '@isosession/server';
import { sessionSnapshot } from '@isosession/trpc';
import type { ParamDefinitions, ParamValues, SnapshotOptions } from '@isosession/trpc';

/**
 * What the browser may see of `session` — the params declared in `params` (the router's
 * definitions), never a private one — for `<SessionProvider initial={...}>`, or as a server
 * action's result. The same snapshot the session router's `get` returns.
 */
export function snapshot<TDefs extends ParamDefinitions>(
  session: Session,
  params: TDefs,
  options: SnapshotOptions = {},
): SessionSnapshot<ParamValues<TDefs>> {
  if (session.isEmpty()) {
    throw new SessionError(
      'INVALID_ARGUMENT',
      'snapshot(): this request has no session (getSession() in a server component never creates one); give every page one with createSessionProxy() in proxy.ts, or check session.isEmpty() first',
    );
  }
  return sessionSnapshot(session, params, options);
}
