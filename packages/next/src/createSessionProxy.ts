import { NextResponse } from 'next/server.js';
import { parseCookie, stringifyCookie } from 'cookie';
import { parseDuration } from '@isosession/core';
import { Session, isSessionError } from '@isosession/server';
import type { DsnArgs, SessionParams } from '@isosession/server';
import { withSession } from '@isosession/server/fetch';

export interface SessionProxyOptions {
  /** As for `Session.new`. @default 'driver:file;serializer:default;id:md5' */
  dsn?: string | null;
  dsnArgs?: DsnArgs | null;
  sessionParams?: SessionParams;
  /**
   * Runs on the session of every page request before it is stored (a returning visitor's,
   * or a new one, which is stored only if this sets a param).
   */
  prepare?: (session: Session) => void | Promise<void>;
  /**
   * The idle expiry (seconds or a duration like `'30m'`) given to a session this proxy
   * stores for the first time, unless `prepare` set one; `false` for none. @default '24h'
   */
  idleExpiry?: number | string | false;
  /**
   * Store a new session that nothing wrote to (and send its cookie). By default a first
   * visit, a crawler or a `HEAD` request stores nothing: the session is created by the first
   * write (a router `set`, a server action). @default false
   */
  saveUninitialized?: boolean;
  /**
   * The client's address, for `sessionParams.ipMatch`: a Request carries none. With
   * `sessionParams.trustProxy` X-Forwarded-For's first hop is used without it. With ipMatch on
   * and no address, the proxy refuses (`INVALID_ARGUMENT`) instead of skipping the check.
   */
  remoteAddr?: (request: Request) => string | undefined;
}

/** The Cookie header with `name` set to `value` (the render must see a cookie made just now). */
function cookieHeaderWith(header: string | null, name: string, value: string | undefined): string {
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
 * A Next.js proxy (`proxy.ts`) that keeps a returning visitor's session alive before the page
 * renders (it is touched: its idle expiry restarts, S44), and stores a new visitor's session
 * only when `prepare` writes to it (then its cookie is set on the response and passed on to
 * the render). A visitor without a stored session renders with none: `getSession()` is empty
 * and the browser's first write creates it. Server action requests pass through untouched:
 * the action sets the cookie itself. So does a request whose cookie a login or logout
 * replaced moments ago (`STALE`): no new session, no Set-Cookie.
 *
 * ```ts
 * // proxy.ts
 * export const proxy = createSessionProxy({ dsn, dsnArgs });
 * export const config = { matcher: ['/((?!api|_next/static|_next/image|favicon.ico).*)'] };
 * ```
 */
export function createSessionProxy(options: SessionProxyOptions = {}): (request: Request) => Promise<Response> {
  const { prepare, saveUninitialized = false } = options;
  const idleExpiry = options.idleExpiry === undefined ? '24h' : options.idleExpiry;
  // Broken configuration fails at construction, not at the first page view.
  if (idleExpiry !== false) parseDuration(idleExpiry);
  const name = () => options.sessionParams?.name ?? Session.name();
  const handle = withSession(
    async (request, { session }) => {
      await prepare?.(session);
      const stored = !session.isNew() || saveUninitialized || session.param().length > 0;
      if (stored && session.isNew() && idleExpiry !== false && session.expire() === undefined) session.expire(idleExpiry);
      const headers = new Headers(request.headers);
      // A session that is not stored has no cookie worth handing the render.
      headers.set('cookie', cookieHeaderWith(request.headers.get('cookie'), name(), stored ? session.cookieValue() : undefined));
      return NextResponse.next({ request: { headers } });
    },
    {
      dsn: options.dsn,
      dsnArgs: options.dsnArgs,
      sessionParams: options.sessionParams,
      saveUninitialized,
      ...(options.remoteAddr ? { remoteAddr: (request: Request) => options.remoteAddr?.(request) } : {}),
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
