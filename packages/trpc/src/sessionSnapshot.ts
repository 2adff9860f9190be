import type { SessionSnapshot } from '@isosession/core';
import { SessionError } from '@isosession/core';
import type { Session } from '@isosession/server';
import { readParam } from './params.js';
import type { ParamDefinitions, ParamValues } from './params.js';

export interface SnapshotOptions {
  /**
   * Whether the session was created by this request. `Session.isNew()` turns false at flush,
   * so callers that flush first pass what it said before. @default session.isNew()
   */
  isNew?: boolean;
}

/**
 * What the browser may see of `session`: the declared params only (unset ones as their
 * default), never a private one, plus times and the stored `version`. Hand it to
 * `<SessionProvider initial>` after server rendering.
 */
export function sessionSnapshot<TDefs extends ParamDefinitions>(
  session: Session,
  params: TDefs,
  options: SnapshotOptions = {},
): SessionSnapshot<ParamValues<TDefs>> {
  const tag = session.tag();
  if (tag === undefined) {
    throw new SessionError('INVALID_ARGUMENT', 'sessionSnapshot(): the session is empty (deleted or never loaded); call s.new() first');
  }
  const values: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(params)) {
    values[name] = readParam(name, definition, session.param(name));
  }
  const paramExpiresAt: Record<string, number> = {};
  for (const [name, at] of Object.entries(session.paramExpiresAt())) {
    // Only declared params: the expiry list may name private ones.
    if (Object.hasOwn(params, name)) paramExpiresAt[name] = at;
  }
  const ctime = session.ctime() ?? 0;
  return {
    tag,
    params: values as ParamValues<TDefs>,
    version: session.version(),
    ctime,
    atime: session.atime() ?? ctime,
    expiresAt: session.expiresAt() ?? null,
    paramExpiresAt: paramExpiresAt as SessionSnapshot<ParamValues<TDefs>>['paramExpiresAt'],
    isNew: options.isNew ?? session.isNew(),
  };
}
