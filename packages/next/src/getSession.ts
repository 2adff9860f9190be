import { SessionError } from '@isosession/core';
import { Session } from '@isosession/server';
import type { ClaimedRequest, DsnArgs, SessionCookie, SessionParams } from '@isosession/server';
import { publishSessionChange } from '@isosession/trpc';
import type { SessionBus } from '@isosession/trpc';
import { requestQuery } from './requestQuery.js';
import type { CookieJar, CookieToSet } from './requestQuery.js';

export type GetSessionMode = 'auto' | 'read' | 'write';

export interface GetSessionOptions {
  /** As for `Session.new`. @default 'driver:file;serializer:default;id:md5' */
  dsn?: string | null;
  dsnArgs?: DsnArgs | null;
  sessionParams?: SessionParams;
  /**
   * `read`: load only (server components): never creates, never flushes, never sets a cookie.
   * `write`: load or create (server actions, route handlers): `flush()` stores the session and
   * sets its cookie through `cookies()`.
   * `auto`: `write` where Next.js lets this request set cookies, `read` elsewhere.
   * @default 'auto'
   */
  mode?: GetSessionMode;
  /**
   * The session router's bus (`createSessionRouter({ bus })`): each flush announces the change,
   * so the browser hooks of every tab following this session (`watch`) get the new values;
   * after delete() their streams end and they move to a fresh session.
   */
  bus?: SessionBus;
  /**
   * The client's address from the request headers, for `sessionParams.ipMatch` (a server
   * component sees no socket): e.g. `(h) => h.get('x-real-ip') ?? undefined` behind your own
   * proxy. With `sessionParams.trustProxy` the first X-Forwarded-For hop is used without it.
   * With ipMatch on and no address, getSession refuses (`INVALID_ARGUMENT`).
   */
  remoteAddr?: (headers: Headers) => string | undefined;
}

/**
 * Whether this request may set cookies. Next.js hands server components a sealed jar whose
 * `set` and `delete` are one and the same throwing function; server actions and route
 * handlers get a jar with real, distinct methods.
 */
export function cookiesAreWritable(jar: CookieJar): boolean {
  return typeof jar.set === 'function' && (jar.set as unknown) !== jar.delete;
}


/** The session's cookie as Next's `cookies().set` takes it: the same data, no header string. */
function toCookie(cookie: SessionCookie): CookieToSet {
  return { name: cookie.name, value: cookie.value, ...cookie.options };
}

/**
 * The session of the current Next.js request.
 *
 * In a server component (read-only) it is loaded, never created: a visitor without a session
 * gets an empty one (`isEmpty()`), and `flush()` resolves without writing, or rejects if the
 * session was changed. Give every page a session with `createSessionProxy`.
 *
 * In a server action or route handler (read-write) it is loaded or created, and `flush()`
 * (also `close()` and `await using`) stores it, sets its cookie through `cookies()` and
 * announces the change on `bus`. Setting a cookie in a server action makes Next.js render the
 * page again in the same response, so server components and `<SessionProvider initial>` get
 * the new values without another request.
 *
 * A cookie that a login (`regenerate()`) or logout (`delete()`) in another request replaced
 * moments ago (docs/http.md, "Stale cookies"): a server component gets an empty read-only
 * session (the browser already holds the newer cookie, so its next request renders right); a
 * server action or route handler gets a `SessionError` with code `STALE` — no session is
 * created and no cookie set. Catch it to answer "try again", or let it fail the action.
 */
export async function getSession(options: GetSessionOptions = {}): Promise<Session> {
  const { dsn = null, dsnArgs = null, mode = 'auto', bus } = options;
  const request = await requestQuery(options.sessionParams ?? {}, options.remoteAddr);
  const writable = mode === 'write' || (mode === 'auto' && cookiesAreWritable(request.jar));
  if (!writable) {
    const session = await loadForReading(dsn, request.query, dsnArgs, request.sessionParams);
    return session.readOnly(READ_ONLY_REASON);
  }

  const session = await Session.new(dsn, request.query, dsnArgs, request.sessionParams);
  // The id the client holds a cookie for: retired when regenerate() or delete() lands.
  let storedId = session.isNew() ? undefined : session.id();
  return session.onFlush({
    // A new session nothing was written to is not stored, nor its cookie set: a server
    // action that only reads must not leave a session behind for every visitor.
    skip: (s) => s.isNew() && !s.isEmpty() && s.param().length === 0,
    stored: (s) => {
      try {
        request.jar.set(toCookie(s.cookieData()));
      } catch (error) {
        throw new SessionError(
          'INVALID_ARGUMENT',
          'getSession({ mode: "write" }): the session was stored, but this request cannot set its cookie (a server component is rendering); change sessions in a server action or route handler, and read them with the default mode here',
          { cause: error },
        );
      }
      const id = s.id();
      if (id === undefined) {
        // delete(): the watch streams of this session end, and their tabs refresh.
        if (storedId !== undefined) publishSessionChange(bus, { id: storedId, version: 0, deleted: true });
      } else {
        // After regenerate() the old id is left alone: a tab told "deleted" now would refresh
        // with the old cookie before this response brings the new one, and start a session of
        // its own. The page re-rendered by this action moves this tab to the new id, and
        // BroadcastChannel the other tabs of the browser.
        publishSessionChange(bus, { id, version: s.version() });
      }
      storedId = id;
    },
  });
}

/** A stale cookie reads as no session at all: nothing to show, nothing created, no cookie. */
async function loadForReading(dsn: string | null, query: ClaimedRequest, dsnArgs: DsnArgs | null, sessionParams: SessionParams): Promise<Session> {
  try {
    return await Session.load(dsn, query, dsnArgs, sessionParams);
  } catch (error) {
    if (error instanceof SessionError && error.code === 'STALE') return Session.load(dsn, null, dsnArgs, sessionParams);
    throw error;
  }
}

const READ_ONLY_REASON = 'this session was loaded read-only (a server component, where Next.js cannot set cookies); change it in a server action or route handler, or pass getSession({ mode: "write" }) there';
