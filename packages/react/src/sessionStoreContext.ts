'use client';
import { createContext, useContext } from 'react';
import type { SessionStore } from './store.js';

// The context object is immutable; each provider puts its own store in it (no module state).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const SessionStoreContext = createContext<SessionStore<any, any> | null>(null);

/** The store of the nearest `<SessionProvider>`; throws a clear error outside one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function useSessionStore(hook: string): SessionStore<any, any> {
  const store = useContext(SessionStoreContext);
  if (store === null) {
    throw new Error(`isosession: ${hook}() must be called inside <SessionProvider> (from @isosession/react); wrap your app, or this part of it, in <SessionProvider url="/api/session" initial={snapshot}>`);
  }
  return store;
}
