import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import superjson from 'superjson';
import type { SessionTrpcClient } from './createTrpcTransport.js';

export interface SessionClientOptions {
  /** Where the session router is served, e.g. `/api/session`. */
  url: string;
  /** For runtimes without a global fetch, or tests. */
  fetch?: typeof fetch;
  /** For runtimes without a global EventSource (React Native, tests). */
  EventSource?: typeof EventSource | (new (url: string, init?: EventSourceInit) => unknown);
}

/**
 * A tRPC client for the session router alone: batched queries and mutations, `watch` over
 * server-sent events, superjson (as the router). Pass it as `<SessionProvider client>` (with
 * `createTrpcTransport`) to share one tRPC client with the rest of an app; `<SessionProvider url>`
 * needs none (it uses `createFetchTransport`).
 */
export function createSessionClient(options: SessionClientOptions): SessionTrpcClient {
  const { url } = options;
  const client = createTRPCClient({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          ...(options.EventSource ? { EventSource: options.EventSource as typeof EventSource } : {}),
        }),
        false: httpBatchLink({ url, transformer: superjson, ...(options.fetch ? { fetch: options.fetch } : {}) }),
      }),
    ],
  });
  return client as unknown as SessionTrpcClient;
}
