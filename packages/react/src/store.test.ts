import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SessionSnapshot } from '@isosession/core';
import { SessionRequestError } from './SessionRequestError.js';
import { createSessionStore } from './store.js';
import type { SessionTransport } from './transport.js';

type Params = { theme: 'light' | 'dark'; cart: { sku: string }[]; counter: number };
type Snapshot = SessionSnapshot<Params>;

function snapshot(version: number, params: Partial<Params> = {}, tag = 'a'.repeat(22)): Snapshot {
  return {
    tag,
    params: { theme: 'light', cart: [], counter: 0, ...params },
    version,
    ctime: 1000,
    atime: 1000 + version,
    expiresAt: null,
    paramExpiresAt: {},
    isNew: false,
  };
}

interface Call {
  op: 'get' | 'set' | 'clear' | 'destroy';
  args: unknown[];
  resolve(snapshot: Snapshot): void;
  reject(error: unknown): void;
}

/** A transport whose answers the test gives by hand, in any order. */
function manualTransport() {
  const calls: Call[] = [];
  const call = (op: Call['op'], ...args: unknown[]) =>
    new Promise<Snapshot>((resolve, reject) => {
      calls.push({ op, args, resolve, reject });
    });
  const transport: SessionTransport<Params> = {
    get: () => call('get'),
    set: (name, value) => call('set', name, value),
    clear: (names) => call('clear', names),
    destroy: () => call('destroy'),
  };
  const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { transport, calls, flush, of: (op: Call['op']) => calls.filter((c) => c.op === op) };
}

const refused = () => new SessionRequestError('isosession: invalid value for param "cart"', { code: 'BAD_REQUEST', param: 'cart', issues: [{ message: 'bad', path: [0] }] });

