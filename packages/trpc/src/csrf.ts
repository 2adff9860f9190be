import type { Query } from '@isosession/server';
import { requestHeader } from './requestHeaders.js';

export interface CsrfOptions {
  /** Origins besides the request's own host allowed to change the session, e.g. `https://admin.example.com`. */
  allowedOrigins?: string[];
  /** Compare against `X-Forwarded-Host` (first hop) instead of `Host`. @default sessionParams.trustProxy */
  trustProxy?: boolean;
}

/**
 * Why a state-changing request must be refused as cross-site, or undefined to allow it.
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
    let originHost: string;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      return `the request's Origin ${JSON.stringify(origin)} is not a URL`;
    }
    const host = requestHost(req, options.trustProxy ?? false);
    if (host !== undefined && host === originHost) return undefined;
    return `Origin ${origin} does not match this host (${host ?? 'unknown'})`;
  }
  if (requestHeader(req, 'sec-fetch-site') === 'cross-site') return 'the browser marked it Sec-Fetch-Site: cross-site';
  return undefined;
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
