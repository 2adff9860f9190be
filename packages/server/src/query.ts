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
}

export function claimedRequest(request: Query | ClaimedRequest | undefined, claim: string | undefined): ClaimedRequest {
  return { [CLAIMED]: true, request: isClaimedRequest(request) ? request.request : request ?? {}, claim };
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

/** The raw Cookie header of a request-like query, if it has one. */
export function cookieHeaderOf(query: Query): string | undefined {
  if (isRequest(query)) return query.headers.get('cookie') ?? undefined;
  if (isIncomingMessage(query)) {
    const header = query.headers.cookie;
    return Array.isArray(header) ? header.join('; ') : header;
  }
  return undefined;
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

/** The client address of a Node request; X-Forwarded-For's first hop only when trusted. */
export function remoteAddressOf(query: Query | undefined, trustProxy: boolean): string | undefined {
  if (query && isRequest(query)) {
    // A WHATWG Request has no socket: only a trusted proxy's header can say who sent it.
    const first = trustProxy ? query.headers.get('x-forwarded-for')?.split(',')[0]?.trim() : undefined;
    return first ? normalizeAddress(first) : undefined;
  }
  if (!query || !isIncomingMessage(query)) return undefined;
  if (trustProxy) {
    const forwarded = query.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0];
    if (first && first.trim() !== '') return normalizeAddress(first);
  }
  return normalizeAddress(query.socket?.remoteAddress);
}

/** Whether the request came over https (for the cookie's default Secure flag). */
export function isHttps(query: Query | undefined, trustProxy: boolean): boolean {
  if (!query) return false;
  if (isRequest(query)) {
    if (query.url.startsWith('https:')) return true;
    return trustProxy && query.headers.get('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
  }
  if (isIncomingMessage(query)) {
    if ((query.socket as { encrypted?: boolean } | undefined)?.encrypted) return true;
    const proto = query.headers['x-forwarded-proto'];
    return trustProxy && (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim() === 'https';
  }
  return false;
}
