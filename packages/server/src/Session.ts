import { inspect } from 'node:util';
import { SessionError, parseDsn as parseDsnString, parseDuration } from '@isosession/core';
import type { ParsedDsn } from '@isosession/core';
import { closeAllDrivers } from './registry.js';
import { isClaimedRequest, isHttps, remoteAddressOf } from './query.js';
import type { ClaimedRequest } from './query.js';
import { serializeSessionCookie, sessionCookie } from './sessionCookie.js';
import type { SessionCookie } from './sessionCookie.js';
import { signId } from './signedId.js';
import { sessionTag } from './sessionTag.js';
import {
  ATIME, CTIME, ETIME, EXPIRE_LIST, ID, REMOTE_ADDR,
  copyTable, expireList, getKey, isReserved, publicNames, setExpireList, setKey,
} from './sessionTable.js';
import type { SessionTable } from './sessionTable.js';
import { checkParamOnSet } from './sizeLimits.js';
import type { CookieOptions, Driver, DsnArgs, FindReport, HeaderOptions, Query, SessionParams } from './types.js';
import { sessionExpiresAt } from './session/expiry.js';
import { parseConstructorArgs, parseFindArgs, parseParamArgs } from './session/arguments.js';
import type { ConstructorArgs } from './session/arguments.js';
import { checkCookieName, isPerl, refuseGuessableIds, resolveConfig } from './session/config.js';
import type { Config } from './session/config.js';
import { claimOf, refuseWithoutAddress } from './session/claim.js';
import { flushState } from './session/flush.js';
import type { FlushOptions } from './session/flush.js';
import { walkSessions } from './session/findWalk.js';
import { createState, loadState } from './session/load.js';
import { makeOpener } from './session/opener.js';
import type { OpenMode, SessionOpener } from './session/opener.js';
import { fail, lastErrorMessage, processIpMatch, processName, succeeded } from './session/processDefaults.js';
import { paramsOfQuery, writeParamsToQuery } from './session/queryParams.js';
import { readOnlyContent } from './session/readOnlyContent.js';
import { emptyState, handled, nowOf } from './session/state.js';
import type { Scope, SessionState } from './session/state.js';
import { retryOnConflict } from './session/updateLoop.js';
export type { ConstructorArgs } from './session/arguments.js';
export type { SessionOpener } from './session/opener.js';

// The session object: CGI::Session's API over a SessionState (the table, what changed, what
// was stored). What it does to the store lives in session/ as small modules of their own: how
// it is called (arguments), configured (config), claimed (claim), loaded (load), flushed
// (flush, flushMerge, changeSet), stored (storedRecord, storeOps), expired (expiry), walked
// (findWalk).

export interface UpdateOptions {
  dsn?: string | null;
  dsnArgs?: DsnArgs | null;
  sessionParams?: SessionParams;
  /** How many times to retry after losing a race. @default 100 */
  retries?: number;
}

function warn(message: string): void {
  process.emitWarning(`isosession: ${message}`, { code: 'ISOSESSION_RESERVED_PARAM' });
}

/**
 * One session: CGI::Session's API with promises where storage is touched (S1). Construct
 * with `Session.new(...)` / `Session.load(...)`; nothing is written until `flush()` (S3).
 */
export class Session {
  readonly #config: Config;
  readonly #query: Query | undefined;
  /** https as the caller knew it (`claimedRequest`'s option), over what the request says. */
  readonly #https: boolean | undefined;
  #name: string | undefined;
  readonly #scope: Scope;
  readonly #s: SessionState = emptyState();
  /** The flush in progress: flushes of one object run one after another. */
  #flushing: Promise<unknown> = Promise.resolve();
  /** Set by readOnly(): why writing is refused, and the content flush() compares against. */
  #readOnly: { reason: string; content: string } | undefined;
  #hooks: FlushHooks | undefined;

