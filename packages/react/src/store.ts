import { createStore } from 'zustand/vanilla';
import type { StoreApi } from 'zustand/vanilla';
import type { SessionSnapshot } from '@isosession/core';
import { equalValues } from './equalValues.js';

// The browser's copy of a session, framework-free (no React here: H1, H9 in docs/design.md).
// Optimistic writes: snapshot → apply → send in order → reconcile by `version`, or roll the
// one param back when the server refuses and no newer write to it has started meanwhile.

export type SessionStatus = 'loading' | 'ready' | 'error';

/** A value, or a function of the value currently shown (optimistic writes included). */
export type Updater<T> = T | ((previous: T) => T);

import { SessionRequestError } from './SessionRequestError.js';
import type { SessionTransport } from './transport.js';

// `@isosession/react/store` is this file: what a framework other than React needs with it.
export { SessionRequestError } from './SessionRequestError.js';
export type { SessionTransport, WatchHandlers } from './transport.js';
export type { SessionIssue } from '@isosession/core';

type Name<P> = keyof P & string;

export interface SessionState<P extends Record<string, unknown>> {
  /** `ready` once a snapshot is known (at once with `initial`); `error` if the first load failed. */
  status: SessionStatus;
  /** The newest snapshot the server confirmed. */
  server: SessionSnapshot<P> | null;
  /** What to show: the server's params with this tab's unconfirmed writes applied. */
  params: P;
  /** Params with a write queued or in flight. */
  pending: Partial<Record<Name<P>, true>>;
  /** Params whose last write was refused (and rolled back). Cleared by the next write. */
  errors: Partial<Record<Name<P>, SessionRequestError>>;
  /** The last failed load, refresh or destroy. */
  error: SessionRequestError | null;
}

export type ReadonlySessionStoreApi<P extends Record<string, unknown>> = Pick<StoreApi<SessionState<P>>, 'getState' | 'getInitialState' | 'subscribe'>;

export interface SessionStore<P extends Record<string, unknown>, W extends Name<P> = Name<P>> extends ReadonlySessionStoreApi<P> {
  /** Shows the value at once, then sends it (coalesced, one request per param at a time). */
  set<N extends W>(name: N, value: Updater<P[N]>): void;
  /** Clears params on the server (they return to their defaults); queued behind their writes. */
  clear(names: W | readonly W[]): void;
  /** Ends the session on the server; the store moves to the fresh session it returns. */
  destroy(): Promise<void>;
  /** Fetches the snapshot; concurrent calls share one request (single-flight). */
  refresh(): Promise<void>;
  /** Takes a snapshot from elsewhere (watch, another tab): kept only if newer. True if taken. */
  receive(snapshot: SessionSnapshot<P>, from?: 'server' | 'peer'): boolean;
  /** Resolves once no write is queued or in flight. */
  settled(): Promise<void>;
  /**
   * Resolves once the first snapshot is known (or the first load failed); starts that load
   * if nothing has. The same promise until then, so React's `use()` can suspend on it.
   */
  ready(): Promise<void>;
  /** Called with each snapshot the server confirmed to this store (not ones from peers). */
  onConfirmed(listener: (snapshot: SessionSnapshot<P>) => void): () => void;
}

export interface SessionStoreOptions<P extends Record<string, unknown>> {
  transport: SessionTransport<P>;
  /** The snapshot the server rendered with: the store is `ready` at once (no loading flash). */
  initial?: SessionSnapshot<P> | null;
  /**
   * A request refused as `STALE` (a login or logout in another request replaced the cookie it
   * carried) is sent once more when this store moves to the new session (the re-rendered
   * page's snapshot, another tab's), or after this many milliseconds at most. @default 1500
   */
  staleRetryMs?: number;
}

/** One param's write queue. */
interface Lane {
  /** Number of the newest local write (set or clear) to this param. */
  seq: number;
  inFlight: boolean;
  /** What to send next: the latest local value, or a clear. */
  queued: 'set' | 'clear' | null;
}

export function toRequestError(error: unknown): SessionRequestError {
  if (error instanceof SessionRequestError) return error;
  return new SessionRequestError(error instanceof Error ? error.message : String(error), { cause: error });
}

