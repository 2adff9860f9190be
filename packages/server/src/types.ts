import type { IncomingMessage } from 'node:http';

/** Arguments for the driver, serializer and id generator (CGI::Session's `\%dsn_args`). */
export type DsnArgs = Record<string, unknown>;

/** What a driver holds for one session: the serialized table. */
export type RawSession = string | Uint8Array;

/**
 * A driver may return the raw data alone, or with the atime it keeps outside the data
 * (drivers with a cheap `touch` do; the session takes the later of the two).
 */
export type StoredRecord = RawSession | { data: RawSession; atime?: number };

/** Seconds since the epoch. `expiresAt` lets stores keep a TTL / an indexed expiry column. */
export interface StoreMeta {
  atime: number;
  etime?: number;
  expiresAt?: number;
}

/** What `Merge` tells the driver to do with the stored copy, atomically. */
export type MergeResult =
  | { action: 'store'; data: RawSession; meta: StoreMeta }
  | { action: 'remove' }
  | { action: 'keep' };

/**
 * Computes the next stored copy from the current one (null: none). Synchronous so that a
 * driver can run it inside a lock, a transaction or a compare-and-swap loop; it may throw
 * (`GONE`, `CONFLICT`), which aborts the update with nothing written.
 */
export type Merge = (current: StoredRecord | null) => MergeResult;

export interface Driver {
  /** The stored copy, or null when there is no such session (S77: not an error). */
  retrieve(id: string): Promise<StoredRecord | null>;
  store(id: string, data: RawSession, meta: StoreMeta): Promise<void>;
  remove(id: string): Promise<void>;
  /** Visits every stored id once. */
  traverse(visit: (id: string) => Promise<void> | void): Promise<void>;
  /**
   * Atomic read-merge-write. Drivers without it get retrieve + merge + store, which is
   * correct for one request at a time only.
   */
  update?(id: string, merge: Merge): Promise<void>;
  /** Moves atime (and the TTL) without rewriting the data; false when the id is not stored. */
  touch?(id: string, meta: StoreMeta): Promise<boolean>;
  /** Closes connections the driver opened itself (never a user's Handle/Client). */
  close?(): Promise<void>;
}

export type DriverFactory = (args: DsnArgs) => Driver | Promise<Driver>;

export interface Serializer {
  freeze(data: object): RawSession;
  thaw(raw: RawSession): object;
}

export interface IdGenerator {
  generateId(args: DsnArgs, claimedId?: string): string | Promise<string>;
  /** Whether a claimed id has the shape this generator makes (strict ids). */
  isValidId?(id: string): boolean;
  /**
   * Its ids can be guessed or chosen by a client (`incr`, `static`): then a session made from
   * a request, or whose cookie is built, needs `sessionParams.secret`. @default false
   */
  guessable?: boolean;
}

/** A CGI.pm-like request object. */
export interface CgiLikeQuery {
  cookie?(name: string): unknown;
  param?(name?: string, value?: unknown): unknown;
}

/**
 * A request known by its headers alone: what a framework hands code that never sees the request
 * itself (a Next.js server component or action: `{ headers: await headers() }`). Its Cookie
 * header is read like a request's; with no URL or socket, it is https and has an address only
 * through `trustProxy`'s headers (or `claimedRequest`'s `https`, `sessionParams.remoteAddr`).
 */
export interface HeadersQuery {
  readonly headers: Headers;
}

/** What a request looks like to a session. */
export type Query = Request | IncomingMessage | URLSearchParams | FormData | CgiLikeQuery | HeadersQuery;

export interface CookieOptions {
  /** @default '/' */
  path?: string;
  domain?: string;
  /** @default true when the request is https */
  secure?: boolean;
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /** @default true */
  httpOnly?: boolean;
  partitioned?: boolean;
  /** Seconds; by default the session's expiry, and none (a browser-session cookie) without one. */
  maxAge?: number;
}

export interface HeaderOptions {
  /** @default 'text/html; charset=utf-8' */
  contentType?: string;
  headers?: HeadersInit;
  cookie?: CookieOptions;
}

export type IdSource = 'cookie' | 'query';

export interface SessionParams {
  /** Cookie / param name the id is read from and written to. @default Session.name() ('CGISESSID') */
  name?: string;
  /** Refuse a session to any address other than the one that created it. @default Session.ipMatch() */
  ipMatch?: boolean;
  /** The client's address; else taken from a Node request's socket. */
  remoteAddr?: string;
  /** Take the address from X-Forwarded-For's first hop. @default false */
  trustProxy?: boolean;
  /** Where a claimed id may come from. @default ['cookie'] */
  idFrom?: IdSource[];
  /** Absolute lifetime in seconds (or a duration string) from ctime, whatever the activity. */
  maxAge?: number | string;
  cookie?: CookieOptions;
  /**
   * Sign the id the client holds: the cookie (and an `idFrom: ['query']` param) carries
   * `id.signature` (HMAC-SHA256, base64url), and an unsigned or forged value is treated as no
   * cookie, without a store lookup. A list rotates secrets: the first signs, any of them
   * verifies. Each at least 32 characters. A string sid passed to new()/load() is trusted as
   * it is. @default undefined (ids are not signed)
   */
  secret?: string | string[];
  /**
   * Store and look up SHA-256(id) instead of the id, so a leaked table or dump holds no usable
   * id (Rack CVE-2019-16782). The cookie still carries the real id and `id()` returns it; only
   * in `find()` (which walks the store and never sees real ids) is `id()` the stored hash.
   * Switching it on or off orphans the sessions stored the other way. @default false
   */
  hashIds?: boolean;
  /**
   * How long an id that `regenerate()` or `delete()` removed is remembered (seconds or a
   * duration string): a request that still carries it — a write sent before the login's or
   * logout's response arrived — is refused with `SessionError` code `STALE` instead of being
   * given a new session and a Set-Cookie that would overwrite the browser's newer cookie. What
   * is kept is a tiny tombstone, purged like an expired session; it never leads to the new id.
   * Only ids claimed from a request are checked; `0` leaves no tombstones. @default 60
   */
  staleGrace?: number | string;
  /**
   * Keys the opaque `tag` the browser gets instead of the session id (HMAC-SHA256 of the id).
   * Give every process that shares a store the same value. @default derived from `secret`,
   * else a fixed key (one-way for the default random ids; set it for guessable ids)
   */
  tagKey?: string;
  /**
   * `'cgi-session'`: the store is shared with a running Perl CGI::Session app
   * (docs/migrating-from-perl.md). Every flush after a load writes `_SESSION_ATIME` into the
   * data (Perl reads atime only there, never a file's mtime or an SQL column), a new session
   * always stores `_SESSION_REMOTE_ADDR` (`""` when unknown, as Perl does, whose `-ip_match`
   * deletes sessions without it), and an emptied expiry list stays `{}`.
   * @default undefined (isosession's own format)
   */
  compat?: 'cgi-session';
  /**
   * Largest serialized size of one param (its name and value), in bytes. A longer string is
   * refused at `param()`, anything else at `flush()`: `TOO_LARGE`, nothing stored.
   * @default 65536 (64 KiB)
   */
  maxParamBytes?: number;
  /**
   * Largest serialized size of the whole session, in bytes: a flush that would store more (and
   * more than is stored now) is refused with `TOO_LARGE`, nothing stored. @default 262144 (256 KiB)
   */
  maxSessionBytes?: number;
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number;
}

export interface FindReport {
  visited: number;
  purged: number;
  failed: { id: string; error: unknown }[];
}
