import { cookies, headers } from 'next/headers.js';
import { Session, claimedRequest, firstHop, requestView } from '@isosession/server';
import type { ClaimedRequest, HeadersQuery, SessionParams } from '@isosession/server';

/** The part of `await cookies()` this package uses (Next's RequestCookies / ResponseCookies). */
export interface CookieJar {
  get(name: string): { name: string; value: string } | undefined;
  getAll(): { name: string; value: string }[];
  set(cookie: CookieToSet): unknown;
  delete(name: string): unknown;
}

/** A cookie as `cookies().set({ ... })` takes it. */
export interface CookieToSet {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  maxAge?: number;
  expires?: Date;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'lax' | 'strict' | 'none';
  partitioned?: boolean;
}

export interface RequestQuery {
  /**
   * The request with its session claim taken from the cookie jar as it is now (so a cookie
   * set earlier in the same server action is seen), and its https-ness for the cookie's
   * Secure default.
   */
  query: ClaimedRequest;
  jar: CookieJar;
  /** sessionParams with `remoteAddr` filled in when `trustProxy` allows it. */
  sessionParams: SessionParams;
}

/**
 * The current Next.js request as a session query: the request's headers as they are (no
 * Request rebuilt around them), the claim the session cookie's value in the jar as it is now
 * (no Cookie header rebuilt and parsed again), and https as Next.js recorded it.
 */
export async function requestQuery(sessionParams: SessionParams, addressOf?: (headers: Headers) => string | undefined): Promise<RequestQuery> {
  const [jar, incoming] = await Promise.all([cookies(), headers()]);
  const cookieJar = jar as unknown as CookieJar;
  const request: HeadersQuery = { headers: incoming };
  // Next.js fills X-Forwarded-Proto from the connection unless a client or proxy sent one. A
  // forged "https" only makes this visitor's own cookie Secure (then unusable over http).
  const https = firstHop(incoming.get('x-forwarded-proto')) === 'https';
  // A server component sees no socket: the address is known only from a trusted proxy's header.
  const remoteAddr = requestView(request, sessionParams.trustProxy ?? false).address ?? addressOf?.(incoming) ?? sessionParams.remoteAddr;
  const claim = cookieJar.get(sessionParams.name ?? Session.name())?.value;
  return {
    query: claimedRequest(request, claim === '' ? undefined : claim, { https }),
    jar: cookieJar,
    sessionParams: remoteAddr === undefined ? sessionParams : { ...sessionParams, remoteAddr },
  };
}
