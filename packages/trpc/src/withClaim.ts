import type { IncomingMessage } from 'node:http';
import type { CgiLikeQuery, Query } from '@isosession/server';

/**
 * The same request, but claiming a session through cookie `name` = `value` (the session's
 * `cookieValue()`: the id, signed with `sessionParams.secret`), or claiming nothing.
 * Used when an earlier call of the same HTTP request (a tRPC batch) created or replaced the
 * session: later calls must see that session, not the stale cookie the browser sent. The
 * rest of the request (address, https, proxy headers) is kept for ipMatch and the cookie.
 */
export function withClaim(req: Query | undefined, name: string, value: string | undefined): Query {
  const cookie = value === undefined ? undefined : `${name}=${value}`;
  if (typeof Request !== 'undefined' && req instanceof Request) {
    const headers = new Headers(req.headers);
    if (cookie === undefined) headers.delete('cookie');
    else headers.set('cookie', cookie);
    return new Request(req.url, { headers });
  }
  const node = req as IncomingMessage | undefined;
  if (node && typeof node === 'object' && typeof node.headers === 'object' && node.headers !== null && 'socket' in node) {
    const headers = { ...node.headers };
    if (cookie === undefined) delete headers.cookie;
    else headers.cookie = cookie;
    return { headers, socket: node.socket, url: node.url, method: node.method } as unknown as IncomingMessage;
  }
  const cgi = (req ?? {}) as CgiLikeQuery;
  return {
    cookie: (wanted: string) => (wanted === name ? value : cgi.cookie?.(wanted)),
    // The claimed id never comes from a request param once a call has decided it.
    param: (...args: [key?: string, value?: unknown]) => (args[0] === name ? undefined : cgi.param?.(...args)),
  };
}
