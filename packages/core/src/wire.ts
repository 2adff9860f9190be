// What the session router sends and the browser's transports read, declared once where both
// sides see it (the router in @isosession/trpc, the transports in @isosession/react).

/** A schema issue as sent to the browser: the message and a path of plain keys. */
export interface SessionIssue {
  message: string;
  path?: (string | number)[];
}

/** The session failures a client acts on (retry once after `STALE`, reload after `GONE`…). */
export type ClientSessionErrorCode = 'STALE' | 'GONE' | 'CONFLICT' | 'STORE_UNAVAILABLE';

/** The error `data` every session router error carries: the failing param and its schema issues. */
export interface SessionErrorData {
  param: string | null;
  issues: SessionIssue[] | null;
  /**
   * Which session failure this was, for the ones a client acts on: `STALE` (a login or logout
   * replaced the cookie this request carried: retry once), `GONE`, `CONFLICT`,
   * `STORE_UNAVAILABLE`; null otherwise.
   */
  sessionCode: ClientSessionErrorCode | null;
}