  private constructor(config: Config, query: Query | undefined, remoteAddr?: string, https?: boolean) {
    this.#config = config;
    this.#query = query;
    this.#https = https;
    this.#name = config.sessionParams.name;
    this.#scope = {
      config,
      fromRequest: query !== undefined,
      remoteAddr: remoteAddr ?? config.sessionParams.remoteAddr ?? remoteAddressOf(query, config.sessionParams.trustProxy ?? false),
      visitedKey: undefined,
    };
  }

  // ---------------------------------------------------------------- construction

  /** A live session for the claimed id, or a brand-new one (S6, S11, S12). */
  static new(...args: ConstructorArgs): Promise<Session> {
    return Session.#construct('new', args);
  }

  /** The stored session for the claimed id, or an empty one; never creates (S7, S10). */
  static load(...args: ConstructorArgs): Promise<Session> {
    return Session.#construct('load', args);
  }

  static async #construct(mode: OpenMode, args: ConstructorArgs): Promise<Session> {
    try {
      const { dsn, sidOrQuery, dsnArgs, sessionParams } = parseConstructorArgs(mode, args);
      return await Session.#open(await resolveConfig(dsn, dsnArgs, sessionParams), mode, sidOrQuery, undefined);
    } catch (error) {
      return fail(error);
    }
  }

  /**
   * Sessions of one configuration for many requests (see `SessionOpener`): the adapters make
   * one per middleware, so that no request re-checks the DSN, the secrets or the limits.
   */
  static opener(dsn: string | null = null, dsnArgs: DsnArgs | null = null, sessionParams: SessionParams = {}): SessionOpener {
    return makeOpener(dsn, dsnArgs, sessionParams, Session.#open);
  }

  /** One session of `config` for a request or a sid, loaded (and with `new`, created). */
  static async #open(config: Config, mode: OpenMode, sidOrQuery: unknown, remoteAddr: string | undefined): Promise<Session> {
    const claimed = isClaimedRequest(sidOrQuery) ? sidOrQuery : undefined;
    const query = claimed ? claimed.request : typeof sidOrQuery === 'object' && sidOrQuery !== null ? (sidOrQuery as Query) : undefined;
    if (query) refuseGuessableIds(config, 'a request was given');
    const session = new Session(config, query, remoteAddr, claimed?.https);
    if (query) refuseWithoutAddress(config, session.#scope.remoteAddr);
    await loadState(session.#scope, session.#s, mode, claimOf(sidOrQuery, config, session.name()));
    succeeded();
    return session;
  }

  /**
   * S14: on an empty or expired session, a new session with the same configuration; on a
   * live one, that same session.
   */
  async new(): Promise<Session> {
    if (this.#s.table !== null && !this.#s.deleted) return this;
    const session = new Session(this.#config, this.#query, this.#scope.remoteAddr, this.#https);
    session.#name = this.#name;
    try {
      await createState(session.#scope, session.#s, undefined, nowOf(session.#config));
    } catch (error) {
      return fail(error);
    }
    return session;
  }

  // ---------------------------------------------------------------- find / update

  /**
   * Visits every stored session (S55–S60): each is loaded without moving its atime, expired
   * ones are purged and handed over empty, and what `code` changes is flushed. Sessions that
   * fail to load are reported in `failed` and the walk goes on.
   */
  static find(code: FindCallback): Promise<FindReport>;
  static find(dsn: string | null, code: FindCallback, dsnArgs?: DsnArgs | null, sessionParams?: SessionParams): Promise<FindReport>;
  static async find(...args: unknown[]): Promise<FindReport> {
    try {
      const { dsn, code, dsnArgs, sessionParams } = parseFindArgs(args);
      const config = await resolveConfig(dsn, dsnArgs, sessionParams);
      return await walkSessions(config, (id) => Session.#visit(config, id), code);
    } catch (error) {
      return fail(error);
    }
  }

  /** A stored session as find() hands it over; undefined: a tombstone, skipped, or removed meanwhile. */
  static async #visit(config: Config, id: string): Promise<Session | undefined> {
    const session = new Session(config, undefined);
    if ((await loadState(session.#scope, session.#s, 'find', id)) === 'skipped') return undefined;
    return session.#s.table === null && !session.#s.isExpired ? undefined : session;
  }

  /**
   * Read-modify-write with retries (compare-and-swap on the stored version): `fn` runs on a
   * freshly loaded session until its flush lands on the copy it read. For counters and carts.
   */
  static async update(sidOrQuery: string | Query | ClaimedRequest, fn: (session: Session) => void | Promise<void>, options: UpdateOptions = {}): Promise<Session> {
    try {
      return await retryOnConflict(
        fn,
        options.retries ?? 100,
        () => Session.new(options.dsn ?? null, sidOrQuery, options.dsnArgs ?? null, options.sessionParams ?? {}),
        (session) => session.#flush({ expectVersion: session.#s.loadedVersion, expectData: session.#s.loadedData }),
      );
    } catch (error) {
      // A failure of `fn` is not retried and nothing is flushed; errstr() tells, as for any failure.
      return fail(error);
    }
  }

  // ---------------------------------------------------------------- process-wide

  static parseDsn(dsn: string): ParsedDsn {
    return parseDsnString(dsn);
  }

  static errstr(): string {
    return lastErrorMessage();
  }

  static name(newName?: string): string {
    return processName(newName);
  }

  static ipMatch(on?: boolean): boolean {
    return processIpMatch(on);
  }

  /** Closes every store connection opened through a DSN (pools, clients), e.g. before exit. */
  static closeAll(): Promise<void> {
    return closeAllDrivers();
  }

  // ---------------------------------------------------------------- status

  id(): string | undefined {
    const id = this.#s.table === null ? undefined : getKey(this.#s.table, ID);
    return typeof id === 'string' ? id : undefined;
  }

  isNew(): boolean {
    return this.#s.isNew;
  }

  isEmpty(): boolean {
    return this.#s.table === null;
  }

  isExpired(): boolean {
    return this.#s.isExpired;
  }

  atime(): number | undefined {
    return this.#time(ATIME);
  }

  ctime(): number | undefined {
    return this.#time(CTIME);
  }

  #time(key: string): number | undefined {
    const value = this.#s.table === null ? undefined : getKey(this.#s.table, key);
    return typeof value === 'number' ? value : undefined;
  }

  /** The stored version (0 before the first flush); increases with every stored change. */
  version(): number {
    return this.#s.loadedVersion;
  }

  #writable(method: string): SessionTable {
    if (this.#s.table === null) {
      throw new SessionError('INVALID_ARGUMENT', `${method}(): this session is empty (nothing was loaded, or it was deleted); call s.new() for a new one`);
    }
    return this.#s.table;
  }

  // ---------------------------------------------------------------- params

  param(): string[];
  param(name: string): unknown;
  param(name: string, value: unknown): unknown;
  param(named: { '-name': string; '-value'?: unknown }): unknown;
  param(values: Record<string, unknown>): number;
  param(...args: unknown[]): unknown {
    const call = parseParamArgs(args);
    switch (call.kind) {
      case 'names':
        return this.#s.table === null ? [] : publicNames(this.#s.table);
      case 'get':
        return this.#s.table === null ? undefined : getKey(this.#s.table, call.name);
      case 'set':
        return this.#setParam(call.name, call.value);
      case 'setMany': {
        let count = 0;
        for (const name of Object.keys(call.values)) {
          if (isReserved(name)) {
            warn(`param(): "${name}" is reserved and was not set`);
            continue;
          }
          this.#setParam(name, call.values[name]);
          count += 1;
        }
        return count;
      }
    }
  }

  #setParam(name: string, value: unknown): unknown {
    if (isReserved(name)) {
      // S25: reserved keys are never written by param().
      warn(`param(): "${name}" is reserved and was not set`);
      return undefined;
    }
    const table = this.#writable('param');
    if (value === undefined) {
      // S28: undefined removes the param, like clear(name).
      if (Object.hasOwn(table, name)) this.clear(name);
      return undefined;
    }
    checkParamOnSet(name, value, this.#config.limits);
    setKey(table, name, value);
    this.#s.changes.set.add(name);
    this.#s.changes.cleared.delete(name);
    return value;
  }

  /** S29: removes the named public params, or all of them. */
  clear(names?: string | string[]): void {
    if (this.#s.table === null) return;
    const table = this.#s.table;
    const list = names === undefined ? publicNames(table) : Array.isArray(names) ? names : [names];
    for (const name of list) {
      if (typeof name !== 'string' || isReserved(name)) continue;
      if (Object.hasOwn(table, name)) delete table[name];
      this.#s.changes.cleared.add(name);
      this.#s.changes.set.delete(name);
    }
  }

  // ---------------------------------------------------------------- expiry

  expire(): number | undefined;
  expire(time: number | string): void;
  expire(param: string, time: number | string): void;
  expire(...args: unknown[]): number | undefined {
    if (args.length === 0) {
      const etime = this.#s.table === null ? undefined : getKey(this.#s.table, ETIME);
      return typeof etime === 'number' ? etime : undefined;
    }
    if (args.length === 1) {
      const seconds = parseDuration(args[0] as number | string);
      const table = this.#writable('expire');
      if (seconds === 0) delete table[ETIME];
      else setKey(table, ETIME, seconds);
      this.#s.changes.etime = true;
      return undefined;
    }
    const [name, time] = args;
    if (typeof name !== 'string') {
      throw new SessionError('INVALID_ARGUMENT', 'expire(name, time): the param name must be a string');
    }
    const seconds = parseDuration(time as number | string);
    const table = this.#writable('expire');
    const list = { ...expireList(table) };
    if (seconds === 0) delete list[name];
    else setKey(list, name, seconds); // an own key, even "__proto__"
    setExpireList(table, list, isPerl(this.#config));
    this.#s.changes.expireList.set(name, seconds === 0 ? null : seconds);
    return undefined;
  }

  /** Alias of `expire` (CGI::Session's `expires`). */
  expires(...args: unknown[]): number | undefined {
    return (this.expire as (...a: unknown[]) => number | undefined)(...args);
  }

  etime(): number | undefined {
    return this.expire();
  }

  /** When the session expires if left idle, capped by maxAge; undefined: never. */
  expiresAt(): number | undefined {
    if (this.#s.table === null) return undefined;
    const atime = this.atime() ?? nowOf(this.#config);
    return sessionExpiresAt({ atime, ctime: this.ctime() ?? atime, etime: this.expire(), maxAge: this.#config.maxAge });
  }

  /** Per-param expiry instants (atime + seconds) for params with `expire(name, t)`. */
  paramExpiresAt(): Record<string, number> {
    if (this.#s.table === null) return {};
    const atime = this.atime() ?? nowOf(this.#config);
    const result: Record<string, number> = {};
    for (const [name, seconds] of Object.entries(expireList(this.#s.table))) setKey(result, name, atime + seconds); // "__proto__" too
    return result;
  }

  // ---------------------------------------------------------------- data

  /** S30: the whole table, `_SESSION_*` keys included (a copy: change it through param()). */
  dataref(): Readonly<Record<string, unknown>> {
    if (this.#s.table === null) return {};
    const copy = copyTable(this.#s.table);
    // The expiry list is an object of our own: a copy too, or writing to it would change expiries.
    const list = getKey(copy, EXPIRE_LIST);
    if (list !== null && typeof list === 'object') setKey(copy, EXPIRE_LIST, Object.freeze(copyTable(list as SessionTable)));
    return Object.freeze(copy);
  }

  /** S21: copies request parameters into the session as params (several values become an array). */
  saveParam(query?: Query | null, names?: string[]): void {
    const source = query ?? this.#query;
    if (!source) throw new SessionError('INVALID_ARGUMENT', 'saveParam(): no query given and the session was not made from one');
    for (const [name, value] of paramsOfQuery(source, names)) this.#setParam(name, value);
  }

  /** S21: copies the session's public params into the query with `q.param(name, value)`. */
  loadParam(query?: Query | null, names?: string[]): void {
    const target = query ?? this.#query;
    if (!target) throw new SessionError('INVALID_ARGUMENT', 'loadParam(): no query given and the session was not made from one');
    writeParamsToQuery(target, (names ?? this.param()).map((name): [string, unknown] => [name, this.param(name)]));
  }

  // ---------------------------------------------------------------- lifecycle

  /** S49: marks the session deleted; flush() removes it from the store. */
  delete(): void {
    if (this.#readOnly !== undefined) throw new SessionError('INVALID_ARGUMENT', `delete(): ${this.#readOnly.reason}`);
    if (this.#s.table !== null) this.#s.deleted = true;
  }

  /** A new id for the same data; the old id is removed at flush (session fixation defence). */
  regenerate(): void {
    const table = this.#writable('regenerate');
    const oldId = this.id();
    if (!this.#s.isNew && this.#s.previousId === undefined) this.#s.previousId = oldId;
    const next = this.#config.idGenerator.generateId(this.#config.dsnArgs);
    if (typeof next === 'string') setKey(table, ID, next);
    else this.#s.pendingId = handled(next);
    this.#s.changes.atime = true;
  }

  /** Moves atime to now; a flush with nothing else changed only touches the store. */
  touch(): void {
    const table = this.#writable('touch');
    setKey(table, ATIME, nowOf(this.#config));
    this.#s.changes.atime = true;
  }

  /** S47, S48, S54: writes this object's changes onto the latest stored copy, atomically. */
  flush(): Promise<void> {
    if (this.#readOnly !== undefined) {
      // Read-only: nothing is written; a change made meanwhile is a mistake worth an error.
      if (readOnlyContent(this.#s.table, this.#config.serializer) === this.#readOnly.content) return Promise.resolve();
      return Promise.reject(new SessionError('INVALID_ARGUMENT', `flush(): ${this.#readOnly.reason}`));
    }
    const hooks = this.#hooks;
    if (hooks?.skip?.(this)) return Promise.resolve();
    const flushed = this.#flush({});
    return hooks?.stored ? flushed.then(() => hooks.stored!(this)) : flushed;
  }

  /**
   * Makes this session read-only, as it stands now: `flush()` (and `close()`) then write
   * nothing, resolving when nothing but the access time changed and rejecting with
   * `INVALID_ARGUMENT` (saying `reason`) when something did; `delete()` throws. For code that
   * may read but cannot send a cookie, such as a Next.js server component.
   */
  readOnly(reason: string): this {
    this.#readOnly = { reason, content: readOnlyContent(this.#s.table, this.#config.serializer) };
    return this;
  }

  isReadOnly(): boolean {
    return this.#readOnly !== undefined;
  }

  /**
   * What an integration does around every `flush()` of this session: `skip` may leave the
   * store alone (a new session nothing was written to), `stored` runs after the store took
   * the flush (set the cookie, announce the change); its failure fails the flush.
   */
  onFlush(hooks: FlushHooks): this {
    this.#hooks = hooks;
    return this;
  }

  async #flush(options: FlushOptions): Promise<void> {
    // One flush at a time per object: a second flush() waits for the first and then writes what
    // is left (two at once lost track of a regenerate(): the second one failed GONE).
    const run = this.#flushing.then(() => flushState(this.#scope, this.#s, options));
    this.#flushing = run.catch(() => undefined);
    try {
      await run;
    } catch (error) {
      return fail(error);
    }
  }

  /** S52: the same as flush(). */
  close(): Promise<void> {
    return this.flush();
  }

  /** `await using s = await Session.new(req)` flushes when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.flush();
  }

  // ---------------------------------------------------------------- request side

  remoteAddr(): string | undefined {
    const address = this.#s.table === null ? undefined : getKey(this.#s.table, REMOTE_ADDR);
    return typeof address === 'string' ? address : undefined;
  }

  /** Whether this request comes from the address that created the session. */
  ipMatch(): boolean {
    const created = this.remoteAddr();
    return created !== undefined && created === this.#scope.remoteAddr;
  }

  /** S65: this session's cookie name (its own, else the process default). */
  name(newName?: string): string {
    if (newName !== undefined) this.#name = checkCookieName(newName);
    return this.#name ?? processName();
  }

  query(): Query | undefined {
    return this.#query;
  }

  /**
   * What the client sends back: `id.signature` with `sessionParams.secret`, else the id
   * (for cookie-free clients, `idFrom: ['query']`, put this in the URL, not `id()`).
   */
  cookieValue(): string | undefined {
    const id = this.id();
    if (id === undefined) return undefined;
    refuseGuessableIds(this.#config, 'a cookie or header was built');
    const secrets = this.#config.secrets;
    return secrets ? signId(id, secrets[0] as string) : id;
  }

  /**
   * What the browser may hold to tell this session from another (a snapshot's `tag`): an
   * HMAC of the id, never the id or the cookie value, so page scripts cannot replay it.
   * Stable for one id under one `sessionParams.tagKey` (or `secret`), in every process.
   */
  tag(): string | undefined {
    const id = this.id();
    if (id === undefined) return undefined;
    return sessionTag(id, { tagKey: this.#config.sessionParams.tagKey, secret: this.#config.secrets?.[0] });
  }

  /** S67–S69: the Set-Cookie value for this session. */
  cookie(options: CookieOptions = {}): string {
    return serializeSessionCookie(this.cookieData(options));
  }

  /**
   * The same cookie as data, `{ name, value, options }`: what a framework's cookie store takes
   * (Next.js: `cookies().set({ name, value, ...options })`) without a header string to parse.
   */
  cookieData(options: CookieOptions = {}): SessionCookie {
    const now = nowOf(this.#config);
    const id = this.id();
    const expiresAt = this.expiresAt();
    return sessionCookie({
      name: this.name(),
      value: this.#s.deleted || this.#s.isExpired || id === undefined ? undefined : this.cookieValue(),
      maxAge: expiresAt === undefined ? undefined : expiresAt - now,
      now,
      secureByDefault: this.#https ?? isHttps(this.#query, this.#config.sessionParams.trustProxy ?? false),
      options: { ...this.#config.sessionParams.cookie, ...options },
    });
  }

  /** S70: Set-Cookie + Content-Type (+ Cache-Control: no-store, as a cached Set-Cookie leaks). */
  header(init: HeaderOptions = {}): Headers {
    const headers = new Headers(init.headers);
    headers.append('Set-Cookie', this.cookie(init.cookie));
    if (!headers.has('Content-Type')) headers.set('Content-Type', init.contentType ?? 'text/html; charset=utf-8');
    if (!headers.has('Cache-Control')) headers.set('Cache-Control', 'no-store');
    return headers;
  }

  /** A readable dump of the whole table, for debugging. */
  dump(): string {
    return inspect(this.#s.table ?? {}, { depth: 10, sorted: true, compact: false });
  }

  /** The driver this session talks to (for adapters and tests). */
  driver(): Driver {
    return this.#config.driver;
  }
}

export type FindCallback = (session: Session) => unknown | Promise<unknown>;

/** See `Session.onFlush`. */
export interface FlushHooks {
  /** Asked before a flush: true resolves it at once, writing nothing. */
  skip?(session: Session): boolean;
  /** Runs after the store took the flush; a failure fails the flush. */
  stored?(session: Session): void | Promise<void>;
}
