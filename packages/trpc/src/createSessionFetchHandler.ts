import { TRPCError } from '@trpc/server';
import type { AnyTRPCRouter } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { SessionError } from '@isosession/core';
import { DEFAULT_MAX_BODY_BYTES, limitRequestBody } from '@isosession/server/fetch';
import { createSessionContext } from './createSessionContext.js';

export interface SessionFetchHandlerOptions {
  /** Where the router is mounted, e.g. `/api/session`. */
  endpoint: string;
  /**
   * Largest request body read, in bytes: counted while it is read (a chunked body has no
   * length to check first); past it the call answers 413 (PAYLOAD_TOO_LARGE) and the rest is
   * never read. `false`: no limit. @default 100_000
   */
  maxBodyBytes?: number | false;
  /** The client's address, for `sessionParams.ipMatch` (a Request carries none). */
  remoteAddr?: (request: Request) => string | undefined;
}

/**
 * Serves a session router from any fetch runtime (Next.js route handlers, Hono, Bun, Deno,
 * Cloudflare): tRPC's fetch adapter with the session context, a request body limit, and the
 * client address. State-changing calls check the Origin before their body is read.
 */
export function createSessionFetchHandler<TRouter extends AnyTRPCRouter>(
  router: TRouter,
  options: SessionFetchHandlerOptions,
): (request: Request) => Promise<Response> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (maxBodyBytes !== false && (typeof maxBodyBytes !== 'number' || !(maxBodyBytes >= 0))) {
    throw new SessionError('INVALID_ARGUMENT', `createSessionFetchHandler: maxBodyBytes must be a number of bytes >= 0 or false, got ${String(maxBodyBytes)}`);
  }
  const tooLarge = () =>
    new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `isosession: the request body is larger than ${String(maxBodyBytes)} bytes; nothing was read past the limit` });
  return (request) => {
    const limited = maxBodyBytes === false ? request : limitRequestBody(request, maxBodyBytes, tooLarge);
    return fetchRequestHandler({
      endpoint: options.endpoint,
      req: limited,
      router,
      createContext: ({ req, resHeaders }) => createSessionContext({ req, resHeaders, remoteAddr: options.remoteAddr?.(request) }),
    });
  };
}
