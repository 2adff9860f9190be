import { cookies, headers } from 'next/headers.js';
import { stringifyCookie } from 'cookie';
import type { SessionParams } from '@isosession/server';

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
  /** What the session reads its cookie from, and its https-ness (for the cookie's Secure default). */
  query: Request;
  jar: CookieJar;
  /** sessionParams with `remoteAddr` filled in when `trustProxy` allows it. */
  sessionParams: SessionParams;
}

function firstHop(value: string | null): string | undefined {
  const first = value?.split(',')[0]?.trim();
  return first ? first : undefined;
}

/**
 * The current Next.js request as a session query: a WHATWG Request whose Cookie header is the
 * cookie jar as it is now (so a cookie set earlier in the same server action is seen), and
 * whose URL carries the scheme Next.js recorded in X-Forwarded-Proto.
 */
export async function requestQuery(sessionParams: SessionParams, addressOf?: (headers: Headers) => string | undefined): Promise<RequestQuery> {
  const [jar, incoming] = await Promise.all([cookies(), headers()]);
  const forwarded = new Headers(incoming);
  const cookieHeader = (jar as unknown as CookieJar)
    .getAll()
    .map((cookie) => stringifyCookie({ [cookie.name]: cookie.value }))
    .join('; ');
  if (cookieHeader === '') forwarded.delete('cookie');
  else forwarded.set('cookie', cookieHeader);
  // Next.js fills X-Forwarded-Proto from the connection unless a client or proxy sent one. A
  // forged "https" only makes this visitor's own cookie Secure (then unusable over http).
  const scheme = firstHop(incoming.get('x-forwarded-proto')) === 'https' ? 'https' : 'http';
  let url: string;
  try {
    url = new URL(`${scheme}://${firstHop(incoming.get('host')) ?? 'localhost'}/`).href;
  } catch {
    url = `${scheme}://localhost/`;
  }
  // A server component sees no socket: the address is known only from a trusted proxy's header.
  const remoteAddr = (sessionParams.trustProxy ? firstHop(incoming.get('x-forwarded-for')) : undefined) ?? addressOf?.(new Headers(incoming)) ?? sessionParams.remoteAddr;
  return {
    query: new Request(url, { headers: forwarded }),
    jar: jar as unknown as CookieJar,
    sessionParams: remoteAddr === undefined ? sessionParams : { ...sessionParams, remoteAddr },
  };
}
