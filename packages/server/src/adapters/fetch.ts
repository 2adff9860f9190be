import '../builtins.js';
import { Session } from '../Session.js';
import { remoteAddressOf } from '../query.js';
import { bodyTooLargeError, declaredTooLarge, limitRequestBody } from './limitRequestBody.js';
import { STALE_BODY, commitSession, maxBodyBytesOf, sessionErrorStatus, sessionStart, tooLargeText } from './sessionResponse.js';
import type { AdapterOptions } from './sessionResponse.js';

export type { AdapterOptions } from './sessionResponse.js';
export { sessionErrorStatus } from './sessionResponse.js';
export { DEFAULT_MAX_BODY_BYTES, limitRequestBody } from './limitRequestBody.js';

/**
 * What a `withSession` handler's context gains. (`@isosession/trpc`'s `SessionContext` is
 * another thing: the tRPC context the session router runs in.)
 */
export interface WithSessionContext {
  session: Session;
}

export interface WithSessionOptions<C extends object = object> extends AdapterOptions {
  /**
   * The client's address (for `ipMatch` and `remoteAddr()`): a Request carries none, so take
   * it from your runtime, e.g. `(req, ctx) => ctx.remoteAddr`. With `sessionParams.trustProxy`
   * the first X-Forwarded-For hop wins.
   */
  remoteAddr?: (request: Request, ctx: C | undefined) => string | undefined;
  /**
   * Turns a session failure (loading or flushing: a store outage is a `SessionError` with
   * code `STORE_UNAVAILABLE`, see `sessionErrorStatus`) into a response. By default the
   * error is thrown to the caller (the framework's error handling); the handler's response
   * is never sent after a failed flush. Without `onError`, a `STALE` failure (the cookie names
   * a session that a login or logout replaced moments ago) is answered 409 with a JSON body
   * `{ error: { code: 'STALE', message } }` and no Set-Cookie, instead of being thrown.
   */
  onError?: (error: unknown, request: Request) => Response | Promise<Response>;
}

/** Adds the cookie headers; a Response with immutable headers (redirect(), fetch()) is copied. */
function withSetCookie(response: Response, setCookie: string, cacheControl: string | false): Response {
  const apply = (target: Response) => {
    target.headers.append('set-cookie', setCookie);
    if (cacheControl && !target.headers.has('cache-control')) target.headers.set('cache-control', cacheControl);
    return target;
  };
  try {
    return apply(response);
  } catch {
    return apply(new Response(response.body, response));
  }
}

/**
 * Wraps a WHATWG fetch handler — Hono, Remix/React Router, Next.js route handlers, Bun,
 * Deno — with a session: `export const GET = withSession(async (req, { session }) => ...)`.
 * The session comes from the request's cookie (a bad, unknown or expired one gives a new
 * session), is in the handler's context next to what the runtime passed, and is flushed,
 * with its Set-Cookie attached, before the Response leaves. If the handler throws, nothing
 * is flushed and the error propagates.
 */
export function withSession<C extends object = object>(
  handler: (request: Request, ctx: C & WithSessionContext) => Response | Promise<Response>,
  options: WithSessionOptions<C> = {},
): (request: Request, ctx?: C) => Promise<Response> {
  const { dsn = null, dsnArgs = null, sessionParams = {} } = options;
  const sessions = Session.opener(dsn, dsnArgs, sessionParams);
  const maxBodyBytes = maxBodyBytesOf(options);
  const tooLarge = (max: number) =>
    new Response(tooLargeText(max), { status: 413, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' } });
  const fail = async (error: unknown, request: Request): Promise<Response> => {
    if (options.onError) return options.onError(error, request);
    if (sessionErrorStatus(error) === 409) {
      return new Response(STALE_BODY, { status: 409, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });
    }
    throw error;
  };
  return async (incoming, ctx) => {
    let request = incoming;
    // The body is counted as the handler reads it: a huge one is refused, never buffered.
    let overLimit: unknown;
    if (maxBodyBytes !== false) {
      if (declaredTooLarge(request.headers.get('content-length'), maxBodyBytes)) return tooLarge(maxBodyBytes);
      request = limitRequestBody(request, maxBodyBytes, () => (overLimit = bodyTooLargeError(maxBodyBytes)));
    }
    const remoteAddr = remoteAddressOf(request, sessionParams.trustProxy ?? false) ?? options.remoteAddr?.(request, ctx) ?? sessionParams.remoteAddr;
    let session: Session;
    try {
      session = await sessions.newSession(request, remoteAddr);
    } catch (error) {
      return fail(error, request);
    }
    const start = sessionStart(session);
    let response: Response;
    try {
      response = await handler(request, { ...(ctx as C), session });
    } catch (error) {
      // The handler failed reading a body over the limit: 413, and nothing is flushed.
      if (overLimit !== undefined && maxBodyBytes !== false) return tooLarge(maxBodyBytes);
      throw error;
    }
    let setCookie: string | undefined;
    try {
      setCookie = await commitSession(session, start, options);
    } catch (error) {
      return fail(error, request);
    }
    return setCookie === undefined ? response : withSetCookie(response, setCookie, options.cacheControl ?? 'no-store');
  };
}
