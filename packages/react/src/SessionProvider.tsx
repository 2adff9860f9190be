'use client';
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { SessionSnapshot } from '@isosession/core';
import { createFetchTransport } from './createFetchTransport.js';
import type { FetchTransportOptions } from './createFetchTransport.js';
import { createTrpcTransport } from './createTrpcTransport.js';
import type { SessionTrpcClient } from './createTrpcTransport.js';
import { SessionStoreContext } from './sessionStoreContext.js';
import { connectBroadcast, connectExpiryRefresh, connectFocusRefresh, connectWatch } from './sessionSync.js';
import { createSessionStore } from './store.js';
import type { RegisteredRouter, SessionParamsOf } from './types.js';

export interface SessionProviderProps<TRouter = RegisteredRouter> {
  children?: ReactNode;
  /**
   * A tRPC client of the session router (or `trpc.session` of a nested one): your links,
   * headers and batching. Or give `url`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  client?: SessionTrpcClient<any>;
  /**
   * Where the session router is served, e.g. `/api/session`: the provider talks to it with
   * plain fetch and EventSource (tRPC's HTTP format, no tRPC client in the bundle).
   */
  url?: string;
  /** For `url`: a fetch or EventSource for runtimes without them (tests, React Native). */
  fetch?: FetchTransportOptions['fetch'];
  EventSource?: FetchTransportOptions['EventSource'];
  /**
   * The snapshot the server rendered with (e.g. `await caller.get()` in a server component):
   * hooks are `ready` at once, with no loading state and no hydration mismatch.
   */
  initial?: SessionSnapshot<SessionParamsOf<TRouter>> | null;
  /** The session cookie's name; names the BroadcastChannel tabs share. @default 'CGISESSID' */
  name?: string;
  /** Keep tabs in step through BroadcastChannel. @default true */
  broadcast?: boolean;
  /** Follow server-side changes through the `watch` subscription (SSE). @default true */
  watch?: boolean;
  /** Refresh (once, single-flight) when the window regains focus. @default true */
  refreshOnFocus?: boolean;
}

/**
 * Holds one session's typed, live, optimistic mirror for the components below it: one store
 * per provider (created once, SSR-safe), fed by writes' answers, `watch`, other tabs and
 * focus/expiry refreshes. `client`/`url` are read on first render only; a later `initial` is
 * taken when it is newer than what the store holds.
 */
export function SessionProvider<TRouter = RegisteredRouter>(props: SessionProviderProps<TRouter>): ReactNode {
  const [{ store, transport }] = useState(() => {
    let created;
    if (props.client) created = createTrpcTransport<Record<string, unknown>>(props.client);
    else if (props.url !== undefined) created = createFetchTransport<Record<string, unknown>>({ url: props.url, fetch: props.fetch, EventSource: props.EventSource });
    else throw new Error('isosession: <SessionProvider> needs a `url` where the session router is served, or a `client` (a tRPC client of it)');
    const initial = props.initial as SessionSnapshot<Record<string, unknown>> | null | undefined;
    return { transport: created, store: createSessionStore<Record<string, unknown>, string>({ transport: created, initial }) };
  });
  const { name = 'CGISESSID', broadcast = true, watch = true, refreshOnFocus = true, initial } = props;

  // A snapshot the server renders later (Next.js renders the page again after a server action
  // that set the session cookie, or on router.refresh()) reaches the hooks without a request
  // of their own; the store keeps it only if it is newer (by id and version).
  useEffect(() => {
    if (initial) store.receive(initial as SessionSnapshot<Record<string, unknown>>, 'server');
  }, [store, initial]);

  useEffect(() => {
    const stops: (() => void)[] = [];
    if (store.getState().server === null) void store.refresh();
    if (watch) stops.push(connectWatch(store, transport));
    if (broadcast && typeof BroadcastChannel !== 'undefined') {
      stops.push(connectBroadcast(store, new BroadcastChannel(`isosession:${name}`)));
    }
    if (refreshOnFocus && typeof window !== 'undefined') {
      stops.push(connectFocusRefresh(store, window, () => typeof document === 'undefined' || document.visibilityState !== 'hidden'));
    }
    stops.push(connectExpiryRefresh(store));
    return () => {
      for (const stop of stops) stop();
    };
  }, [store, transport, name, broadcast, watch, refreshOnFocus]);

  return <SessionStoreContext.Provider value={store}>{props.children}</SessionStoreContext.Provider>;
}
