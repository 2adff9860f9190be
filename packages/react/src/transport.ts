import type { SessionSnapshot } from '@isosession/core';
import type { SessionRequestError } from './SessionRequestError.js';

// What the store needs from the network, apart from the store itself: the transports
// (createFetchTransport, createTrpcTransport) implement it and never import the store.

/** Handlers for a live subscription to the session's changes. */
export interface WatchHandlers<P extends Record<string, unknown>> {
  onSnapshot(snapshot: SessionSnapshot<P>): void;
  /** The server ended the stream (the session was deleted, or the stream timed out). */
  onEnd(): void;
  onError(error: SessionRequestError): void;
}

/** How the store talks to the server: the session router's procedures. */
export interface SessionTransport<P extends Record<string, unknown>> {
  get(): Promise<SessionSnapshot<P>>;
  set(name: string, value: unknown): Promise<SessionSnapshot<P>>;
  clear(names: string[]): Promise<SessionSnapshot<P>>;
  destroy(): Promise<SessionSnapshot<P>>;
  /** Optional: server-sent snapshots. Returns the function that stops it. */
  watch?(handlers: WatchHandlers<P>): () => void;
}
