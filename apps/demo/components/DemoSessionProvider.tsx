'use client';
import { useState } from 'react';
import type { ReactNode } from 'react';
import { SessionProvider } from '@isosession/react';
import type { SessionProviderProps } from '@isosession/react';
import '@/lib/register';

/**
 * The session mirror for the whole app, starting from the snapshot the server rendered with.
 * The latency knob rides along as a header: `?latency=300` in the page's URL, or the
 * server's DEMO_LATENCY_MS, slows every session request (not the live stream).
 */
export function DemoSessionProvider({ initial, children }: { initial: SessionProviderProps['initial']; children: ReactNode }) {
  const [fetchWithLatency] = useState(() => (input: RequestInfo | URL, init?: RequestInit) => {
    const latency = new URLSearchParams(window.location.search).get('latency');
    if (latency === null) return fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('x-demo-latency', latency);
    return fetch(input, { ...init, headers });
  });
  return (
    <SessionProvider url="/api/session" fetch={fetchWithLatency} initial={initial}>
      {children}
    </SessionProvider>
  );
}
