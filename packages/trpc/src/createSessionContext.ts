import type { Query } from '@isosession/server';

/** Where the router writes response headers (Set-Cookie, Cache-Control): `Headers` fits. */
export interface ResponseHeaderSink {
  append(name: string, value: string): void;
  set(name: string, value: string): void;
}

/**
 * What the session router needs from a request. Spread it into a larger context if the app
 * has one: `({ ...createSessionContext(opts), db })`.
 */
export interface SessionContext {
  /** The request the session cookie is read from; none for trusted server-side calls. */
  req?: Query;
  /** Where Set-Cookie and `Cache-Control: no-store` go; none: the cookie is not sent. */
  resHeaders?: ResponseHeaderSink;
}

/**
 * Context for tRPC's fetch adapter (`fetchRequestHandler({ createContext: createSessionContext })`),
 * and for `createCaller` with a Request. The session is loaded by each procedure, with the
 * router's DSN and params; this only keeps the request and the response headers.
 */
export function createSessionContext(opts: { req: Request | Query; resHeaders?: ResponseHeaderSink }): SessionContext {
  return { req: opts.req, resHeaders: opts.resHeaders };
}
