import { isSessionError, Session } from '@isosession/server';
import type { CgiLikeQuery, ConstructorArgs } from '@isosession/server';
import { parseSetCookie } from './parseSetCookie.js';
import type { PlaywrightCookie } from './parseSetCookie.js';
import type { IsosessionTestOptions, SeedOptions, SessionParamDefinitions, StoredParams } from './types.js';

/** The part of Playwright's `BrowserContext` a test session uses. */
export interface CookieJar {
  cookies(urls?: string | string[]): Promise<Array<{ name: string; value: string }>>;
  addCookies(cookies: PlaywrightCookie[]): Promise<void>;
}

/** The `session` fixture: the server's view of the session the browser context holds. */
export interface TestSession<TDefs extends SessionParamDefinitions | undefined = undefined> {
  /** Creates a stored session with `params` and puts its cookie into the context (before the first navigation). */
  seed(params?: Record<string, unknown>, options?: SeedOptions): Promise<string>;
  /** What the server stored for the context's cookie, private params included; null when no live session. */
  params(): Promise<StoredParams<TDefs> | null>;
  /** One stored param (undefined when unset or when there is no live session). */
  param<K extends string>(name: K): Promise<StoredParams<TDefs>[K] | undefined>;
  /** Whether the context's cookie names a live stored session. */
  isStored(): Promise<boolean>;
  /** The session id the store knows (not the cookie value, which may be signed); undefined when none. */
  id(): Promise<string | undefined>;
  /** The context's session cookie value, as the browser sends it; undefined when it has none. */
  cookieValue(): Promise<string | undefined>;
  /** Makes the session expire now: the next request finds it expired. */
  expire(): Promise<void>;
  /** Makes one param expire now. */
  expireParam(name: string): Promise<void>;
  /** Changes the stored session the way server code does (`Session.update`: merged on flush). */
  update(fn: (session: Session) => void | Promise<void>): Promise<void>;
  /** Deletes what `seed()` created (the fixture calls it after each test unless `keep`). */
  cleanup(): Promise<void>;
}

const DEFAULT_DSN = 'driver:file;serializer:default;id:md5';

// Any moment in the past works for "now": -1 s is the smallest idle expiry that has elapsed.
const ALREADY_ELAPSED = -1;

/** A session fixture for one browser context; `baseURL` is where the app is served. */
export function createTestSession<TDefs extends SessionParamDefinitions | undefined = undefined>(
  context: CookieJar,
  options: IsosessionTestOptions<TDefs>,
  baseURL: string | undefined,
): TestSession<TDefs> {
  const dsn = options.dsn ?? DEFAULT_DSN;
  const dsnArgs = options.dsnArgs ?? {};
  const sessionParams = options.sessionParams ?? {};
  const cookieName = sessionParams.name ?? Session.name();
  const seeded: string[] = [];

  const cookieValue = async (): Promise<string | undefined> =>
    (await context.cookies(baseURL ? [baseURL] : undefined)).find((c) => c.name === cookieName)?.value;
  const queryFor = (value: string): CgiLikeQuery => ({ cookie: (name: string) => (name === cookieName ? value : undefined) });
  const args = (value: string): ConstructorArgs => [dsn, queryFor(value), dsnArgs, sessionParams];

  // A cookie of a session deleted or regenerated moments ago is refused as STALE by the
  // server; for a test that only asks "what is stored", it names no live session.
  const loadLive = async (value: string): Promise<Session | undefined> => {
    try {
      const session = await Session.load(...args(value));
      return session.isEmpty() ? undefined : session;
    } catch (error) {
      if (isSessionError(error) && error.code === 'STALE') return undefined;
      throw error;
    }
  };
  const load = async (): Promise<Session | undefined> => {
    const value = await cookieValue();
    return value === undefined ? undefined : loadLive(value);
  };

  const change = async (fn: (session: Session) => void | Promise<void>): Promise<void> => {
    const value = await cookieValue();
    if (value === undefined) throw new Error(`isosession: the browser context has no ${cookieName} cookie: seed() a session or open a page that creates one first`);
    if (!(await loadLive(value))) throw new Error(`isosession: the context's ${cookieName} cookie names no live stored session`);
    const updated = await Session.update(queryFor(value), fn, { dsn, dsnArgs, sessionParams });
    const id = updated.id();
    if (options.bus && id !== undefined) await options.bus.publish({ id, version: updated.version() });
  };

  return {
    async seed(params = {}, seedOptions = {}) {
      if (!baseURL && !sessionParams.cookie?.domain) {
        throw new Error('isosession: seed() needs to know where the app runs: set `use: { baseURL }` (or sessionParams.cookie.domain)');
      }
      const session = await Session.new(dsn, null, dsnArgs, sessionParams);
      session.param(params);
      if (seedOptions.expire !== undefined) session.expire(seedOptions.expire);
      for (const [name, time] of Object.entries(seedOptions.paramExpire ?? {})) session.expire(name, time);
      await session.flush();
      const now = Date.now();
      const cookie = parseSetCookie(session.cookie(), baseURL ?? `http://${sessionParams.cookie?.domain}`, now);
      await context.addCookies([cookie]);
      seeded.push(cookie.value);
      return session.id() as string;
    },
    async params() {
      const session = await load();
      if (!session) return null;
      const params: Record<string, unknown> = {};
      for (const name of session.param()) params[name] = session.param(name);
      return params as StoredParams<TDefs>;
    },
    async param(name) {
      const session = await load();
      return session?.param(name) as never;
    },
    async isStored() {
      return (await load()) !== undefined;
    },
    async id() {
      return (await load())?.id();
    },
    cookieValue,
    expire: () => change((s) => s.expire(ALREADY_ELAPSED)),
    expireParam: (name) => change((s) => s.expire(name, ALREADY_ELAPSED)),
    update: change,
    async cleanup() {
      for (const value of seeded.splice(0)) {
        const session = await loadLive(value);
        if (!session) continue;
        session.delete();
        await session.flush();
      }
    },
  };
}
