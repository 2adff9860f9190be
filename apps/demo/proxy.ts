import { createSessionProxy } from '@isosession/next';
import { SESSION_TTL, dsn, dsnArgs, sessionParams } from './lib/session';

// A returning visitor's session is touched before the page renders (its idle expiry
// restarts), so server components read it fresh. A first visit stores nothing: the page
// renders with the defaults and the first write (add to cart, theme, login) creates it.
export const proxy = createSessionProxy({ dsn, dsnArgs, sessionParams, idleExpiry: SESSION_TTL });

export const config = {
  matcher: [
    {
      source: '/((?!api/|_next/static|_next/image|favicon.ico).*)',
      // Server actions set the session cookie themselves (see createSessionProxy).
      missing: [{ type: 'header', key: 'next-action' }],
    },
  ],
};
