import type { Query } from '@isosession/server';
import { requestHeader } from './requestHeaders.js';

export interface CsrfOptions {
  /** Origins besides the request's own host allowed to change the session, e.g. `https://admin.example.com`. */
  allowedOrigins?: string[];
  /** Compare against `X-Forwarded-Host` (first hop) instead of `Host`. @default sessionParams.trustProxy */
  trustProxy?: boolean;
}

/**
 * Why a state-changing request must be refused as cross-site, or undefined to allow it. The
 * Origin must name this host with the request's scheme (an http Origin on an https request
 * is refused).
 * The session cookie is SameSite=Lax, which still lets a sibling subdomain or an old browser
 * post with it; so, as OWASP's "verifying origin with standard headers": an `Origin` must name
 * this host (or an allowed origin), and without one, `Sec-Fetch-Site: cross-site` is refused.
 * Requests with neither header (curl, server code) are not browser CSRF and pass.
 */
export function crossSiteReason(req: Query | undefined, options: CsrfOptions): string | undefined {
  const origin = requestHeader(req, 'origin');
  if (origin !== undefined) {
    if (options.allowedOrigins?.includes(origin)) return undefined;
    if (origin === 'null') return 'the request has an opaque Origin ("null")';
    let originUrl: URL;
    try {
      originUrl = new URL(origin);
    } catch {
      return `the request's Origin ${JSON.stringify(origin)} is not a URL`;
    }
    const trustProxy = options.trustProxy ?? false;
    const host = requestHost(req, trustProxy);
    if (host === undefined || host !== originUrl.host.toLowerCase()) return `Origin ${origin} does not match this host (${host ?? 'unknown'})`;
    // The scheme counts too: a page served over plain http (where anyone on the network can
    // inject a script) must not change an https site's session. The reverse — an https
    // Origin on a request that reached us as http — is a TLS-terminating proxy, and passes.
    if (originUrl.protocol !== 'https:' && requestIsHttps(req, trustProxy)) {
      return `Origin ${origin} is not https, but this request is`;
    }
    return undefined;
  }
  if (requestHeader(req, 'sec-fetch-site') === 'cross-site') return 'the browser marked it Sec-Fetch-Site: cross-site';
  return undefined;
}

function requestIsHttps(req: Query | undefined, trustProxy: boolean): boolean {
  if (trustProxy && requestHeader(req, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https') return true;
  if (typeof Request !== 'undefined' && req instanceof Request) return req.url.startsWith('https:');
  const socket = (req as { socket?: { encrypted?: boolean } } | undefined)?.socket;
  return socket?.encrypted === true;
}

function requestHost(req: Query | undefined, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = requestHeader(req, 'x-forwarded-host')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.toLowerCase();
  }
  const host = requestHeader(req, 'host');
  if (host) return host.toLowerCase();
  if (typeof Request !== 'undefined' && req instanceof Request) {
    try {
      return new URL(req.url).host.toLowerCase();
    } catch {
      return undefined;
    }
  }
  return undefined;
}
