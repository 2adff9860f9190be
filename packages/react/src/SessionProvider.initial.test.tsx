// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { act, cleanup, render, screen } from '@testing-library/react';
import type { SessionSnapshot } from '@isosession/core';
import { SessionProvider } from './SessionProvider.js';
import { useSession } from './useSession.js';
import type { SessionTrpcClient } from './createTrpcTransport.js';

// Next.js renders the page again after a server action that set the session cookie: the
// provider then gets a newer `initial`, which must reach the hooks without a request.

type Params = { theme: string };

function snap(tag: string, version: number, theme: string): SessionSnapshot<Params> {
  return { tag, params: { theme }, version, ctime: 100, atime: 100 + version, expiresAt: null, paramExpiresAt: {}, isNew: false };
}

/** A client that must not be asked for anything: the snapshots come from the server render. */
function silentClient(calls: string[]): SessionTrpcClient<Params> {
  const fail = (name: string) => () => {
    calls.push(name);
    return new Promise<never>(() => undefined);
  };
  return {
    get: { query: fail('get') },
    set: { mutate: fail('set') },
    clear: { mutate: fail('clear') },
    destroy: { mutate: fail('destroy') },
    watch: { subscribe: () => ({ unsubscribe: () => undefined }) },
  };
}

function Shown() {
  const session = useSession();
  return (
    <span data-testid="shown">
      {session.tag}:{session.version}:{String(session.params.theme)}:{session.atime}
    </span>
  );
}

afterEach(cleanup);

describe('SessionProvider initial', () => {
  it('takes a newer server-rendered snapshot, ignores an older one, and follows a new id (login)', () => {
    const calls: string[] = [];
    const client = silentClient(calls);
    const view = (initial: SessionSnapshot<Params>) => (
      <SessionProvider client={client} initial={initial} broadcast={false} watch={false} refreshOnFocus={false}>
        <Shown />
      </SessionProvider>
    );
    const { rerender } = render(view(snap('a', 1, 'light')));
    expect(screen.getByTestId('shown').textContent).toBe('a:1:light:101');

    act(() => rerender(view(snap('a', 2, 'dark'))));
    expect(screen.getByTestId('shown').textContent).toBe('a:2:dark:102');

    // A stale render (an older version of the same session) changes nothing.
    act(() => rerender(view(snap('a', 1, 'light'))));
    expect(screen.getByTestId('shown').textContent).toBe('a:2:dark:102');

    // regenerate() at login: the render carries the new id, and the hooks move to it.
    act(() => rerender(view(snap('b', 3, 'dark'))));
    expect(screen.getByTestId('shown').textContent).toBe('b:3:dark:103');

    // The id left behind never comes back through a late render.
    act(() => rerender(view(snap('a', 9, 'light'))));
    expect(screen.getByTestId('shown').textContent).toBe('b:3:dark:103');
    expect(calls).toEqual([]);
  });
});
