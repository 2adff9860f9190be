import type { SessionSnapshot } from '@isosession/core';
import type { SessionStore } from './store.js';
import type { SessionTransport } from './transport.js';

// The ways a store stays in step with the server and the other tabs. Each returns the
// function that stops it; no React here, the provider starts them in an effect.

type AnyStore = SessionStore<Record<string, unknown>, string>;

/** Minimal BroadcastChannel (the DOM's, Node's, or a test double). */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

interface SnapshotMessage {
  type: 'isosession:snapshot';
  snapshot: SessionSnapshot;
}

function isSnapshotMessage(data: unknown): data is SnapshotMessage {
  return typeof data === 'object' && data !== null && (data as SnapshotMessage).type === 'isosession:snapshot';
}

/**
 * Tabs of one browser share the cookie, hence the session: each snapshot the server confirms
 * to this tab is posted to the others, which keep it if it is newer (by `version`).
 */
export function connectBroadcast(store: AnyStore, channel: BroadcastChannelLike): () => void {
  const onMessage = (event: { data: unknown }) => {
    if (isSnapshotMessage(event.data)) store.receive(event.data.snapshot as SessionSnapshot<Record<string, unknown>>, 'peer');
  };
  channel.addEventListener('message', onMessage);
  const stopConfirmed = store.onConfirmed((snapshot) => {
    try {
      channel.postMessage({ type: 'isosession:snapshot', snapshot } satisfies SnapshotMessage);
    } catch {
      // A value structured clone cannot copy: the other tabs catch up through watch/refresh.
    }
  });
  return () => {
    stopConfirmed();
    channel.removeEventListener('message', onMessage);
    channel.close();
  };
}

/**
 * Follows the server's `watch` stream for the current session; re-subscribes when its tag
 * changes (logout, expiry). A stream that ends after it was live (session deleted, server
 * time limit) triggers one refresh, at most once a second.
 */
export function connectWatch(store: AnyStore, transport: SessionTransport<Record<string, unknown>>): () => void {
  if (!transport.watch) return () => undefined;
  const watch = transport.watch.bind(transport);
  let watchedTag: string | undefined;
  let stop: (() => void) | undefined;
  let lastStart = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const start = () => {
    const tag = store.getState().server?.tag;
    if (closed || tag === undefined || tag === watchedTag) return;
    stop?.();
    watchedTag = tag;
    lastStart = Date.now();
    let live = false;
    stop = watch({
      onSnapshot(snapshot) {
        live = true;
        store.receive(snapshot, 'server');
      },
      onEnd() {
        watchedTag = undefined;
        if (!live || closed) return;
        const wait = Math.max(0, 1000 - (Date.now() - lastStart));
        retryTimer = setTimeout(() => void store.refresh().then(start), wait);
      },
      onError() {
        // Not retryable (tRPC retries 5xx itself): stay on refresh-on-focus and writes.
      },
    });
  };

  start();
  const unsubscribe = store.subscribe((state, previous) => {
    if (state.server?.tag !== previous.server?.tag) start();
  });
  return () => {
    closed = true;
    unsubscribe();
    clearTimeout(retryTimer);
    stop?.();
  };
}

/** Minimal window for focus refresh (the DOM's, or a test double). */
export interface FocusTarget {
  addEventListener(type: 'focus' | 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'focus' | 'visibilitychange', listener: () => void): void;
}

/**
 * Refreshes when the tab comes back (focus, or visible again). `refresh()` is single-flight,
 * so a focus storm costs one request (peers' hooks are known for refetch storms).
 */
export function connectFocusRefresh(store: AnyStore, target: FocusTarget, isVisible: () => boolean = () => true): () => void {
  const onFocus = () => {
    if (isVisible()) void store.refresh();
  };
  target.addEventListener('focus', onFocus);
  target.addEventListener('visibilitychange', onFocus);
  return () => {
    target.removeEventListener('focus', onFocus);
    target.removeEventListener('visibilitychange', onFocus);
  };
}

// setTimeout fires at once for delays beyond 2^31-1 ms (~24.8 days).
const MAX_TIMEOUT = 2_147_483_647;

/**
 * Server-side expiry reaches the hooks without a reload: a refresh is scheduled for the
 * earliest `expiresAt` / `paramExpiresAt` of the current snapshot, counted from its `atime`
 * (the server's "now" when it was taken), 2 s late, so that it finds the session already
 * expired rather than touching (extending) it.
 */
export function connectExpiryRefresh(store: AnyStore): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let scheduledFor: number | undefined;
  const schedule = () => {
    const server = store.getState().server;
    const instants = server ? [server.expiresAt, ...Object.values(server.paramExpiresAt)].filter((at): at is number => typeof at === 'number') : [];
    const next = instants.length > 0 ? Math.min(...instants) : undefined;
    if (next === scheduledFor) return;
    clearTimeout(timer);
    scheduledFor = next;
    if (next === undefined || !server) return;
    // Relative to the server's own clock: the client's may be off by any amount. A snapshot
    // that sat in a page for a while only makes the refresh later, never earlier.
    const delay = Math.min(MAX_TIMEOUT, Math.max(0, (next + 2 - server.atime) * 1000));
    timer = setTimeout(() => {
      scheduledFor = undefined;
      void store.refresh();
    }, delay);
  };
  schedule();
  const unsubscribe = store.subscribe((state, previous) => {
    if (state.server !== previous.server) schedule();
  });
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}
