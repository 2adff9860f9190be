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

/** Builds the Set-Cookie value: HttpOnly and SameSite=Lax unless told otherwise (S67). */
export function buildSessionCookie(input: SessionCookieInput): string {
  const { options } = input;
  const removing = input.value === undefined;
  const maxAge = removing ? 0 : options.maxAge ?? input.maxAge;
  const sameSite = normalizeSameSite(options.sameSite) ?? 'lax';
  return serialize(input.name, input.value ?? '', {
    path: options.path ?? '/',
    domain: options.domain,
    httpOnly: options.httpOnly ?? true,
    // SameSite=None is only honoured by browsers on Secure cookies.
    secure: options.secure ?? (input.secureByDefault || sameSite === 'none'),
    sameSite,
    partitioned: options.partitioned,
    ...(maxAge === undefined
      ? {}
      : {
          // S68/S69: both attributes, for old clients that know only Expires.
          maxAge: Math.max(0, Math.floor(maxAge)),
          expires: new Date(maxAge <= 0 ? 0 : (input.now + Math.floor(maxAge)) * 1000),
        }),
  });
}
