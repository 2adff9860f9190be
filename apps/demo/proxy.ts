import { createSessionProxy } from '@isosession/next';
import { SESSION_TTL, dsn, dsnArgs, sessionParams } from './lib/session';

// Every page request has a session before it renders (created on a first visit, touched on
// the next ones), so server components can read it and hand the browser its snapshot.
export const proxy = createSessionProxy({
  dsn,
  dsnArgs,
  sessionParams,
  prepare(session) {
    if (session.expire() === undefined) session.expire(SESSION_TTL);
  },
});

export const config = {
  matcher: [
    {
      source: '/((?!api/|_next/static|_next/image|favicon.ico).*)',
      // Server actions set the session cookie themselves (see createSessionProxy).
      missing: [{ type: 'header', key: 'next-action' }],
    },
  ],
};
