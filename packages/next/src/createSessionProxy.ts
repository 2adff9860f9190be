import { NextResponse } from 'next/server.js';
import { parseCookie, stringifyCookie } from 'cookie';
import { Session, isSessionError } from '@isosession/server';
import type { DsnArgs, SessionParams } from '@isosession/server';
import { withSession } from '@isosession/server/fetch';

export interface SessionProxyOptions {
  /** As for `Session.new`. @default 'driver:file;serializer:default;id:md5' */
  dsn?: string | null;
  dsnArgs?: DsnArgs | null;
  sessionParams?: SessionParams;
  /**
   * Runs on the session before it is stored, e.g. to give new sessions an idle expiry:
   * `(s) => { if (s.expire() === undefined) s.expire('2h') }`.
   */
  prepare?: (session: Session) => void | Promise<void>;
}

/** The Cookie header with `name` set to `value` (the render must see a cookie made just now). */
function withCookie(header: string | null, name: string, value: string | undefined): string {
  let cookies: Record<string, string | undefined> = {};
  try {
    cookies = header ? parseCookie(header) : {};
  } catch {
    cookies = {};
  }
  if (value === undefined) delete cookies[name];
  else cookies[name] = value;
  return stringifyCookie(cookies);
}

/**
 * A Next.js proxy (`proxy.ts`) that gives every page request a session before it renders:
 * a new visitor's session is created and stored, its cookie set on the response and passed
 * on to the render, so `getSession()` in server components always finds one; a returning
 * visitor's session is touched (its idle expiry restarts, S44). Server action requests pass
 * through untouched: the action sets the cookie itself. So does a request whose cookie a login
 * or logout replaced moments ago (`STALE`): no new session, no Set-Cookie.
 *
 * ```ts
 * // proxy.ts
 * export const proxy = createSessionProxy({ dsn, dsnArgs });
 * export const config = { matcher: ['/((?!api|_next/static|_next/image|favicon.ico).*)'] };
 * ```
 */
export function createSessionProxy(options: SessionProxyOptions = {}): (request: Request) => Promise<Response> {
  const { prepare } = options;
  const name = () => options.sessionParams?.name ?? Session.name();
  const handle = withSession(
    async (request, { session }) => {
      await prepare?.(session);
      const headers = new Headers(request.headers);
      headers.set('cookie', withCookie(request.headers.get('cookie'), name(), session.cookieValue()));
      return NextResponse.next({ request: { headers } });
    },
    {
      dsn: options.dsn,
      dsnArgs: options.dsnArgs,
      sessionParams: options.sessionParams,
      // A cookie a login or logout replaced moments ago: pass the page through untouched. A new
      // session's Set-Cookie here would overwrite the browser's newer cookie and log it out.
      onError: (error) => {
        if (isSessionError(error) && error.code === 'STALE') return NextResponse.next();
        throw error;
      },
    },
  );
  return async (request) => {
    // A server action sets the session cookie itself; a second Set-Cookie from here could
    // land after its one and bring back the id that regenerate() just retired.
    if (request.headers.has('next-action')) return NextResponse.next();
    return handle(request);
  };
}
