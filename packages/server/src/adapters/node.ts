import type { IncomingMessage, ServerResponse } from 'node:http';
import '../builtins.js';
import { Session } from '../Session.js';
import { holdResponse } from './holdResponse.js';
import type { ResponseHold } from './holdResponse.js';
import { declaredTooLarge } from './limitRequestBody.js';
import { STALE_BODY, commitSession, maxBodyBytesOf, sessionErrorStatus, sessionStart, tooLargeText } from './sessionResponse.js';
import type { AdapterOptions } from './sessionResponse.js';

export type { AdapterOptions } from './sessionResponse.js';
export { sessionErrorStatus } from './sessionResponse.js';

export type NodeSessionListener = (req: IncomingMessage, res: ServerResponse, session: Session) => unknown;

export interface NodeSessionOptions extends AdapterOptions {
  /**
   * Answers a failure: the session could not be loaded or flushed (a store outage is a
   * `SessionError` with code `STORE_UNAVAILABLE`), or the listener threw before its response
   * started (later, the response stands and the error becomes a process warning). By default:
   * 503 for a store outage, 500 otherwise, as plain text; 409 with a JSON body whose
   * `error.code` is `STALE` (and no Set-Cookie) for a cookie that a login or logout replaced
   * moments ago; a response under way is destroyed.
   */
  onError?: (error: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

function defaultOnError(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  const status = sessionErrorStatus(error);
  if (status === 409) {
    res.writeHead(409, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(STALE_BODY);
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(status === 503 ? 'Service Unavailable: the session store did not answer\n' : status === 413 ? 'Payload Too Large\n' : 'Internal Server Error\n');
}

/**
 * A plain `node:http` request listener with a session:
 * `http.createServer(withNodeSession(async (req, res, session) => { ... }, options))`.
 * The session is flushed, and its cookie set, before the response's headers leave; until the
 * listener's response starts, a failure goes to `onError` instead of a false success.
 */
export function withNodeSession(listener: NodeSessionListener, options: NodeSessionOptions = {}) {
  const { dsn = null, dsnArgs = null, sessionParams = {} } = options;
  const sessions = Session.opener(dsn, dsnArgs, sessionParams);
  const onError = options.onError ?? defaultOnError;
  const maxBodyBytes = maxBodyBytesOf(options);
  return function isosessionListener(req: IncomingMessage, res: ServerResponse): void {
    if (maxBodyBytes !== false && declaredTooLarge(req.headers['content-length'], maxBodyBytes)) {
      // Answered before the session loads or a byte of the body is read; the connection closes.
      res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
      res.end(tooLargeText(maxBodyBytes));
      return;
    }
    let hold: ResponseHold | undefined;
    (async () => {
      const session = await sessions.newSession(req);
      const start = sessionStart(session);
      hold = holdResponse(
        res,
        async () => ({ setCookie: await commitSession(session, start, options), cacheControl: options.cacheControl ?? 'no-store' }),
        // The flush failed: the held response was dropped, so onError answers instead.
        (error) => onError(error, req, res),
      );
      await listener(req, res, session);
    })().catch((error: unknown) => {
      if (hold === undefined || hold.state() === 'open') {
        // Nothing of the response has started: no flush, and onError answers.
        hold?.abandon();
        onError(error, req, res);
        return;
      }
      // The listener had already ended (or started) its response: that response stands.
      process.emitWarning(`isosession: the request listener failed after its response had started: ${error instanceof Error ? error.message : String(error)}`, { code: 'ISOSESSION_LISTENER_ERROR' });
    });
  };
}
