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
  /**
   * The client's address, for `ipMatch`. A Node request's socket gives it by itself, and
   * `sessionParams.trustProxy` takes X-Forwarded-For's first hop; a WHATWG Request carries
   * none, so a fetch runtime passes it here (with ipMatch on and no address, every call fails).
   */
  remoteAddr?: string;
}

/**
 * Context for tRPC's fetch adapter (`fetchRequestHandler({ createContext: createSessionContext })`),
 * and for `createCaller` with a Request. The session is loaded by each procedure, with the
 * router's DSN and params; this only keeps the request and the response headers.
 */
export function createSessionContext(opts: { req: Request | Query; resHeaders?: ResponseHeaderSink; remoteAddr?: string }): SessionContext {
  return opts.remoteAddr === undefined ? { req: opts.req, resHeaders: opts.resHeaders } : { req: opts.req, resHeaders: opts.resHeaders, remoteAddr: opts.remoteAddr };
}
