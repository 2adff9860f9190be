import { requestHeader, requestView } from '@isosession/server';
import type { Query } from '@isosession/server';

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
    const view = requestView(req, options.trustProxy ?? false);
    const host = view.host;
    if (host === undefined || host !== originUrl.host.toLowerCase()) return `Origin ${origin} does not match this host (${host ?? 'unknown'})`;
    // The scheme counts too: a page served over plain http (where anyone on the network can
    // inject a script) must not change an https site's session. The reverse — an https
    // Origin on a request that reached us as http — is a TLS-terminating proxy, and passes.
    if (originUrl.protocol !== 'https:' && view.https) {
      return `Origin ${origin} is not https, but this request is`;
    }
    return undefined;
  }
  if (requestHeader(req, 'sec-fetch-site') === 'cross-site') return 'the browser marked it Sec-Fetch-Site: cross-site';
  return undefined;
}
