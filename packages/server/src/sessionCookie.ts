import { serialize } from 'cookie';
import { SessionError } from '@isosession/core';
import type { CookieOptions } from './types.js';

export interface SessionCookieInput {
  name: string;
  /** The cookie value; undefined for a cookie that removes itself. */
  value: string | undefined;
  /** Seconds until the cookie should expire; undefined: a browser-session cookie. */
  maxAge: number | undefined;
  now: number;
  secureByDefault: boolean;
  options: CookieOptions;
}

/**
 * `sameSite` in lower case. 'NONE' from an env var or a config file must be None *with*
 * Secure, as 'none' is: browsers drop a SameSite=None cookie that is not Secure.
 */
export function normalizeSameSite(value: unknown): CookieOptions['sameSite'] {
  if (value === undefined) return undefined;
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  if (lower === 'lax' || lower === 'strict' || lower === 'none') return lower;
  throw new SessionError('INVALID_ARGUMENT', `cookie sameSite must be 'lax', 'strict' or 'none', got ${JSON.stringify(value)}`);
}

/** The attributes of the session cookie, as a cookie store (`cookies().set`) takes them. */
export interface SessionCookieAttributes {
  path: string;
  domain?: string;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'lax' | 'strict' | 'none';
  partitioned?: boolean;
  /** Seconds; absent for a browser-session cookie, 0 for a cookie that removes itself. */
  maxAge?: number;
  expires?: Date;
}

/**
 * The session cookie as data: `{ name, value, options }`, what `Session.cookie()` serialises
 * into a Set-Cookie value and a framework's cookie store (Next.js `cookies().set`) takes as it
 * is, with no header string built and parsed back.
 */
export interface SessionCookie {
  name: string;
  /** Empty for a cookie that removes itself (Max-Age 0). */
  value: string;
  options: SessionCookieAttributes;
}

/** The session cookie: HttpOnly and SameSite=Lax unless told otherwise (S67). */
export function sessionCookie(input: SessionCookieInput): SessionCookie {
  const { options } = input;
  const removing = input.value === undefined;
  const maxAge = removing ? 0 : options.maxAge ?? input.maxAge;
  const sameSite = normalizeSameSite(options.sameSite) ?? 'lax';
  const attributes: SessionCookieAttributes = {
    path: options.path ?? '/',
    httpOnly: options.httpOnly ?? true,
    // SameSite=None is only honoured by browsers on Secure cookies.
    secure: options.secure ?? (input.secureByDefault || sameSite === 'none'),
    sameSite,
  };
  if (options.domain !== undefined) attributes.domain = options.domain;
  if (options.partitioned !== undefined) attributes.partitioned = options.partitioned;
  if (maxAge !== undefined) {
    // S68/S69: both attributes, for old clients that know only Expires.
    attributes.maxAge = Math.max(0, Math.floor(maxAge));
    attributes.expires = new Date(maxAge <= 0 ? 0 : (input.now + Math.floor(maxAge)) * 1000);
  }
  return { name: input.name, value: input.value ?? '', options: attributes };
}

/** A session cookie as a Set-Cookie header value. */
export function serializeSessionCookie(cookie: SessionCookie): string {
  return serialize(cookie.name, cookie.value, cookie.options);
}
