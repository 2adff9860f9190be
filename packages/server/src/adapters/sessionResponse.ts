import { SessionError } from '@isosession/core';
import type { Session } from '../Session.js';
import { DEFAULT_MAX_BODY_BYTES } from './limitRequestBody.js';
import type { DsnArgs, SessionParams } from '../types.js';

/** What every adapter takes: where sessions live, and how responses carry them. */
export interface AdapterOptions {
  /** @default 'driver:file;serializer:default;id:md5' */
  dsn?: string | null;
  /** @default {} */
  dsnArgs?: DsnArgs | null;
  /** name, ipMatch, trustProxy, idFrom, maxAge, cookie, secret, hashIds… @default {} */
  sessionParams?: SessionParams;
  /**
   * Cache-Control for a response that sets the session cookie, when the response has none of
   * its own: a cached Set-Cookie hands one user's session to the next. `false` leaves the
   * header alone. @default 'no-store'
   */
  cacheControl?: string | false;
  /**
   * Store (and send a cookie for) a new session the handler set no param in. By default a
   * session is stored once something is written to it, so crawlers, `HEAD` requests and
   * one-page visits leave nothing behind; `true` stores every new session, as CGI::Session's
   * new() does. @default false
   */
  saveUninitialized?: boolean;
  /**
   * Largest request body accepted, in bytes: a larger Content-Length is answered 413 before
   * the session loads. The fetch adapter also counts a body as the handler reads it (a
   * chunked body has no length), failing the read past the limit (413); with node:http and
   * Express, give your body parser a limit too (`express.json()` has 100 kB). `false`: no
   * limit. @default 100_000
   */
  maxBodyBytes?: number | false;
}

/** The session's state when the handler got it: what decides whether the cookie is sent. */
export interface SessionStart {
  id: string | undefined;
  isNew: boolean;
}

export function sessionStart(session: Session): SessionStart {
  return { id: session.id(), isNew: session.isNew() };
}

/** A new session nothing was written to (an expiry alone is not content worth storing). */
export function isUninitialized(session: Session): boolean {
  return session.isNew() && !session.isEmpty() && session.param().length === 0;
}

/**
 * Flushes the session after the handler and returns the Set-Cookie value the response needs,
 * or undefined when the client's cookie is still right: sent for a new or regenerated id, a
 * deleted session (a cookie that removes itself, S69), and on every response of a session with
 * an expiry (its Max-Age restarts with each access, S44). A failed flush rejects: the caller
 * turns it into an error response, never a success that lost the session's changes.
 */
export async function commitSession(session: Session, start: SessionStart, options: AdapterOptions): Promise<string | undefined> {
  if (options.saveUninitialized !== true && isUninitialized(session)) return undefined;
  await session.flush();
  if (session.isEmpty()) return start.id === undefined ? undefined : session.cookie();
  if (start.isNew || session.id() !== start.id || session.expiresAt() !== undefined) return session.cookie();
  return undefined;
}

/**
 * The HTTP status a session failure maps to: 503 when the store did not answer (the client
 * may retry), 409 when the request's cookie was replaced moments ago by a login or logout
 * (`STALE`: retry once, the browser now sends the newer cookie), 413 for a body, param or
 * session over its size limit (`TOO_LARGE`, nothing stored), 500 for anything else.
 * Adapters hand it to frameworks as `error.status`.
 */
export function sessionErrorStatus(error: unknown): 503 | 413 | 409 | 500 {
  if (!(error instanceof SessionError)) return 500;
  if (error.code === 'STORE_UNAVAILABLE') return 503;
  if (error.code === 'TOO_LARGE') return 413;
  return error.code === 'STALE' ? 409 : 500;
}

/** The limit an adapter applies to request bodies (`false`: none). */
export function maxBodyBytesOf(options: AdapterOptions): number | false {
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (max !== false && (typeof max !== 'number' || !(max >= 0))) {
    throw new SessionError('INVALID_ARGUMENT', `maxBodyBytes must be a number of bytes >= 0 or false, got ${String(max)}`);
  }
  return max;
}

/** The plain-text answer to a body over the limit. */
export function tooLargeText(maxBytes: number): string {
  return `Payload Too Large: the request body is over ${maxBytes} bytes\n`;
}

/**
 * The body of the default 409 answer to a stale cookie: JSON a client can act on without
 * parsing prose. No Set-Cookie goes with it: the browser's newer cookie must stay.
 */
export const STALE_BODY = `${JSON.stringify({
  error: {
    code: 'STALE',
    message: 'isosession: this request carried a session cookie that a login or logout replaced moments ago; retry it with the current cookie',
  },
})}\n`;

/** Marks an error with `status`/`statusCode` for Express-style error handlers (finalhandler). */
export function withHttpStatus<T>(error: T): T {
  if (error !== null && typeof error === 'object' && !('status' in error) && !('statusCode' in error)) {
    const status = sessionErrorStatus(error);
    for (const key of ['status', 'statusCode']) {
      Object.defineProperty(error, key, { value: status, writable: true, configurable: true, enumerable: false });
    }
  }
  return error;
}
