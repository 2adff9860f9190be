import type { SessionIssue } from '@isosession/core';

/** A failed session request: the router's code (BAD_REQUEST, FORBIDDEN, CONFLICT…) and issues. */
export class SessionRequestError extends Error {
  override readonly name = 'SessionRequestError';
  /** The tRPC error code, e.g. `BAD_REQUEST`; `NETWORK` when no answer came. */
  readonly code: string;
  /** The param the server refused, when it names one. */
  readonly param: string | null;
  /** The schema's issues for a refused value. */
  readonly issues: SessionIssue[] | null;
  /**
   * The session failure behind it, when the router names one: `STALE` (a login or logout
   * replaced the cookie this request carried; the store retries once by itself), `GONE`,
   * `CONFLICT`, `STORE_UNAVAILABLE`.
   */
  readonly sessionCode: string | null;

  constructor(message: string, details: { code?: string; param?: string | null; issues?: SessionIssue[] | null; sessionCode?: string | null; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.code = details.code ?? 'NETWORK';
    this.param = details.param ?? null;
    this.issues = details.issues ?? null;
    this.sessionCode = details.sessionCode ?? null;
  }
}