/** A vanilla zustand store holding one session's public params; one per provider. */
export function createSessionStore<P extends Record<string, unknown>, W extends Name<P> = Name<P>>(
  options: SessionStoreOptions<P>,
): SessionStore<P, W> {
  const { transport } = options;
  const initial = options.initial ?? null;
  const api = createStore<SessionState<P>>()(() => ({
    status: initial ? 'ready' : 'loading',
    server: initial,
    params: (initial ? initial.params : {}) as P,
    pending: {},
    errors: {},
    error: null,
  }));

  /** Unconfirmed values, shown instead of the server's until their write settles. */
  const local = new Map<string, unknown>();
  let lanes = new Map<string, Lane>();
  /** Bumped by destroy(): answers to writes sent before it are ignored. */
  let epoch = 0;
  /** Ids this store moved away from: late answers about them are ignored. */
  const retired = new Set<string>();
  const confirmedListeners = new Set<(snapshot: SessionSnapshot<P>) => void>();
  /** Stale requests waiting for the store to move to another session before their retry. */
  const movedWaiters = new Set<() => void>();
  const staleRetryMs = options.staleRetryMs ?? 1500;
  const settledWaiters = new Set<() => void>();
  let refreshing: Promise<void> | null = null;
  // React's use() reads `status` on a thenable to skip suspending on a settled one, so ready()
  // returns one object per state: the pending promise, then the same one marked fulfilled.
  let readyPromise: (Promise<void> & { status?: 'pending' | 'fulfilled'; value?: undefined }) | null = null;
  let resolveReady: (() => void) | undefined;
  const settleReady = () => {
    if (readyPromise) {
      readyPromise.status = 'fulfilled';
      readyPromise.value = undefined;
    }
    resolveReady?.();
    resolveReady = undefined;
  };

  const lane = (name: string): Lane => {
    let found = lanes.get(name);
    if (!found) lanes.set(name, (found = { seq: 0, inFlight: false, queued: null }));
    return found;
  };

  const isSettled = () => [...lanes.values()].every((l) => !l.inFlight && l.queued === null);
  const notifySettled = () => {
    if (!isSettled()) return;
    for (const resolve of [...settledWaiters]) resolve();
    settledWaiters.clear();
  };

  /** The shown params: server values (old references kept when equal) under local writes. */
  function merge(serverParams: P, previous: P): P {
    const next: Record<string, unknown> = {};
    for (const name of Object.keys(serverParams)) {
      const value = local.has(name) ? local.get(name) : serverParams[name];
      next[name] = Object.hasOwn(previous, name) && equalValues(previous[name], value) ? previous[name] : value;
    }
    for (const name of local.keys()) if (!Object.hasOwn(next, name)) next[name] = local.get(name);
    const keys = Object.keys(next);
    const unchanged = keys.length === Object.keys(previous).length && keys.every((name) => Object.is(next[name], previous[name]));
    return unchanged ? previous : (next as P);
  }

  /** Takes a server snapshot if it is not older than what we have; true if taken. */
  function accept(snapshot: SessionSnapshot<P>, from: 'server' | 'peer'): boolean {
    const state = api.getState();
    const current = state.server;
    if (retired.has(snapshot.tag)) return false;
    if (current && current.tag === snapshot.tag && snapshot.version < current.version) return false;
    if (current && current.tag !== snapshot.tag) retired.add(current.tag);
    const server = current && current.tag === snapshot.tag && snapshot.version === current.version && equalSnapshots(current, snapshot) ? current : snapshot;
    const params = merge(snapshot.params, state.params);
    if (server !== current || params !== state.params || state.status !== 'ready' || state.error !== null) {
      api.setState({ server, params, status: 'ready', error: null });
    }
    settleReady();
    if (!current || current.tag !== snapshot.tag) for (const resume of [...movedWaiters]) resume();
    if (from === 'server') for (const listener of [...confirmedListeners]) listener(snapshot);
    if (current === null) for (const name of lanes.keys()) pump(name);
    return true;
  }

  function setFlag<K extends 'pending' | 'errors'>(key: K, name: string, value: SessionState<P>[K][Name<P>] | undefined): void {
    const current = api.getState()[key] as Record<string, unknown>;
    if (current[name] === value) return;
    const next = { ...current };
    if (value === undefined) delete next[name];
    else next[name] = value;
    api.setState({ [key]: next } as Partial<SessionState<P>>);
  }

  /** Shows the server's value for `name` again (after its write settled, or on rollback). */
  function showServerValue(name: string): void {
    local.delete(name);
    const state = api.getState();
    if (!state.server) return;
    const params = merge(state.server.params, state.params);
    if (params !== state.params) api.setState({ params });
  }

  /** Resolves once the store holds a session other than `tag`, or after `staleRetryMs`. */
  function movedOn(tag: string | undefined): Promise<void> {
    if (api.getState().server?.tag !== tag) return Promise.resolve();
    return new Promise((resolve) => {
      const resume = () => {
        clearTimeout(timer);
        movedWaiters.delete(resume);
        resolve();
      };
      const timer = setTimeout(resume, staleRetryMs);
      movedWaiters.add(resume);
    });
  }

  /**
   * Sends a request; if the server calls its cookie stale (a login or logout replaced it while
   * the request was on its way), sends it once more when the browser holds the newer cookie.
   * The browser sends that cookie by itself; the store only waits until the new session shows
   * (a re-rendered page's snapshot, another tab's) or `staleRetryMs` passed. Meanwhile the
   * optimistic value stays; a second failure is final (the caller rolls back).
   */
  async function sendOnce<T>(request: () => Promise<T>): Promise<T> {
    const tag = api.getState().server?.tag;
    const sentEpoch = epoch;
    try {
      return await request();
    } catch (reason) {
      const error = toRequestError(reason);
      if (error.sessionCode !== 'STALE' || sentEpoch !== epoch) throw error;
      await movedOn(tag);
      if (sentEpoch !== epoch) throw error;
      return request();
    }
  }

  function pump(name: string): void {
    const l = lane(name);
    if (l.inFlight || l.queued === null) return;
    // Before the first snapshot there may be no session cookie yet: parallel writes would each
    // create a session. They wait for it (accept() pumps every lane).
    if (api.getState().server === null) {
      void store.refresh();
      return;
    }
    const op = l.queued;
    l.queued = null;
    l.inFlight = true;
    const sentSeq = l.seq;
    const sentEpoch = epoch;
    // A retry sends the value shown by then: the newest write to this param.
    const request = sendOnce(() => (op === 'set' ? transport.set(name, local.get(name)) : transport.clear([name])));
    request.then(
      (snapshot) => {
        l.inFlight = false;
        if (sentEpoch === epoch) {
          accept(snapshot, 'server');
          if (l.seq === sentSeq && l.queued === null) {
            setFlag('pending', name, undefined);
            showServerValue(name);
          }
          pump(name);
        }
        notifySettled();
      },
      (reason: unknown) => {
        l.inFlight = false;
        if (sentEpoch === epoch) {
          const error = toRequestError(reason);
          // Roll back only if no newer write to this param started meanwhile (H9 in docs/design.md):
          // a newer one is queued and its answer decides.
          if (l.seq === sentSeq && l.queued === null) {
            setFlag('pending', name, undefined);
            setFlag('errors', name, error);
            showServerValue(name);
          }
          // The session ended under us (logout elsewhere): move to whatever the cookie says now.
          if (error.code === 'CONFLICT') void store.refresh();
          pump(name);
        }
        notifySettled();
      },
    );
  }

  const store: SessionStore<P, W> = {
    getState: api.getState,
    getInitialState: api.getInitialState,
    subscribe: api.subscribe,

    set(name, value) {
      const state = api.getState();
      const previous = state.params[name];
      const next = typeof value === 'function' ? (value as (previous: P[typeof name]) => P[typeof name])(previous) : value;
      const l = lane(name);
      l.seq += 1;
      l.queued = 'set';
      local.set(name, next);
      const pending = state.pending[name] ? state.pending : { ...state.pending, [name]: true as const };
      const errors = state.errors[name] === undefined ? state.errors : omit(state.errors, name);
      api.setState({ params: { ...state.params, [name]: next }, pending, errors });
      pump(name);
    },

    clear(names) {
      const list: readonly string[] = typeof names === 'string' ? [names] : names;
      for (const name of list) {
        const l = lane(name);
        l.seq += 1;
        l.queued = 'clear';
        // The default lives on the server: show the server's value until the answer comes.
        local.delete(name);
        setFlag('pending', name, true);
        setFlag('errors', name, undefined);
        showServerValue(name);
        pump(name);
      }
    },

    async destroy() {
      epoch += 1;
      lanes = new Map();
      local.clear();
      api.setState({ pending: {}, errors: {} });
      notifySettled();
      try {
        accept(await sendOnce(() => transport.destroy()), 'server');
      } catch (reason) {
        const error = toRequestError(reason);
        api.setState({ error });
        throw error;
      }
    },

    refresh() {
      refreshing ??= sendOnce(() => transport.get())
        .then(
          (snapshot) => {
            accept(snapshot, 'server');
          },
          (reason: unknown) => {
            const error = toRequestError(reason);
            const state = api.getState();
            api.setState({ error, status: state.server ? state.status : 'error' });
            settleReady();
          },
        )
        .finally(() => {
          refreshing = null;
        });
      return refreshing;
    },

    receive(snapshot, from = 'server') {
      return accept(snapshot, from);
    },

    ready() {
      if (!readyPromise) {
        if (api.getState().status !== 'loading') {
          readyPromise = Object.assign(Promise.resolve(), { status: 'fulfilled' as const, value: undefined });
        } else {
          readyPromise = Object.assign(
            new Promise<void>((resolve) => {
              resolveReady = resolve;
            }),
            { status: 'pending' as const },
          );
          void store.refresh();
        }
      }
      return readyPromise;
    },

    settled() {
      if (isSettled()) return Promise.resolve();
      return new Promise((resolve) => settledWaiters.add(resolve));
    },

    onConfirmed(listener) {
      confirmedListeners.add(listener);
      return () => confirmedListeners.delete(listener);
    },
  };
  return store;
}

function omit<T extends object>(record: T, key: string): T {
  const copy = { ...record } as Record<string, unknown>;
  delete copy[key];
  return copy as T;
}

function equalSnapshots<P extends Record<string, unknown>>(a: SessionSnapshot<P>, b: SessionSnapshot<P>): boolean {
  return (
    a.atime === b.atime &&
    a.ctime === b.ctime &&
    a.expiresAt === b.expiresAt &&
    a.isNew === b.isNew &&
    equalValues(a.paramExpiresAt, b.paramExpiresAt) &&
    equalValues(a.params, b.params)
  );
}
