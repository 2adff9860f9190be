import type { AnyTRPCRouter } from '@trpc/server';
import { createSessionFetchHandler } from '@isosession/trpc';
import type { SessionFetchHandlerOptions } from '@isosession/trpc';

export interface SessionRouteHandlerOptions extends SessionFetchHandlerOptions {
  /** Where the route is mounted: `/api/session` for `app/api/session/[trpc]/route.ts`. */
  endpoint: string;
  /**
   * The client's address, for `sessionParams.ipMatch`: a Request carries none. With
   * `sessionParams.trustProxy` the router takes X-Forwarded-For's first hop without it. With
   * ipMatch on and no address, every call fails (`INVALID_ARGUMENT`) instead of skipping the check.
   */
  remoteAddr?: (request: Request) => string | undefined;
  /**
   * Largest request body read, in bytes, counted while it is read; past it 413 and the rest
   * is never read. `false`: no limit. @default 100_000
   */
  maxBodyBytes?: number | false;
}

/**
 * Serves a session router (`createSessionRouter`) from a Next.js route handler:
 *
 * ```ts
 * // app/api/session/[trpc]/route.ts
 * const handler = createSessionRouteHandler(sessionRouter, { endpoint: '/api/session' });
 * export { handler as GET, handler as POST };
 * export const dynamic = 'force-dynamic';
 * ```
 * Queries, mutations and the `watch` stream (server-sent events) go through tRPC's fetch
 * adapter (`createSessionFetchHandler`); the router reads the cookie from the request and
 * sets it on the response. Request bodies over 100 kB are refused with 413 as they are read.
 */
export function createSessionRouteHandler<TRouter extends AnyTRPCRouter>(
  router: TRouter,
  options: SessionRouteHandlerOptions,
): (request: Request) => Promise<Response> {
  return createSessionFetchHandler(router, options);
}
