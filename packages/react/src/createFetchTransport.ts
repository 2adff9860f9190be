import type { SessionErrorData } from '@isosession/core';
import superjson from 'superjson';
import type { SessionSnapshot } from '@isosession/core';
import { SessionRequestError } from './SessionRequestError.js';
import type { SessionTransport, WatchHandlers } from './transport.js';

export interface FetchTransportOptions {
  /** Where the session router is served, e.g. `/api/session`. */
  url: string;
  /** For runtimes without a global fetch, or tests. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** For runtimes without a global EventSource (React Native, tests); none: no live updates. */
  EventSource?: new (url: string, init?: EventSourceInit) => EventSourceLike;
}

/** The part of an EventSource this transport uses. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
  close(): void;
}

interface ErrorShape {
  message?: string;
  data?: Partial<SessionErrorData> & { code?: string };
}

const CLOSED = 2;

/** tRPC's JSON-RPC error codes for HTTP statuses the router may answer without a body. */
function codeOfStatus(status: number): string {
  if (status === 400) return 'BAD_REQUEST';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 503) return 'SERVICE_UNAVAILABLE';
  return status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'NETWORK';
}

function errorFromShape(shape: ErrorShape, status: number): SessionRequestError {
  return new SessionRequestError(shape.message ?? `isosession: the session router answered ${status}`, {
    code: shape.data?.code ?? codeOfStatus(status),
    param: shape.data?.param,
    issues: shape.data?.issues,
    sessionCode: shape.data?.sessionCode,
  });
}

/**
 * Talks to the session router with plain fetch + EventSource, following tRPC's HTTP RPC
 * format (GET queries, POST mutations, superjson bodies, SSE subscriptions), so the browser
 * needs no tRPC client: what `<SessionProvider url>` uses. Calls are not batched; the store
 * holds writes until the first snapshot (and so the cookie) exists.
 */
export function createFetchTransport<P extends Record<string, unknown>>(options: FetchTransportOptions): SessionTransport<P> {
  const base = options.url.replace(/\/+$/, '');
  const send = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));

  async function call<T>(procedure: string, input?: unknown): Promise<T> {
    const mutation = procedure !== 'get';
    let response: Response;
    try {
      response = await send(`${base}/${procedure}`, {
        method: mutation ? 'POST' : 'GET',
        credentials: 'same-origin',
        headers: mutation ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
        ...(mutation ? { body: JSON.stringify(superjson.serialize(input ?? null)) } : {}),
      });
    } catch (cause) {
      throw new SessionRequestError(`isosession: ${procedure} did not reach the server (${cause instanceof Error ? cause.message : String(cause)})`, { code: 'NETWORK', cause });
    }
    let body: { result?: { data?: unknown }; error?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch (cause) {
      throw new SessionRequestError(`isosession: ${procedure} answered ${response.status} without a tRPC response; is the session router served at ${base}?`, {
        code: codeOfStatus(response.status),
        cause,
      });
    }
    if (body.error !== undefined) throw errorFromShape(superjson.deserialize(body.error as never) as ErrorShape, response.status);
    return superjson.deserialize(body.result?.data as never) as T;
  }

  function watch(handlers: WatchHandlers<P>): () => void {
    const EventSourceClass = options.EventSource ?? (typeof EventSource === 'undefined' ? undefined : EventSource);
    if (!EventSourceClass) return () => undefined;
    let source: EventSourceLike | undefined;
    let stopped = false;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let idleMs = 0;

    // The server pings; a stream silent for twice the ping interval is stuck (a proxy
    // holding it), so it is reopened, as tRPC's own client does.
    const arm = () => {
      clearTimeout(idleTimer);
      if (idleMs > 0 && !stopped) idleTimer = setTimeout(open, idleMs);
    };
    const stop = () => {
      stopped = true;
      clearTimeout(idleTimer);
      source?.close();
    };

    function open(): void {
      source?.close();
      const current = new EventSourceClass!(`${base}/watch`, { withCredentials: true });
      source = current;
      const live = (listener: (event: { data?: unknown }) => void) => (event: { data?: unknown }) => {
        if (!stopped && source === current) listener(event);
      };
      current.addEventListener('connected', live((event) => {
        try {
          idleMs = Number((JSON.parse(String(event.data)) as { reconnectAfterInactivityMs?: number }).reconnectAfterInactivityMs) || 0;
        } catch {
          idleMs = 0;
        }
        arm();
      }));
      current.addEventListener('ping', live(arm));
      current.addEventListener('message', live((event) => {
        arm();
        handlers.onSnapshot(superjson.deserialize(JSON.parse(String(event.data))) as SessionSnapshot<P>);
      }));
      current.addEventListener('return', live(() => {
        stop();
        handlers.onEnd();
      }));
      current.addEventListener('serialized-error', live((event) => {
        stop();
        handlers.onError(errorFromShape(superjson.deserialize(JSON.parse(String(event.data))) as ErrorShape, 0));
      }));
      current.addEventListener('error', live(() => {
        // While CONNECTING the browser reconnects by itself (the server re-sends the snapshot).
        if (current.readyState !== CLOSED) return;
        stop();
        handlers.onError(new SessionRequestError('isosession: the watch stream closed', { code: 'NETWORK' }));
      }));
    }

    open();
    return stop;
  }

  return {
    get: () => call('get'),
    set: (name, value) => call('set', { name, value }),
    clear: (names) => call('clear', { names }),
    destroy: () => call('destroy'),
    watch,
  };
}