describe('createSessionStore (vanilla, no React)', () => {
  it('imports no React', () => {
    const source = readFileSync(new URL('./store.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/from ['"]react/);
    expect(source).toMatch(/from 'zustand\/vanilla'/);
  });

  it('is ready at once with an initial snapshot, loading without', () => {
    const { transport } = manualTransport();
    expect(createSessionStore({ transport, initial: snapshot(1) }).getState()).toMatchObject({ status: 'ready', params: { theme: 'light' } });
    expect(createSessionStore({ transport }).getState()).toMatchObject({ status: 'loading', server: null });
  });

  it('applies a write synchronously, then takes the server value when it answers', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1) });
    store.set('theme', 'dark');
    expect(store.getState().params.theme).toBe('dark');
    expect(store.getState().pending.theme).toBe(true);
    expect(t.of('set')[0]!.args).toEqual(['theme', 'dark']);
    t.of('set')[0]!.resolve(snapshot(2, { theme: 'dark' }));
    await t.flush();
    expect(store.getState()).toMatchObject({ params: { theme: 'dark' }, pending: {}, server: { version: 2 } });
  });

  it('coalesces rapid writes to one param: one in flight, then only the latest value', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1) });
    for (let i = 0; i < 10; i++) store.set('counter', (c) => c + 1);
    expect(store.getState().params.counter).toBe(10);
    expect(t.of('set').map((c) => c.args)).toEqual([['counter', 1]]);
    t.of('set')[0]!.resolve(snapshot(2, { counter: 1 }));
    await t.flush();
    // The answer for 1 does not undo the 9 writes after it.
    expect(store.getState().params.counter).toBe(10);
    expect(t.of('set').map((c) => c.args)).toEqual([['counter', 1], ['counter', 10]]);
    t.of('set')[1]!.resolve(snapshot(3, { counter: 10 }));
    await store.settled();
    expect(store.getState()).toMatchObject({ params: { counter: 10 }, pending: {} });
  });

  it('sends writes to different params independently (one in flight per param)', () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1) });
    store.set('theme', 'dark');
    store.set('counter', 1);
    store.set('counter', 2);
    expect(t.of('set').map((c) => c.args)).toEqual([['theme', 'dark'], ['counter', 1]]);
  });

  it('rolls a refused write back to the server value and exposes the error, other params untouched', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1, { cart: [{ sku: 'tea' }] }) });
    store.set('cart', (c) => [...c, { sku: '' }]);
    store.set('theme', 'dark');
    t.of('set')[0]!.reject(refused());
    await t.flush();
    const state = store.getState();
    expect(state.params.cart).toEqual([{ sku: 'tea' }]);
    expect(state.errors.cart).toMatchObject({ code: 'BAD_REQUEST', param: 'cart' });
    expect(state.pending).toEqual({ theme: true });
    expect(state.params.theme).toBe('dark');
    // The next write clears the error.
    store.set('cart', []);
    expect(store.getState().errors).toEqual({});
  });

  it('does not roll back when a newer write to that param started meanwhile', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1) });
    store.set('cart', [{ sku: '' }]);
    store.set('cart', [{ sku: 'tea' }]);
    t.of('set')[0]!.reject(refused());
    await t.flush();
    expect(store.getState().params.cart).toEqual([{ sku: 'tea' }]);
    expect(store.getState().errors).toEqual({});
    expect(t.of('set')[1]!.args).toEqual(['cart', [{ sku: 'tea' }]]);
    t.of('set')[1]!.resolve(snapshot(2, { cart: [{ sku: 'tea' }] }));
    await store.settled();
    expect(store.getState()).toMatchObject({ params: { cart: [{ sku: 'tea' }] }, pending: {}, errors: {} });
  });

  it('reconciles by version: an older snapshot is ignored, a newer one taken (under pending writes)', () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(5) });
    expect(store.receive(snapshot(4, { theme: 'dark' }))).toBe(false);
    expect(store.getState().params.theme).toBe('light');
    store.set('counter', 7);
    expect(store.receive(snapshot(6, { theme: 'dark', counter: 1 }))).toBe(true);
    expect(store.getState().params).toMatchObject({ theme: 'dark', counter: 7 });
  });

  it('keeps the old reference of an unchanged param, so selectors see no change', () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1, { cart: [{ sku: 'tea' }] }) });
    const cart = store.getState().params.cart;
    store.receive(snapshot(2, { cart: [{ sku: 'tea' }], theme: 'dark' }));
    expect(store.getState().params.cart).toBe(cart);
    const state = store.getState();
    store.receive(snapshot(2, { cart: [{ sku: 'tea' }], theme: 'dark' }));
    expect(store.getState()).toBe(state);
  });

  it('refresh is single-flight', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport });
    const refreshes = [store.refresh(), store.refresh(), store.refresh()];
    expect(t.of('get')).toHaveLength(1);
    t.of('get')[0]!.resolve(snapshot(1));
    await Promise.all(refreshes);
    expect(store.getState().status).toBe('ready');
    void store.refresh();
    expect(t.of('get')).toHaveLength(2);
  });

  it('a failed first load is status error; ready() settles either way and is a stable thenable', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport });
    const ready = store.ready();
    expect(store.ready()).toBe(ready);
    expect(t.of('get')).toHaveLength(1);
    t.of('get')[0]!.reject(new SessionRequestError('down', { code: 'SERVICE_UNAVAILABLE' }));
    await ready;
    expect(store.getState()).toMatchObject({ status: 'error', error: { code: 'SERVICE_UNAVAILABLE' } });
    expect((ready as unknown as { status: string }).status).toBe('fulfilled');
  });

  it('destroy moves to the fresh session; answers about the old one are ignored', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(3, { theme: 'dark' }, 'old'.padEnd(32, '0')) });
    store.set('counter', 1);
    const destroyed = store.destroy();
    expect(store.getState().pending).toEqual({});
    t.of('destroy')[0]!.resolve({ ...snapshot(1, {}, 'new'.padEnd(32, '0')), isNew: true });
    await destroyed;
    t.of('set')[0]!.resolve(snapshot(4, { theme: 'dark', counter: 1 }, 'old'.padEnd(32, '0')));
    await t.flush();
    expect(store.getState().server?.tag).toBe('new'.padEnd(32, '0'));
    expect(store.getState().params).toMatchObject({ theme: 'light', counter: 0 });
    expect(store.receive(snapshot(9, {}, 'old'.padEnd(32, '0')), 'peer')).toBe(false);
  });

  it('clear waits behind an in-flight write to the same param and ends at the server default', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1) });
    store.set('theme', 'dark');
    store.clear(['theme']);
    expect(t.calls.map((c) => c.op)).toEqual(['set']);
    t.of('set')[0]!.resolve(snapshot(2, { theme: 'dark' }));
    await t.flush();
    expect(t.of('clear')[0]!.args).toEqual([['theme']]);
    expect(store.getState().pending.theme).toBe(true);
    t.of('clear')[0]!.resolve(snapshot(3, { theme: 'light' }));
    await store.settled();
    expect(store.getState()).toMatchObject({ params: { theme: 'light' }, pending: {} });
  });

  it('a CONFLICT (the session ended elsewhere) rolls back and refreshes', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1) });
    store.set('theme', 'dark');
    t.of('set')[0]!.reject(new SessionRequestError('gone', { code: 'CONFLICT' }));
    await t.flush();
    expect(store.getState().params.theme).toBe('light');
    expect(t.of('get')).toHaveLength(1);
  });

  it('holds writes until the first snapshot (no cookie yet: parallel writes would each make a session)', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport });
    store.set('theme', 'dark');
    store.set('counter', 1);
    expect(t.of('set')).toHaveLength(0);
    expect(t.of('get')).toHaveLength(1);
    t.of('get')[0]!.resolve(snapshot(1));
    await t.flush();
    expect(t.of('set').map((c) => c.args)).toEqual([['theme', 'dark'], ['counter', 1]]);
    expect(store.getState().params).toMatchObject({ theme: 'dark', counter: 1 });
  });

  it('tells onConfirmed listeners about server answers, not about snapshots from peers', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1) });
    const confirmed: number[] = [];
    store.onConfirmed((s) => confirmed.push(s.version));
    store.receive(snapshot(2), 'peer');
    store.receive(snapshot(3), 'server');
    store.set('theme', 'dark');
    t.of('set')[0]!.resolve(snapshot(4, { theme: 'dark' }));
    await store.settled();
    expect(confirmed).toEqual([3, 4]);
  });
});
