/**
 * What the browser sees of a session: its public params only, never private ones.
 * Times are seconds since the epoch. Produced on the server, consumed by tRPC and React.
 */
export interface SessionSnapshot<P extends Record<string, unknown> = Record<string, unknown>> {
  /**
   * Tells this session from another (it changes on login's regenerate and on logout). An
   * opaque HMAC of the id: never the id or the cookie value, which stay in the HttpOnly
   * cookie where page scripts cannot read them, and never accepted as a cookie.
   */
  tag: string;
  /** The declared public params, each with its value or default. */
  params: P;
  /** Increases on every stored change; lets clients discard stale snapshots. */
  version: number;
  ctime: number;
  atime: number;
  /** When the session expires if left idle (atime + expire, capped by maxAge); null: never. */
  expiresAt: number | null;
  /** Per-param idle expiry instants, for params with `expire(name, t)`. */
  paramExpiresAt: Partial<Record<keyof P & string, number>>;
  /** True only for the response that created the session. */
  isNew: boolean;
}
