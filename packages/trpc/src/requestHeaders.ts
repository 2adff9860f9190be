import type { IncomingMessage } from 'node:http';
import type { Query } from '@isosession/server';

/** One request header of a WHATWG Request or a Node request; undefined for other queries. */
export function requestHeader(req: Query | undefined, name: string): string | undefined {
  if (!req || typeof req !== 'object') return undefined;
  if (typeof Request !== 'undefined' && req instanceof Request) return req.headers.get(name) ?? undefined;
  const headers = (req as IncomingMessage).headers;
  if (headers && typeof headers === 'object' && !(headers instanceof Headers)) {
    const value = headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  return undefined;
}
