import type { IncomingMessage } from 'node:http';
import { parse as parseCookieHeader } from 'cookie';
import type { CgiLikeQuery, IdSource, Query } from './types.js';

// A Cookie header longer than this is not parsed at all: browsers send at most ~8 KB, and a
// huge header should cost nothing (it ends as "no claimed id").
const MAX_COOKIE_HEADER = 16 * 1024;

const CLAIMED = Symbol.for('isosession.claimedRequest');

/**
 * A request whose session claim is already decided: `claim` is the cookie value to use (the
 * session's `cookieValue()`, signed with `sessionParams.secret`), or undefined for none; the
 * request itself still gives the address, https-ness and params. A tRPC batch whose first call
 * logged in, or a Next.js action that just set a cookie, opens its next session with one,
 * instead of a copy of the request with a rewritten Cookie header to be parsed again.
 */
export interface ClaimedRequest {
  readonly [CLAIMED]: true;
  readonly request: Query;
  readonly claim: string | undefined;
  /** Whether the request came over https, when the caller knows it and the request cannot tell. */
  readonly https: boolean | undefined;
}

export function claimedRequest(request: Query | ClaimedRequest | undefined, claim: string | undefined, options: { https?: boolean } = {}): ClaimedRequest {
  if (isClaimedRequest(request)) return { [CLAIMED]: true, request: request.request, claim, https: options.https ?? request.https };
  return { [CLAIMED]: true, request: request ?? {}, claim, https: options.https };
}

export function isClaimedRequest(value: unknown): value is ClaimedRequest {
  return typeof value === 'object' && value !== null && (value as Partial<ClaimedRequest>)[CLAIMED] === true;
}

export function isRequest(query: unknown): query is Request {
  return typeof Request !== 'undefined' && query instanceof Request;
}

export function isIncomingMessage(query: unknown): query is IncomingMessage {
  const candidate = query as IncomingMessage | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.headers === 'object' &&
    candidate.headers !== null &&
    !isRequest(candidate) &&
    'socket' in candidate
  );
}

/** The raw Cookie header of a request-like query, if it has one (a Node request's, whole). */
export function cookieHeaderOf(query: Query): string | undefined {
  if (isIncomingMessage(query)) {
    const header = query.headers.cookie;
    return Array.isArray(header) ? header.join('; ') : header;
  }
  return requestHeader(query, 'cookie');
}

/** Reads one cookie; malformed or oversized headers read as "no cookie". */
export function readCookie(query: Query, name: string): string | undefined {
  const cgi = query as CgiLikeQuery;
  if (!isRequest(query) && !isIncomingMessage(query) && typeof cgi.cookie === 'function') {
    const value = cgi.cookie(name);
    return typeof value === 'string' && value !== '' ? value : undefined;
  }
  const header = cookieHeaderOf(query);
  if (!header || header.length > MAX_COOKIE_HEADER) return undefined;
  try {
    const value = parseCookieHeader(header)[name];
    return value === undefined || value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}

function searchParamsOf(url: string | undefined): URLSearchParams | undefined {
  if (!url) return undefined;
  try {
    return new URL(url, 'http://localhost').searchParams;
  } catch {
    return undefined;
  }
}

/** All values of one request parameter (URL query; FormData/URLSearchParams entries). */
export function readParamValues(query: Query, name: string): unknown[] {
  if (query instanceof URLSearchParams) return query.getAll(name);
  if (typeof FormData !== 'undefined' && query instanceof FormData) return query.getAll(name);
  if (isRequest(query)) return searchParamsOf(query.url)?.getAll(name) ?? [];
  if (isIncomingMessage(query)) return searchParamsOf(query.url)?.getAll(name) ?? [];
  const cgi = query as CgiLikeQuery;
  if (typeof cgi.param === 'function') {
    const value = cgi.param(name);
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
  }
  return [];
}

/** Names of every request parameter. */
export function readParamNames(query: Query): string[] {
  let names: Iterable<string> = [];
  if (query instanceof URLSearchParams) names = query.keys();
  else if (typeof FormData !== 'undefined' && query instanceof FormData) names = query.keys();
  else if (isRequest(query) || isIncomingMessage(query)) names = searchParamsOf(query.url)?.keys() ?? [];
  else {
    const cgi = query as CgiLikeQuery;
    const listed = typeof cgi.param === 'function' ? cgi.param() : undefined;
    if (Array.isArray(listed)) names = listed.map(String);
  }
  return [...new Set(names)];
}

/** S17: the claimed id, from the cookie named `name`, then (opt-in) the request param. */
export function readClaim(query: Query, name: string, idFrom: readonly IdSource[]): string | undefined {
  if (idFrom.includes('cookie')) {
    const fromCookie = readCookie(query, name);
    if (fromCookie !== undefined) return fromCookie;
  }
  if (idFrom.includes('query')) {
    const [first] = readParamValues(query, name);
    if (typeof first === 'string' && first !== '') return first;
  }
  return undefined;
}

export function normalizeAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const trimmed = address.trim();
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed;
}

