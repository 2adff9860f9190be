'use client';
import { use, useCallback } from 'react';
import { useStore } from 'zustand';
import { useSessionStore } from './sessionStoreContext.js';
import type { SessionRequestError } from './SessionRequestError.js';
import type { Updater } from './store.js';
import type { ParamNameOf, RegisteredRouter, SessionParamsOf, WritableNameOf } from './types.js';

export interface SessionParamMeta {
  /** A write to this param is queued or in flight. */
  pending: boolean;
  /** Why the server refused the last write (it was rolled back); null after a good write. */
  error: SessionRequestError | null;
  /** When this param expires if the session stays idle (seconds since the epoch); null: never. */
  expiresAt: number | null;
}

/** The setter: a value or an updater of the shown value; `never` for read-only params. */
export type SessionParamSetter<V, Writable extends boolean> = Writable extends true ? (value: Updater<V>) => void : never;

export type SessionParamTuple<V, Writable extends boolean> = [value: V, set: SessionParamSetter<V, Writable>, meta: SessionParamMeta];

/**
 * One param, typed from the router: `const [cart, setCart, { pending, error }] = useSessionParam('cart')`.
 * Re-renders only when this param (or its pending/error/expiry) changes. `setCart` shows the
 * value in the same frame and queues the write; a refused write rolls back and sets `error`.
 * Without an `initial` snapshot it suspends until the first one arrives (wrap it in
 * `<Suspense>`), and throws to the error boundary if that first load fails.
 */
export function useSessionParam<N extends ParamNameOf<TRouter>, TRouter = RegisteredRouter>(
  name: N,
): SessionParamTuple<SessionParamsOf<TRouter>[N], N extends WritableNameOf<TRouter> ? true : false> {
  const store = useSessionStore('useSessionParam');
  const status = useStore(store, (state) => state.status);
  if (status === 'loading' && typeof window === 'undefined') {
    throw new Error('isosession: useSessionParam() has no value to render on the server; pass `initial` (a snapshot from the server) to <SessionProvider>');
  }
  // No snapshot yet (no `initial`): suspend until there is one. Called on every render (a
  // settled thenable does not suspend), as React wants use() calls to be the same on retry.
  use(store.ready());
  if (status === 'error' && store.getState().server === null) throw store.getState().error;
  const value = useStore(store, (state) => (state.params as Record<string, unknown>)[name]);
  const pending = useStore(store, (state) => (state.pending as Record<string, true | undefined>)[name] === true);
  const error = useStore(store, (state) => (state.errors as Record<string, SessionRequestError | undefined>)[name] ?? null);
  const expiresAt = useStore(store, (state) => (state.server?.paramExpiresAt as Record<string, number | undefined> | undefined)?.[name] ?? null);
  const set = useCallback((next: Updater<unknown>) => store.set(name, next), [store, name]);
  return [value, set, { pending, error, expiresAt }] as unknown as SessionParamTuple<
    SessionParamsOf<TRouter>[N],
    N extends WritableNameOf<TRouter> ? true : false
  >;
}
