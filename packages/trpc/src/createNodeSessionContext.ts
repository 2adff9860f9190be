import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResponseHeaderSink, SessionContext } from './createSessionContext.js';

/** The parts of a Node / Express response the router writes to. */
export interface NodeResponseLike {
  getHeader(name: string): number | string | string[] | undefined;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  readonly headersSent?: boolean;
}

/** Response headers of a Node `ServerResponse`, as the router writes them. */
export function nodeResponseHeaders(res: NodeResponseLike | ServerResponse): ResponseHeaderSink {
  return {
    append(name, value) {
      if (res.headersSent) return;
      const current = res.getHeader(name);
      const list = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
      res.setHeader(name, [...list, value]);
    },
    set(name, value) {
      if (!res.headersSent) res.setHeader(name, value);
    },
  };
}

/**
 * Context for tRPC's Node adapters: `createHTTPServer` / `createHTTPHandler` (standalone)
 * and `createExpressMiddleware({ createContext: createNodeSessionContext })`.
 */
export function createNodeSessionContext(opts: { req: IncomingMessage; res: NodeResponseLike | ServerResponse }): SessionContext {
  return { req: opts.req, resHeaders: nodeResponseHeaders(opts.res) };
}
