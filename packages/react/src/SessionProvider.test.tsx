// @vitest-environment happy-dom
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { StrictMode, Suspense } from 'react';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { hydrateRoot } from 'react-dom/client';
// happy-dom reports a refused request on Node's own console (as a browser's devtools would).
import nodeConsole from 'node:console';
import { renderToString } from 'react-dom/server';
import type { SessionSnapshot } from '@isosession/core';
import { createSessionHooks } from './createSessionHooks.js';
import { startLiveServer } from './testing/liveSession.js';
import type { LivePage, LiveServer, TestRouter } from './testing/liveSession.js';
import type { SessionParamsOf } from './types.js';

const { SessionProvider, useSession, useSessionParam } = createSessionHooks<TestRouter>();
type Snapshot = SessionSnapshot<SessionParamsOf<TestRouter>>;

function Theme() {
  const [theme, setTheme, { pending }] = useSessionParam('theme');
  return (
    <button type="button" data-testid="theme" onClick={() => setTheme((t) => (t === 'light' ? 'dark' : 'light'))}>
      {theme}
      {pending ? ' (saving)' : ''}
    </button>
  );
}

function Counter() {
  const [counter, setCounter, { pending }] = useSessionParam('counter');
  return (
    <button
      type="button"
      data-testid="counter"
      data-pending={String(pending)}
      onClick={() => {
        for (let i = 0; i < 10; i++) setCounter((c) => c + 1);
      }}
    >
      {counter}
    </button>
  );
}

function Cart({ onRender }: { onRender?: () => void }) {
  onRender?.();
  const [cart, setCart, { pending, error }] = useSessionParam('cart');
  return (
    <div>
      <span data-testid="cart">{cart.map((item) => `${item.sku}x${item.qty}`).join(',') || 'empty'}</span>
      <span data-testid="cart-state">{pending ? 'pending' : error ? `error:${error.code}:${error.issues?.[0]?.path?.join('.')}` : 'idle'}</span>
      <button type="button" data-testid="add-bad" onClick={() => setCart((c) => [...c, { sku: 'broken', qty: 0 }])} />
      <button type="button" data-testid="add-good" onClick={() => setCart((c) => [...c, { sku: 'tea', qty: 1 }])} />
    </div>
  );
}

function Status() {
  const session = useSession();
  return (
    <div>
      <span data-testid="status">{session.status}</span>
      <span data-testid="tag">{session.tag ?? 'none'}</span>
      <button type="button" data-testid="destroy" onClick={() => session.destroy().catch(() => undefined)} />
    </div>
  );
}

let server: LiveServer;
let live: LivePage;
/** The session the page starts with, created by a first request (as server rendering would). */
let initial: Snapshot;

beforeAll(async () => {
  server = await startLiveServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  await server.setLatency(0);
  live = await server.newPage();
  // Cookies ignore ports (RFC 6265 §8.5): every page shares 127.0.0.1's jar, so each test
  // starts by ending the previous test's session.
  await live.client().destroy.mutate();
  // A stored session (the first write creates it), as a visit with a cart would have.
  initial = (await live.client().set.mutate({ name: 'counter', value: 0 })) as Snapshot;
});
afterEach(() => {
  cleanup();
});

const countOf = async (procedure: string) => (await server.requests()).filter((path) => path === `/trpc/${procedure}`).length;

const text = (testId: string) => screen.getByTestId(testId).textContent;