/** One header of a request (a WHATWG Request, a Node request, an object with Headers); the first of a list. */
export function requestHeader(query: Query | undefined, name: string): string | undefined {
  if (!query || typeof query !== 'object') return undefined;
  if (isRequest(query)) return query.headers.get(name) ?? undefined;
  const headers = (query as { headers?: unknown }).headers;
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined;
  if (headers && typeof headers === 'object') {
    const value = (headers as Record<string, string | string[] | undefined>)[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** The first hop of a proxy header (X-Forwarded-For, -Proto, -Host): what the proxy nearest the client wrote. */
export function firstHop(value: string | null | undefined): string | undefined {
  const first = value?.split(',')[0]?.trim();
  return first ? first : undefined;
}

// Every trustProxy rule lives below, and nowhere else: X-Forwarded-For, -Proto and -Host count
// only with sessionParams.trustProxy (a proxy in front that overwrites them); otherwise the
// socket, the URL and the Host header decide.

/** The client address; X-Forwarded-For's first hop only when trusted. A WHATWG Request has no socket. */
export function remoteAddressOf(query: Query | undefined, trustProxy: boolean): string | undefined {
  if (!query) return undefined;
  if (trustProxy) {
    const forwarded = firstHop(requestHeader(query, 'x-forwarded-for'));
    if (forwarded) return normalizeAddress(forwarded);
  }
  return isIncomingMessage(query) ? normalizeAddress(query.socket?.remoteAddress) : undefined;
}

/** Whether the request came over https (the cookie's default Secure flag, the CSRF scheme check). */
export function isHttps(query: Query | undefined, trustProxy: boolean): boolean {
  if (!query) return false;
  if (trustProxy && firstHop(requestHeader(query, 'x-forwarded-proto'))?.toLowerCase() === 'https') return true;
  if (isRequest(query)) return query.url.startsWith('https:');
  if (isIncomingMessage(query)) return (query.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  return false;
}

/** The host the client asked for, lower case: X-Forwarded-Host's first hop when trusted, else Host, else the URL's. */
export function requestHost(query: Query | undefined, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = firstHop(requestHeader(query, 'x-forwarded-host'));
    if (forwarded) return forwarded.toLowerCase();
  }
  const host = requestHeader(query, 'host');
  if (host) return host.toLowerCase();
  if (isRequest(query)) {
    try {
      return new URL(query.url).host.toLowerCase();
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A request as a session integration sees it: who sent it, over what, to which host. */
export interface RequestView {
  address: string | undefined;
  https: boolean;
  host: string | undefined;
}

/** The request's address, scheme and host under one proxy rule (see above). */
export function requestView(query: Query | undefined, trustProxy: boolean): RequestView {
  return { address: remoteAddressOf(query, trustProxy), https: isHttps(query, trustProxy), host: requestHost(query, trustProxy) };
}
