import type { Session } from '../Session.js';

/** What a demo route answers; each adapter's harness turns it into its own response. */
export interface DemoResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Send the body in these pieces, with a pause between them (streaming responses). */
  chunks?: string[];
  /** Redirect here instead (status 302). */
  redirect?: string;
}

/**
 * The app every adapter serves in the shared suite. Routes: /count (n += 1), /peek (reads
 * only), /login?user= (sets user, regenerate()), /logout (delete()), /expire?s= (expire(s)),
 * /cached (its own Cache-Control), /stream (chunked body), /redirect (302 after n += 1).
 * The body is the session as the handler saw it, as JSON.
 */
export function demoApp(url: URL, session: Session): DemoResult {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let chunks: string[] | undefined;
  let redirect: string | undefined;
  switch (url.pathname) {
    case '/count':
    case '/stream':
    case '/redirect':
      session.param('n', ((session.param('n') as number | undefined) ?? 0) + 1);
      if (url.pathname === '/stream') chunks = ['{"part":1', ',"part2":2', '}'];
      if (url.pathname === '/redirect') redirect = '/peek';
      break;
    case '/login':
      session.param('user', url.searchParams.get('user'));
      session.regenerate();
      break;
    case '/logout':
      session.delete();
      break;
    case '/expire':
      session.expire(Number(url.searchParams.get('s')));
      break;
    case '/cached':
      headers['cache-control'] = 'private, max-age=5';
      break;
    default:
      break;
  }
  const body = JSON.stringify({
    id: session.id(),
    isNew: session.isNew(),
    n: session.param('n') ?? 0,
    user: session.param('user') ?? null,
    remoteAddr: session.remoteAddr() ?? null,
  });
  return { status: 200, headers, body: chunks ? chunks.join('') : body, chunks, redirect };
}
