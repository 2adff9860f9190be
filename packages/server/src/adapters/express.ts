import type { IncomingMessage, ServerResponse } from 'node:http';
import '../builtins.js';
import { Session } from '../Session.js';
import { holdResponse } from './holdResponse.js';
import { bodyTooLargeError, declaredTooLarge } from './limitRequestBody.js';
import { commitSession, maxBodyBytesOf, sessionStart, withHttpStatus } from './sessionResponse.js';
import type { AdapterOptions } from './sessionResponse.js';

export type { AdapterOptions } from './sessionResponse.js';
export { sessionErrorStatus } from './sessionResponse.js';

/** A request after the middleware ran. */
export type RequestWithSession<R extends IncomingMessage = IncomingMessage> = R & { session: Session };

export type NextFunction = (error?: unknown) => void;

/**
 * Express / Connect middleware: `app.use(isosession({ dsn, dsnArgs, sessionParams }))`, then
 * `req.session` is a `Session` (read from the cookie; a bad, unknown or expired one gives a
 * new session). It is flushed, and its cookie set, before the response's headers leave.
 * A session failure — a store outage when loading or flushing — goes to `next(err)` with
 * `err.status` 503 (`STORE_UNAVAILABLE`), 409 (`STALE`: the cookie was replaced moments ago by
 * a login or logout; no Set-Cookie is sent, the client retries) or 500, so Express's default
 * handler answers with that status and
 * an error handler can check `err.code`; the held response is dropped, never sent as a success.
 * The client address comes from the socket, or X-Forwarded-For with `sessionParams.trustProxy`.
 */
export function isosession(options: AdapterOptions = {}) {
  const { dsn = null, dsnArgs = null, sessionParams = {} } = options;
  const sessions = Session.opener(dsn, dsnArgs, sessionParams);
  const maxBodyBytes = maxBodyBytesOf(options);
  return function isosessionMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (maxBodyBytes !== false && declaredTooLarge(req.headers['content-length'], maxBodyBytes)) {
      // Before the session loads or a byte of the body is read: err.status 413 for Express.
      next(withHttpStatus(bodyTooLargeError(maxBodyBytes)));
      return;
    }
    sessions.newSession(req).then(
      (session) => {
        (req as RequestWithSession).session = session;
        const start = sessionStart(session);
        holdResponse(
          res,
          async () => ({ setCookie: await commitSession(session, start, options), cacheControl: options.cacheControl ?? 'no-store' }),
          (error) => next(withHttpStatus(error)),
        );
        next();
      },
      (error: unknown) => next(withHttpStatus(error)),
    );
  };
}