describe('SessionProvider + useSessionParam against a real router on 127.0.0.1', () => {
  it('shows an optimistic value in the same frame, before the server has it', async () => {
    await server.setLatency(200);
    render(
      <SessionProvider {...live.connection} initial={initial}>
        <Theme />
      </SessionProvider>,
    );
    expect(text('theme')).toBe('light');
    fireEvent.click(screen.getByTestId('theme'));
    expect(text('theme')).toBe('dark (saving)');
    expect((await server.param(initial.tag, 'theme'))).toBeUndefined();
    await waitFor(() => expect(text('theme')).toBe('dark'), { timeout: 5000 });
    expect((await server.param(initial.tag, 'theme'))).toBe('dark');
  });

  it('10 rapid updater calls with 200 ms latency end with exactly 10 on client and server, in few requests', async () => {
    await server.setLatency(200);
    render(
      <SessionProvider {...live.connection} initial={initial} watch={false}>
        <Counter />
      </SessionProvider>,
    );
    fireEvent.click(screen.getByTestId('counter'));
    expect(text('counter')).toBe('10');
    await waitFor(() => expect(screen.getByTestId('counter').dataset.pending).toBe('false'), { timeout: 5000 });
    expect(text('counter')).toBe('10');
    expect((await server.param(initial.tag, 'counter'))).toBe(10);
    // Coalesced: the first value goes at once, the other nine ride in one more request.
    // Two, after the one of beforeEach that created the session.
    expect(await countOf('set')).toBe(3);
  });

  it('rolls a refused write back to the server value, exposes the error, leaves other params alone', async () => {
    const refusals = vi.spyOn(nodeConsole, 'error').mockImplementation(() => undefined);
    await server.setLatency(50);
    render(
      <SessionProvider {...live.connection} initial={initial} watch={false}>
        <Theme />
        <Cart />
      </SessionProvider>,
    );
    fireEvent.click(screen.getByTestId('add-bad'));
    fireEvent.click(screen.getByTestId('theme'));
    expect(text('cart')).toBe('brokenx0');
    await waitFor(() => expect(text('cart-state')).toBe('error:BAD_REQUEST:0.qty'), { timeout: 5000 });
    expect(text('cart')).toBe('empty');
    expect(refusals.mock.calls.map((call) => String(call[0]))).toEqual([expect.stringMatching(/\/trpc\/set 400 \(Bad Request\)$/)]);
    refusals.mockRestore();
    await waitFor(() => expect(text('theme')).toBe('dark'));
    expect((await server.param(initial.tag, 'cart'))).toBeUndefined();

    // The next good write clears the error.
    fireEvent.click(screen.getByTestId('add-good'));
    await waitFor(() => expect(text('cart-state')).toBe('idle'));
    expect(text('cart')).toBe('teax1');
  });

  it('does not roll back a refused write when a newer write to that param started meanwhile', async () => {
    const refusals = vi.spyOn(nodeConsole, 'error').mockImplementation(() => undefined);
    await server.setLatency(100);
    render(
      <SessionProvider {...live.connection} initial={initial} watch={false}>
        <Cart />
      </SessionProvider>,
    );
    fireEvent.click(screen.getByTestId('add-good'));
    fireEvent.click(screen.getByTestId('add-bad'));
    fireEvent.click(screen.getByTestId('add-good'));
    expect(text('cart')).toBe('teax1,brokenx0,teax1');
    // The first (good) write is in flight; the later two coalesce into one refused write,
    // which rolls back to what the server has: the first write.
    await waitFor(() => expect(text('cart-state')).toBe('error:BAD_REQUEST:1.qty'), { timeout: 5000 });
    expect(text('cart')).toBe('teax1');
    expect(refusals.mock.calls.map((call) => String(call[0]))).toEqual([expect.stringMatching(/\/trpc\/set 400 \(Bad Request\)$/)]);
    refusals.mockRestore();
  });

  it('keeps two providers on one BroadcastChannel in step (no watch)', async () => {
    render(
      <>
        <div data-testid="a">
          <SessionProvider {...live.connection} initial={initial} watch={false} refreshOnFocus={false}>
            <Theme />
          </SessionProvider>
        </div>
        <div data-testid="b">
          <SessionProvider {...live.connection} initial={initial} watch={false} refreshOnFocus={false}>
            <Theme />
            <Counter />
          </SessionProvider>
        </div>
      </>,
    );
    const [themeA, themeB] = screen.getAllByTestId('theme');
    fireEvent.click(themeA!);
    expect(themeA!.textContent).toBe('dark (saving)');
    await waitFor(() => expect(themeB!.textContent).toBe('dark'));
    fireEvent.click(themeB!);
    await waitFor(() => expect(themeA!.textContent).toBe('light'));
    expect(themeB!.textContent).toBe('light');
  });

  it('brings changes made elsewhere (another device, server code) through watch', async () => {
    render(
      <SessionProvider {...live.connection} initial={initial} broadcast={false}>
        <Theme />
        <Status />
      </SessionProvider>,
    );
    await waitFor(() => expect(live.streamed.length).toBeGreaterThan(0));
    await server.set(initial.tag, 'theme', 'dark');
    await waitFor(() => expect(text('theme')).toBe('dark'));
  });

  it('leaves no warnings when unmounted with a write in flight', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await server.setLatency(150);
      const { unmount } = render(
        <SessionProvider {...live.connection} initial={initial}>
          <Theme />
        </SessionProvider>,
      );
      fireEvent.click(screen.getByTestId('theme'));
      unmount();
      await waitFor(async () => expect(await server.param(initial.tag, 'theme')).toBe('dark'), { timeout: 5000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(errors).not.toHaveBeenCalled();
      expect(warnings).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
      warnings.mockRestore();
    }
  });

  it('does not re-render a component reading one param while another changes (0 renders)', async () => {
    let cartRenders = 0;
    render(
      <SessionProvider {...live.connection} initial={initial}>
        <Cart onRender={() => (cartRenders += 1)} />
        <Theme />
      </SessionProvider>,
    );
    await waitFor(() => expect(live.streamed.length).toBeGreaterThan(0));
    const before = cartRenders;
    fireEvent.click(screen.getByTestId('theme'));
    await waitFor(() => expect(text('theme')).toBe('dark'));
    await server.set(initial.tag, 'counter', 5);
    await waitFor(() => expect(live.streamed.length).toBeGreaterThan(2));
    expect(cartRenders - before).toBe(0);
  });

  it('a window focus storm costs one request (single-flight)', async () => {
    await server.setLatency(100);
    render(
      <SessionProvider {...live.connection} initial={initial} watch={false} broadcast={false}>
        <Theme />
      </SessionProvider>,
    );
    const before = await countOf('get');
    act(() => {
      for (let i = 0; i < 5; i++) window.dispatchEvent(new Event('focus'));
    });
    await waitFor(async () => expect(await countOf('get')).toBe(before + 1));
    // Let any straggler arrive (the refresh above took 100 ms): still one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await countOf('get')).toBe(before + 1);
  });

  it('without initial: loading (params suspend), then ready from one request however many components mount', async () => {
    // Long enough that a loaded machine cannot answer before the first assertion.
    await server.setLatency(1500);
    const before = await countOf('get');
    // A suspending tree is rendered in an async act (React 19: a sync act cannot wait for it).
    await act(async () => {
      render(
        <SessionProvider {...live.connection} watch={false} broadcast={false}>
          <Status />
          <Suspense fallback={<span data-testid="fallback">…</span>}>
            <Theme />
            <Cart />
            <Counter />
          </Suspense>
        </SessionProvider>,
      );
    });
    // 1.5 s of latency: the answer is not here yet.
    expect(text('status')).toBe('loading');
    expect(screen.getByTestId('fallback')).toBeTruthy();
    await waitFor(() => expect(text('status')).toBe('ready'), { timeout: 10_000 });
    await waitFor(() => expect(text('theme')).toBe('light'));
    expect(text('tag')).toBe(initial.tag);
    expect(await countOf('get')).toBe(before + 1);
  });

  it('destroy moves the hooks to a fresh session with default params', async () => {
    render(
      <SessionProvider {...live.connection} initial={initial}>
        <Status />
        <Theme />
      </SessionProvider>,
    );
    fireEvent.click(screen.getByTestId('theme'));
    await waitFor(() => expect(text('theme')).toBe('dark'));
    fireEvent.click(screen.getByTestId('destroy'));
    await waitFor(() => expect(text('tag')).not.toBe(initial.tag));
    expect(text('theme')).toBe('light');
    expect((await server.isEmpty(initial.tag))).toBe(true);
  });

  it('works in StrictMode, with a tRPC client instead of a url', async () => {
    render(
      <StrictMode>
        <SessionProvider client={live.client()} initial={initial}>
          <Theme />
        </SessionProvider>
      </StrictMode>,
    );
    fireEvent.click(screen.getByTestId('theme'));
    await waitFor(() => expect(text('theme')).toBe('dark'));
  });

  it('hooks outside a provider throw a clear error', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(() => render(<Theme />)).toThrow(/useSessionParam\(\) must be called inside <SessionProvider>/);
      expect(() => render(<Status />)).toThrow(/useSession\(\) must be called inside <SessionProvider>/);
    } finally {
      errors.mockRestore();
    }
  });

  it('server-renders from initial and hydrates without a loading state or a mismatch', async () => {
    const snapshot = (await live.client().set.mutate({ name: 'theme', value: 'dark' })) as Snapshot;
    const tree = () => (
      <SessionProvider {...live.connection} initial={snapshot} watch={false} broadcast={false} refreshOnFocus={false}>
        <Status />
        <Theme />
      </SessionProvider>
    );
    const html = renderToString(tree());
    expect(html).toContain('ready');
    expect(html).toContain('dark');
    const container = document.createElement('div');
    container.innerHTML = html;
    document.body.append(container);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const recoverable: unknown[] = [];
    try {
      const root = await act(async () => hydrateRoot(container, tree(), { onRecoverableError: (error) => recoverable.push(error) }));
      expect(container.textContent).toContain('ready');
      expect(container.textContent).toContain('dark');
      expect(recoverable).toEqual([]);
      expect(errors).not.toHaveBeenCalled();
      act(() => root.unmount());
    } finally {
      errors.mockRestore();
      container.remove();
    }
  });
});
