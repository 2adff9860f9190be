'use client';
import { useMemo } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { SessionSnapshot } from '@isosession/core';
import { useSessionStore } from './sessionStoreContext.js';
import type { SessionRequestError } from './SessionRequestError.js';
import type { SessionStatus, Updater } from './store.js';
import type { RegisteredRouter, SessionParamsOf, WritableNameOf } from './types.js';

// Immutable, so not module state: a stable `{}` keeps the shallow selector from looping.
const NO_EXPIRY: Readonly<Record<string, number>> = Object.freeze({});

export interface UseSessionResult<P extends Record<string, unknown>, W extends string> {
  status: SessionStatus;
  /**
   * Changes when the session does (login, logout, expiry); null while loading. An opaque
   * tag, not the session id: the id stays in the HttpOnly cookie, out of page scripts' reach.
   */
  tag: string | null;
  /** Every public param as shown (this tab's unconfirmed writes included). */
  params: P;
  version: number | null;
  /** When the session was created / last accessed, per the server (seconds since the epoch). */
  ctime: number | null;
  atime: number | null;
  isNew: boolean;
  /** When the session expires if left idle (seconds since the epoch); null: never. */
  expiresAt: number | null;
  paramExpiresAt: SessionSnapshot<P>['paramExpiresAt'];
  /** Whether any write is queued or in flight. */
  pending: boolean;
  /** The last failed load, refresh or destroy. */
  error: SessionRequestError | null;
  set<N extends W>(name: N, value: Updater<P[N & keyof P]>): void;
  clear(names: W | readonly W[]): void;
  destroy(): Promise<void>;
  refresh(): Promise<void>;
}

/**
 * The whole session: status, params, expiry, and the actions. Re-renders when any of it
 * changes; read one param with `useSessionParam` to re-render for that param only.
 */
export function useSession<TRouter = RegisteredRouter>(): UseSessionResult<SessionParamsOf<TRouter>, WritableNameOf<TRouter>> {
  const store = useSessionStore('useSession');
  const view = useStore(
    store,
    useShallow((state) => ({
      status: state.status,
      tag: state.server?.tag ?? null,
      params: state.params,
      version: state.server?.version ?? null,
      ctime: state.server?.ctime ?? null,
      atime: state.server?.atime ?? null,
      isNew: state.server?.isNew ?? false,
      expiresAt: state.server?.expiresAt ?? null,
      paramExpiresAt: state.server?.paramExpiresAt ?? NO_EXPIRY,
      pending: Object.keys(state.pending).length > 0,
      error: state.error,
    })),
  );
  const actions = useMemo(
    () => ({
      set: store.set,
      clear: store.clear,
      destroy: store.destroy,
      refresh: store.refresh,
    }),
    [store],
  );
  return { ...view, ...actions } as UseSessionResult<SessionParamsOf<TRouter>, WritableNameOf<TRouter>>;
}
