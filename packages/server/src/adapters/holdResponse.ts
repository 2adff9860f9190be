import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export type HoldState = 'open' | 'committing' | 'done';

export interface ResponseHold {
  state(): HoldState;
  /** Lets the response through untouched, without committing (the handler failed). */
  abandon(): void;
}

/** The headers the commit decided on (Set-Cookie, Cache-Control unless the response has one). */
export interface SessionHeaders {
  setCookie?: string | undefined;
  cacheControl?: string | false | undefined;
}

type Args = unknown[];

function appendSetCookie(res: ServerResponse, value: string | readonly string[]): void {
  const existing = res.getHeader('set-cookie');
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
  res.setHeader('set-cookie', [...list, ...(typeof value === 'string' ? [value] : value)]);
}

/** Applies writeHead(status, [message], headers)'s headers by hand, so Set-Cookies add up. */
function applyHeadHeaders(res: ServerResponse, headers: unknown): void {
  if (!headers) return;
  const pairs: [string, unknown][] = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), headers[i + 1]]);
  } else {
    pairs.push(...Object.entries(headers as OutgoingHttpHeaders));
  }
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    if (name.toLowerCase() === 'set-cookie') appendSetCookie(res, value as string | string[]);
    else res.setHeader(name, value as string | number | readonly string[]);
  }
}

/**
 * Holds a Node response — its head and every body chunk — until `commit()` resolves, so the
 * session is flushed and its cookie set before a byte leaves: a flush that fails can still
 * become an error response instead of a success that lost the session (express-session sends
 * first and saves after). writeHead/write/end/flushHeaders are wrapped, never restored: a
 * later middleware may have wrapped ours, so after the commit they pass straight through.
 * On failure the held response is dropped, with the headers it had set, and `onError` answers.
 */
export function holdResponse(
  res: ServerResponse,
  commit: () => Promise<SessionHeaders>,
  onError: (error: unknown) => void,
): ResponseHold {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end, flushHeaders: res.flushHeaders };
  let state: HoldState = 'open';
  let head: Args | undefined;
  const body: (() => void)[] = [];

  const release = (headers: SessionHeaders) => {
    state = 'done';
    if (!res.headersSent) {
      let status: unknown;
      let message: unknown;
      if (head) {
        [status, message] = head;
        const headers = typeof message === 'string' ? head[2] : message;
        if (typeof message !== 'string') message = undefined;
        applyHeadHeaders(res, headers);
      }
      if (headers.setCookie) {
        appendSetCookie(res, headers.setCookie);
        if (headers.cacheControl && !res.hasHeader('cache-control')) res.setHeader('cache-control', headers.cacheControl);
      }
      if (head) {
        if (message === undefined) original.writeHead.call(res, status as number);
        else (original.writeHead as (...a: Args) => ServerResponse).call(res, status, message);
      }
    }
    for (const call of body.splice(0)) call();
  };

  const begin = () => {
    if (state !== 'open') return;
    state = 'committing';
    commit().then(release, (error: unknown) => {
      state = 'done';
      body.length = 0;
      head = undefined;
      if (!res.headersSent) for (const name of res.getHeaderNames()) res.removeHeader(name);
      onError(error);
    });
  };

  res.writeHead = function writeHead(this: ServerResponse, ...args: Args) {
    if (state === 'done') return (original.writeHead as (...a: Args) => ServerResponse).apply(this, args);
    head = args;
    begin();
    return this;
  } as ServerResponse['writeHead'];

  res.write = function write(this: ServerResponse, ...args: Args) {
    if (state === 'done') return (original.write as (...a: Args) => boolean).apply(this, args);
    body.push(() => (original.write as (...a: Args) => boolean).apply(this, args));
    begin();
    return true;
  } as ServerResponse['write'];

  res.end = function end(this: ServerResponse, ...args: Args) {
    if (state === 'done') return (original.end as (...a: Args) => ServerResponse).apply(this, args);
    body.push(() => (original.end as (...a: Args) => ServerResponse).apply(this, args));
    begin();
    return this;
  } as ServerResponse['end'];

  res.flushHeaders = function flushHeaders(this: ServerResponse) {
    if (state === 'done') return original.flushHeaders.call(this);
    body.push(() => original.flushHeaders.call(this));
    begin();
  };

  return {
    state: () => state,
    abandon: () => {
      if (state === 'open') state = 'done';
    },
  };
}
