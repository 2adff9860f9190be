import { describe, expect, it } from 'vitest';
import type { SessionSnapshot } from '@isosession/core';
import { SessionRequestError } from './SessionRequestError.js';
import { createSessionStore } from './store.js';
import type { SessionTransport } from './transport.js';

// A write sent with the cookie a login (or logout) in another request then replaced is
// refused STALE; the browser holds the newer cookie, so the store sends it once more.

type Params = { cart: string[]; theme: 'light' | 'dark'; user: string | null };
type Snapshot = SessionSnapshot<Params>;
const BEFORE = 'a'.repeat(22);
const AFTER = 'b'.repeat(22);

function snapshot(version: number, params: Partial<Params> = {}, tag = BEFORE): Snapshot {
  return { tag, params: { cart: [], theme: 'light', user: null, ...params }, version, ctime: 1000, atime: 1000 + version, expiresAt: null, paramExpiresAt: {}, isNew: false };
}

interface Call {
  op: string;
  args: unknown[];
  resolve(snapshot: Snapshot): void;
  reject(error: unknown): void;
}

function manualTransport() {
  const calls: Call[] = [];
  const call = (op: string, ...args: unknown[]) => new Promise<Snapshot>((resolve, reject) => calls.push({ op, args, resolve, reject }));
  const transport: SessionTransport<Params> = {
    get: () => call('get'),
    set: (name, value) => call('set', name, value),
    clear: (names) => call('clear', names),
    destroy: () => call('destroy'),
  };
  const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { transport, calls, flush, of: (op: string) => calls.filter((c) => c.op === op) };
}

const stale = () => new SessionRequestError('isosession: this request carried a session cookie that a login or logout replaced moments ago; retry with the current cookie', { code: 'CONFLICT', sessionCode: 'STALE' });

describe('createSessionStore: a write refused as STALE', () => {
  it('keeps the optimistic value, waits for the new session (the re-rendered page), then retries once and lands', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1), staleRetryMs: 60_000 });
    store.set('cart', ['mug']);
    t.of('set')[0]!.reject(stale());
    await t.flush();
    // Not retried yet: the browser may still hold the old cookie.
    expect(t.of('set')).toHaveLength(1);
    expect(store.getState()).toMatchObject({ params: { cart: ['mug'] }, pending: { cart: true }, errors: {} });
    // The login's page arrives with the new session's snapshot.
    store.receive(snapshot(3, { user: 'erin' }, AFTER), 'server');
    await t.flush();
    expect(t.of('set')).toHaveLength(2);
    expect(t.of('set')[1]!.args).toEqual(['cart', ['mug']]);
    expect(store.getState().params).toMatchObject({ cart: ['mug'], user: 'erin' });
    t.of('set')[1]!.resolve(snapshot(4, { user: 'erin', cart: ['mug'] }, AFTER));
    await t.flush();
    expect(store.getState()).toMatchObject({ params: { cart: ['mug'], user: 'erin' }, pending: {}, errors: {}, server: { tag: AFTER, version: 4 } });
  });

  it('retries at once when the new session arrived before the refusal did', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1), staleRetryMs: 60_000 });
    store.set('theme', 'dark');
    store.receive(snapshot(3, { user: 'erin' }, AFTER), 'peer');
    t.of('set')[0]!.reject(stale());
    await t.flush();
    expect(t.of('set')).toHaveLength(2);
  });

  it('retries after staleRetryMs when no new session shows (a login through a plain route)', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1), staleRetryMs: 20 });
    store.set('theme', 'dark');
    t.of('set')[0]!.reject(stale());
    await t.flush();
    expect(t.of('set')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(t.of('set')).toHaveLength(2);
    expect(store.getState().params.theme).toBe('dark');
  });

  it('a second STALE is final: the write rolls back and surfaces the error', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1), staleRetryMs: 0 });
    store.set('cart', ['mug']);
    t.of('set')[0]!.reject(stale());
    await t.flush();
    await t.flush();
    t.of('set')[1]!.reject(stale());
    await t.flush();
    expect(t.of('set')).toHaveLength(2);
    expect(store.getState().params.cart).toEqual([]);
    expect(store.getState().pending).toEqual({});
    expect(store.getState().errors.cart?.sessionCode).toBe('STALE');
  });

  it('other refusals are not retried', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1), staleRetryMs: 0 });
    store.set('cart', ['mug']);
    t.of('set')[0]!.reject(new SessionRequestError('gone', { code: 'CONFLICT', sessionCode: 'GONE' }));
    await t.flush();
    await t.flush();
    expect(t.of('set')).toHaveLength(1);
    expect(store.getState().params.cart).toEqual([]);
  });

  it('a refresh (get) and a destroy refused as STALE are retried once too', async () => {
    const t = manualTransport();
    const store = createSessionStore({ transport: t.transport, initial: snapshot(1), staleRetryMs: 0 });
    const refreshed = store.refresh();
    t.of('get')[0]!.reject(stale());
    await t.flush();
    await t.flush();
    t.of('get')[1]!.resolve(snapshot(2, { user: 'erin' }, AFTER));
    await refreshed;
    expect(store.getState()).toMatchObject({ status: 'ready', error: null, params: { user: 'erin' } });
    const destroyed = store.destroy();
    t.of('destroy')[0]!.reject(stale());
    await t.flush();
    await t.flush();
    t.of('destroy')[1]!.resolve(snapshot(1, {}, 'c'.repeat(22)));
    await destroyed;
    expect(store.getState().server?.tag).toBe('c'.repeat(22));
  });
});
