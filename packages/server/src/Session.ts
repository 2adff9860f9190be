import { inspect } from 'node:util';
import { SessionError, parseDsn as parseDsnString, parseDuration } from '@isosession/core';
import type { ParsedDsn } from '@isosession/core';
import { closeAllDrivers, getDriver } from './registry.js';
import { isClaimedRequest, isHttps, readClaim, readParamNames, readParamValues, remoteAddressOf } from './query.js';
import type { ClaimedRequest } from './query.js';
import { serializeSessionCookie, sessionCookie } from './sessionCookie.js';
import type { SessionCookie } from './sessionCookie.js';
import { signId, unsignId } from './signedId.js';
import { hashId } from './hashId.js';
import { sessionTag } from './sessionTag.js';
import {
  ATIME, CTIME, ETIME, EXPIRE_LIST, ID, REMOTE_ADDR, VERSION,
  checkTable, copyTable, expireList, getKey, isReserved, lastAccess, publicNames, setExpireList, setKey,
} from './sessionTable.js';
import type { SessionTable } from './sessionTable.js';
import { storeCall } from './storeCall.js';
import { checkParamOnSet, checkSizeOnFlush } from './sizeLimits.js';
import { DEFAULT_STALE_GRACE, hasLiveTombstone, isTombstone, leaveTombstone, tombstoneExpired } from './tombstone.js';
import type { TombstoneStore } from './tombstone.js';
import type {
  CgiLikeQuery, CookieOptions, Driver, DsnArgs, FindReport, HeaderOptions,
  Merge, MergeResult, Query, RawSession, SessionParams, StoreMeta, StoredRecord,
} from './types.js';
import { applyChanges, hasChanges, mergeChanges, noChanges } from './session/changeSet.js';
import { isPastExpiry, sessionExpiresAt } from './session/expiry.js';
import { parseConstructorArgs, parseFindArgs } from './session/arguments.js';
import type { ConstructorArgs } from './session/arguments.js';
import { checkConfig, checkCookieName, refuseGuessableIds, resolveConfig } from './session/config.js';
import type { CheckedConfig, Config } from './session/config.js';
import { dataOf, freezeTable, maxAgeSeconds, sameData, storeMeta, thawRecord } from './session/storedRecord.js';
export type { ConstructorArgs } from './session/arguments.js';
import type { ChangeSet as Changes } from './session/changeSet.js';

// Process-wide defaults, as in CGI::Session (CGI::Session->name, `use CGI::Session '-ip_match'`,
// CGI::Session->errstr). Server-only module: never part of a browser bundle.
let defaultName = 'CGISESSID';
let defaultIpMatch = false;
let lastError = '';

const GENERIC_ID = /^[A-Za-z0-9_-]{1,128}$/;

type Mode = 'new' | 'load' | 'find';

/**
 * Opens sessions of one configuration for requests: what an adapter keeps per middleware.
 * The DSN, secrets, limits and cookie options are checked at the first open and the result is
 * kept, so a request pays for none of it (a configuration that fails is checked again next
 * time, e.g. once its driver is registered). The options are read at that first open.
 */
export interface SessionOpener {
  /** As `Session.new(dsn, request, dsnArgs, sessionParams)`; `remoteAddr` overrides the request's address. */
  newSession(request: Query | ClaimedRequest, remoteAddr?: string): Promise<Session>;
  /** As `Session.load(dsn, request, dsnArgs, sessionParams)`. */
  loadSession(request: Query | ClaimedRequest, remoteAddr?: string): Promise<Session>;
}

export interface UpdateOptions {
  dsn?: string | null;
  dsnArgs?: DsnArgs | null;
  sessionParams?: SessionParams;
  /** How many times to retry after losing a race. @default 100 */
  retries?: number;
}

interface FlushOptions {
  /** Compare-and-swap: fail with CONFLICT unless the stored version is still this one. */
  expectVersion?: number;
  /** The same on the stored data itself (compat: Perl rewrites it without a version). */
  expectData?: RawSession;
}


/**
 * A promise flush() awaits later: marked handled now, so that a failure before the flush is not
 * an unhandled rejection (which ends a Node process); flush still sees the failure.
 */
function handled<T>(promise: T | Promise<T>): Promise<T> {
  const settled = Promise.resolve(promise);
  settled.catch(() => undefined);
  return settled;
}


function fail(error: unknown): never {
  lastError = error instanceof Error ? error.message : String(error);
  throw error;
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
  readonly #remoteAddr: string | undefined;
  #name: string | undefined;
  #table: SessionTable | null = null;
  #isNew = false;
  #isExpired = false;
  #deleted = false;
  #changes: Changes = noChanges();
  #loadedVersion = 0;
  /** compat: the stored data as loaded, for Session.update's compare-and-swap. */
  #loadedData: RawSession | undefined;
  /** The id this session was stored under before `regenerate()`; removed at flush. */
  #previousId: string | undefined;
  #pendingId: Promise<string> | undefined;
  /** The address that the stored session was refused to (ipMatch), for `ipMatch()`. */
  #findMode = false;
  /** hashIds in find(): the stored key this session was visited under, used as it is. */
  #storedKey: string | undefined;
  /** The flush in progress: flushes of one object run one after another. */
  #flushing: Promise<unknown> = Promise.resolve();
  /** Set by readOnly(): why writing is refused, and the content flush() compares against. */
  #readOnly: { reason: string; content: string } | undefined;
  #hooks: FlushHooks | undefined;

  private constructor(config: Config, query: Query | undefined, remoteAddr?: string) {
    this.#config = config;
    this.#query = query;
    this.#name = config.sessionParams.name;
    this.#remoteAddr = remoteAddr ?? config.sessionParams.remoteAddr ?? remoteAddressOf(query, config.sessionParams.trustProxy ?? false);
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

  static async #construct(mode: 'new' | 'load', args: ConstructorArgs): Promise<Session> {
    try {
      const { dsn, sidOrQuery, dsnArgs, sessionParams } = parseConstructorArgs(mode, args);
      const config = await resolveConfig(dsn, dsnArgs, sessionParams);
      const query = isClaimedRequest(sidOrQuery) ? sidOrQuery.request : typeof sidOrQuery === 'object' && sidOrQuery !== null ? sidOrQuery : undefined;
      if (query) refuseGuessableIds(config, 'a request was given');
      const session = new Session(config, query);
      if (query) session.#refuseWithoutAddress();
      await session.#open(mode, session.#claimFrom(sidOrQuery));
      lastError = '';
      return session;
    } catch (error) {
      return fail(error);
    }
  }

  /**
   * Sessions of one configuration for many requests (see `SessionOpener`): the adapters make
   * one per middleware, so that no request re-checks the DSN, the secrets or the limits.
   */
  static opener(dsn: string | null = null, dsnArgs: DsnArgs | null = null, sessionParams: SessionParams = {}): SessionOpener {
    let checked: CheckedConfig | undefined;
    let config: Config | undefined;
    const open = async (mode: 'new' | 'load', request: Query | ClaimedRequest, remoteAddr: string | undefined): Promise<Session> => {
      try {
        if (!checked) {
          // The same checks and messages as Session.new(dsn, request, dsnArgs, sessionParams).
          const parsed = parseConstructorArgs(mode, [dsn, null, dsnArgs, sessionParams]);
          checked = checkConfig(parsed.dsn, parsed.dsnArgs, parsed.sessionParams);
        }
        refuseGuessableIds(checked, 'a request was given');
        // Looked up on every open (a map lookup): closeAllDrivers() may have closed the last one.
        const driver = await getDriver(checked.resolved.driver, checked.driverArgs, checked.driverKey);
        if (config?.driver !== driver) config = { ...checked, driver };
        const session = new Session(config, isClaimedRequest(request) ? request.request : request, remoteAddr);
        session.#refuseWithoutAddress();
        await session.#open(mode, session.#claimFrom(request));
        lastError = '';
        return session;
      } catch (error) {
        return fail(error);
      }
    };
    return {
      newSession: (request, remoteAddr) => open('new', request, remoteAddr),
      loadSession: (request, remoteAddr) => open('load', request, remoteAddr),
    };
  }

  /**
   * ipMatch binds a session to the address that created it. A request whose address is not
   * known (a WHATWG Request carries none) would create sessions bound to nothing, and load
   * them from anywhere: refused, rather than silently doing nothing. A string sid (server
   * code) is trusted and not checked.
   */
  #refuseWithoutAddress(): void {
    if (!(this.#config.sessionParams.ipMatch ?? defaultIpMatch) || this.#remoteAddr !== undefined) return;
    throw new SessionError(
      'INVALID_ARGUMENT',
      'ipMatch is on, but this request carries no client address (a WHATWG Request has none), so the session cannot be bound to one: pass the address as sessionParams.remoteAddr or the remoteAddr option of the adapter, session context, route handler, proxy or getSession, or set sessionParams.trustProxy behind a proxy that sets X-Forwarded-For',
    );
  }

  #claimFrom(sidOrQuery: unknown): string | undefined {
    let claim: string | undefined;
    if (isClaimedRequest(sidOrQuery)) {
      // Decided by the caller from a session it holds: a cookie value, signed like the cookie.
      claim = sidOrQuery.claim;
      if (claim !== undefined && this.#config.secrets) claim = unsignId(claim, this.#config.secrets);
    } else if (typeof sidOrQuery === 'string') claim = sidOrQuery;
    else if (typeof sidOrQuery === 'number' || typeof sidOrQuery === 'bigint') claim = String(sidOrQuery);
    else if (typeof sidOrQuery === 'object' && sidOrQuery !== null) {
      claim = readClaim(sidOrQuery as Query, this.name(), this.#config.sessionParams.idFrom ?? ['cookie']);
      // Signed ids: an unsigned or forged cookie/param is no claim; nothing is looked up.
      // A string sid is the caller's own trusted id (find, jobs) and is taken as it is.
      if (claim !== undefined && this.#config.secrets) claim = unsignId(claim, this.#config.secrets);
    } else if (sidOrQuery !== null && sidOrQuery !== undefined) {
      throw new SessionError('INVALID_ARGUMENT', `the session id must be a string or a request (Query), got ${typeof sidOrQuery}`);
    }
    // Strict ids: a claim of the wrong shape is no claim; it never reaches the driver.
    return claim !== undefined && this.#isAcceptableId(claim) ? claim : undefined;
  }

  #isAcceptableId(id: string): boolean {
    const generator = this.#config.idGenerator;
    return generator.isValidId ? generator.isValidId(id) : GENERIC_ID.test(id);
  }

  /** `sessionParams.compat: 'cgi-session'`: the store is shared with Perl's CGI::Session. */
  #perl(): boolean {
    return this.#config.sessionParams.compat === 'cgi-session';
  }

  #now(): number {
    const now = this.#config.sessionParams.now;
    return Math.floor((now ? now() : Date.now()) / 1000);
  }

  #driverName(): string {
    return this.#config.resolved.driver;
  }

  /**
   * The key the driver stores `id` under: the id, or with `hashIds` its SHA-256 (a key that
   * find() visited is already one, and is used as it is).
   */
  #storeKey(id: string): string {
    return this.#config.sessionParams.hashIds && id !== this.#storedKey ? hashId(id) : id;
  }


  #freeze(table: SessionTable): RawSession {
    return freezeTable(this.#config.format, table, this.#storeKey(table[ID] as string));
  }

  /** A stored copy read back; under find() the key visited is the stored id as it is. */
  #thaw(raw: StoredRecord, id: string): { table: SessionTable; storedAtime: number } {
    return thawRecord(this.#config.format, raw, id, this.#storeKey(id));
  }

  #maxAgeSeconds(): number | undefined {
    return maxAgeSeconds(this.#config.sessionParams);
  }

  /** Loads the claimed session, applying ip matching and both expiries (S40–S43, S73). */
  async #open(mode: Mode, claim: string | undefined): Promise<'ok' | 'skipped'> {
    this.#findMode = mode === 'find';
    if (mode === 'find') this.#storedKey = claim;
    const now = this.#now();
    if (claim !== undefined) {
      const { driver } = this.#config;
      const raw = await storeCall(this.#driverName(), 'retrieve', () => driver.retrieve(this.#storeKey(claim)));
      if (raw !== null) {
        const { table, storedAtime } = this.#thaw(raw, claim);
        const ipMatch = this.#config.sessionParams.ipMatch ?? defaultIpMatch;
        const storedAddr = getKey(table, REMOTE_ADDR);
        if (isTombstone(table)) {
          // find() walks every key, tombstones included: never a session; purged once over.
          const expired = tombstoneExpired(table, now);
          if (expired) await this.#removeExpired(claim, now);
          if (mode === 'find') return 'skipped';
          if (!expired) throw staleError(claim);
        } else if (ipMatch && storedAddr !== undefined && storedAddr !== (this.#remoteAddr ?? '')) {
          // S59: find never deletes for a mismatch, it skips.
          if (mode === 'find') return 'skipped';
          // S73: another address is refused, and the stored copy is deleted.
          await storeCall(this.#driverName(), 'remove', () => driver.remove(this.#storeKey(claim)));
        } else {
          if (this.#isPastExpiry(table, storedAtime, now)) {
            await this.#removeExpired(claim, now);
            this.#isExpired = true;
          } else {
            this.#adopt(table, storedAtime, now);
            // Perl never bumps _SESSION_VERSION: Session.update compares the data itself.
            if (this.#perl()) this.#loadedData = dataOf(raw);
            return 'ok';
          }
        }
      } else if (mode !== 'find' && (await this.#isStale(claim, now))) {
        throw staleError(claim);
      }
    }
    if (mode === 'new') await this.#create(claim, now);
    return 'ok';
  }

  /**
   * Whether a request's claimed id was regenerated or deleted less than `staleGrace` ago: its
   * tombstone is stored. Only requests are checked (a browser's in-flight write racing a login
   * or logout); a string sid is the caller's own and keeps CGI::Session's "unknown id: new session".
   */
  async #isStale(id: string, now: number): Promise<boolean> {
    if (this.#query === undefined) return false;
    return hasLiveTombstone(this.#tombstones(), this.#storeKey(id), now);
  }

  /**
   * Before an id is removed by regenerate() or delete(): a tombstone in its place for the grace
   * period (written first, so no request can find neither). Only a request's session leaves
   * one: its response brings the browser the newer cookie, whereas a job or an admin removing
   * a session by id sends none, and that browser must get a fresh session at once.
   */
  async #leaveTombstone(id: string): Promise<void> {
    const grace = parseDuration(this.#config.sessionParams.staleGrace ?? DEFAULT_STALE_GRACE);
    if (grace <= 0 || this.#query === undefined) return;
    await leaveTombstone(this.#tombstones(), this.#storeKey(id), this.#now(), grace);
  }

  #tombstones(): TombstoneStore {
    return { driver: this.#config.driver, driverName: this.#driverName(), serializer: this.#config.serializer };
  }

  /** A flush that found its session gone: STALE when a request's id was replaced just now. */
  async #goneOrStale(id: string): Promise<SessionError> {
    let stale = false;
    try {
      stale = await this.#isStale(id, this.#now());
    } catch {
      // The store failing now says nothing about the session: report what the flush saw.
    }
    this.#empty();
    return stale ? staleError(id) : goneError(id);
  }

  /** S40, S42: idle expiry from the stored atime; maxAge from ctime. */
  #isPastExpiry(table: SessionTable, storedAtime: number, now: number): boolean {
    return isPastExpiry({ atime: storedAtime, ctime: table[CTIME] as number, etime: getKey(table, ETIME), maxAge: this.#maxAgeSeconds() }, now);
  }

  /**
   * S41: removes an expired session, but only while the stored copy is still expired: another
   * request that loaded it just before the expiry may have flushed a fresh atime since we read
   * it, and a plain remove would destroy that live session.
   */
  async #removeExpired(claim: string, now: number): Promise<void> {
    const { driver } = this.#config;
    const key = this.#storeKey(claim);
    await storeCall(this.#driverName(), 'remove', () => driver.update(key, (current) => {
      if (current === null) return { action: 'keep' };
      const { table, storedAtime } = this.#thaw(current, claim);
      return this.#isPastExpiry(table, storedAtime, now) ? { action: 'remove' } : { action: 'keep' };
    }));
  }

  #adopt(table: SessionTable, storedAtime: number, now: number): void {
    setKey(table, ATIME, storedAtime);
    this.#table = table;
    this.#loadedVersion = typeof table[VERSION] === 'number' ? table[VERSION] : 0;
    // S43: per-param idle expiry, measured from the stored atime, applied before load returns.
    // A reserved name in the list (only a hand-made or hostile record has one) is never
    // cleared, as clear() never clears one (S29): the id, times and list stay whole.
    for (const [name, seconds] of Object.entries(expireList(table))) {
      if (typeof seconds === 'number' && storedAtime + seconds <= now && Object.hasOwn(table, name) && !isReserved(name)) {
        delete table[name];
        this.#changes.cleared.add(name);
      }
    }
    // S57: find() hands over sessions without moving their atime.
    if (!this.#findMode) {
      setKey(table, ATIME, now);
      this.#changes.atime = true;
    }
  }

  async #create(claim: string | undefined, now: number): Promise<void> {
    let id: string;
    try {
      id = await this.#config.idGenerator.generateId(this.#config.dsnArgs, claim);
    } catch (error) {
      // S2: a custom generator's plain Error still reaches the caller as a SessionError.
      if (error instanceof SessionError) throw error;
      throw new SessionError('ID_GENERATION', `id generator "${this.#config.resolved.id}" failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    if (typeof id !== 'string' || id === '') {
      throw new SessionError('ID_GENERATION', `id generator "${this.#config.resolved.id}" returned no id`);
    }
    const table: SessionTable = {};
    setKey(table, ID, id);
    setKey(table, CTIME, now);
    setKey(table, ATIME, now);
    // Perl CGI::Session always stores the address, "" when unknown (its -ip_match compares them).
    if (this.#remoteAddr !== undefined || this.#perl()) setKey(table, REMOTE_ADDR, this.#remoteAddr ?? '');
    this.#table = table;
    this.#isNew = true;
    this.#isExpired = false;
    this.#deleted = false;
    this.#loadedVersion = 0;
    this.#changes = noChanges();
  }

  /**
   * S14: on an empty or expired session, a new session with the same configuration; on a
   * live one, that same session.
   */
  async new(): Promise<Session> {
    if (this.#table !== null && !this.#deleted) return this;
    const session = new Session(this.#config, this.#query);
    session.#name = this.#name;
    try {
      await session.#create(undefined, session.#now());
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
      const report: FindReport = { visited: 0, purged: 0, failed: [] };
      // Each id is handled as the driver's walk yields it, never gathered into a list first:
      // a store of a million sessions is walked in the memory of one page of ids. Sessions
      // created while the walk runs (a regenerate inside `code`) may or may not be visited.
      let stopped: { error: unknown } | undefined;
      const visit = async (id: string) => {
        const session = new Session(config, undefined);
        try {
          if ((await session.#open('find', id)) === 'skipped') return;
        } catch (error) {
          report.failed.push({ id, error });
          return;
        }
        if (session.#table === null && !session.#isExpired) return; // removed meanwhile
        report.visited += 1;
        if (session.#isExpired) report.purged += 1;
        await (code as FindCallback)(session);
        await session.flush();
      };
      try {
        await storeCall(config.resolved.driver, 'traverse', () => config.driver.traverse(async (id) => {
          try {
            await visit(id);
          } catch (error) {
            // `code` or a flush failed: end the walk with that error as it is, not as the
            // driver's ("traverse failed").
            stopped = { error };
            throw error;
          }
        }));
      } catch (error) {
        throw stopped ? stopped.error : error;
      }
      return report;
    } catch (error) {
      return fail(error);
    }
  }

  /**
   * Read-modify-write with retries (compare-and-swap on the stored version): `fn` runs on a
   * freshly loaded session until its flush lands on the copy it read. For counters and carts.
   */
  static async update(sidOrQuery: string | Query | ClaimedRequest, fn: (session: Session) => void | Promise<void>, options: UpdateOptions = {}): Promise<Session> {
    if (typeof fn !== 'function') {
      return fail(new SessionError('INVALID_ARGUMENT', 'update(): the 2nd argument must be a function that changes the session'));
    }
    const retries = options.retries ?? 100;
    if (typeof retries !== 'number' || !(Number.isInteger(retries) || retries === Infinity) || retries < 0) {
      return fail(new SessionError('INVALID_ARGUMENT', `update(): options.retries must be a whole number >= 0 (or Infinity), got ${typeof retries === 'string' ? JSON.stringify(retries) : String(retries)}`));
    }
    for (let attempt = 0; ; attempt++) {
      const session = await Session.new(options.dsn ?? null, sidOrQuery, options.dsnArgs ?? null, options.sessionParams ?? {});
      try {
        await fn(session);
      } catch (error) {
        // Not retried (it is not a lost race), nothing is flushed; errstr() tells, as for any failure.
        return fail(error);
      }
      try {
        await session.#flush({ expectVersion: session.#loadedVersion, expectData: session.#loadedData });
        return session;
      } catch (error) {
        if (!(error instanceof SessionError) || error.code !== 'CONFLICT' || attempt >= retries) return fail(error);
        const ceiling = Math.min(2 ** attempt, 64);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
      }
    }
  }

  // ---------------------------------------------------------------- process-wide

  static parseDsn(dsn: string): ParsedDsn {
    return parseDsnString(dsn);
  }

  static errstr(): string {
    return lastError;
  }

  static name(newName?: string): string {
    if (newName !== undefined) defaultName = checkCookieName(newName);
    return defaultName;
  }

  static ipMatch(on?: boolean): boolean {
    if (on !== undefined) defaultIpMatch = Boolean(on);
    return defaultIpMatch;
  }

  /** Closes every store connection opened through a DSN (pools, clients), e.g. before exit. */
  static closeAll(): Promise<void> {
    return closeAllDrivers();
  }

  // ---------------------------------------------------------------- status

  id(): string | undefined {
    const id = this.#table === null ? undefined : getKey(this.#table, ID);
    return typeof id === 'string' ? id : undefined;
  }

  isNew(): boolean {
    return this.#isNew;
  }

  isEmpty(): boolean {
    return this.#table === null;
  }

  isExpired(): boolean {
    return this.#isExpired;
  }

  atime(): number | undefined {
    return this.#time(ATIME);
  }

  ctime(): number | undefined {
    return this.#time(CTIME);
  }

  #time(key: string): number | undefined {
    const value = this.#table === null ? undefined : getKey(this.#table, key);
    return typeof value === 'number' ? value : undefined;
  }

  /** The stored version (0 before the first flush); increases with every stored change. */
  version(): number {
    return this.#loadedVersion;
  }

  #writable(method: string): SessionTable {
    if (this.#table === null) {
      throw new SessionError('INVALID_ARGUMENT', `${method}(): this session is empty (nothing was loaded, or it was deleted); call s.new() for a new one`);
    }
    return this.#table;
  }

  // ---------------------------------------------------------------- params

  param(): string[];
  param(name: string): unknown;
  param(name: string, value: unknown): unknown;
  param(named: { '-name': string; '-value'?: unknown }): unknown;
  param(values: Record<string, unknown>): number;
  param(...args: unknown[]): unknown {
    const [first, second] = args;
    if (args.length === 0) return this.#table === null ? [] : publicNames(this.#table);
    if (typeof first === 'string') {
      if (args.length === 1) return this.#table === null ? undefined : getKey(this.#table, first);
      return this.#setParam(first, second);
    }
    if (first !== null && typeof first === 'object' && !Array.isArray(first)) {
      const record = first as Record<string, unknown>;
      if (Object.hasOwn(record, '-name')) {
        const name = String(record['-name']);
        // S23: the named read may see private keys (read-only).
        if (!Object.hasOwn(record, '-value')) return this.#table === null ? undefined : getKey(this.#table, name);
        return this.#setParam(name, record['-value']);
      }
      let count = 0;
      for (const name of Object.keys(record)) {
        if (isReserved(name)) {
          warn(`param(): "${name}" is reserved and was not set`);
          continue;
        }
        this.#setParam(name, record[name]);
        count += 1;
      }
      return count;
    }
    throw new SessionError('INVALID_ARGUMENT', 'param(): expected (), (name), (name, value), ({ "-name": n, "-value": v }) or ({ name: value, ... })');
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
    this.#changes.set.add(name);
    this.#changes.cleared.delete(name);
    return value;
  }

  /** S29: removes the named public params, or all of them. */
  clear(names?: string | string[]): void {
    if (this.#table === null) return;
    const table = this.#table;
    const list = names === undefined ? publicNames(table) : Array.isArray(names) ? names : [names];
    for (const name of list) {
      if (typeof name !== 'string' || isReserved(name)) continue;
      if (Object.hasOwn(table, name)) delete table[name];
      this.#changes.cleared.add(name);
      this.#changes.set.delete(name);
    }
  }

  // ---------------------------------------------------------------- expiry

  expire(): number | undefined;
  expire(time: number | string): void;
  expire(param: string, time: number | string): void;
  expire(...args: unknown[]): number | undefined {
    if (args.length === 0) {
      const etime = this.#table === null ? undefined : getKey(this.#table, ETIME);
      return typeof etime === 'number' ? etime : undefined;
    }
    if (args.length === 1) {
      const seconds = parseDuration(args[0] as number | string);
      const table = this.#writable('expire');
      if (seconds === 0) delete table[ETIME];
      else setKey(table, ETIME, seconds);
      this.#changes.etime = true;
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
    setExpireList(table, list, this.#perl());
    this.#changes.expireList.set(name, seconds === 0 ? null : seconds);
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
    if (this.#table === null) return undefined;
    const atime = this.atime() ?? this.#now();
    return sessionExpiresAt({ atime, ctime: this.ctime() ?? atime, etime: this.expire(), maxAge: this.#maxAgeSeconds() });
  }

  /** Per-param expiry instants (atime + seconds) for params with `expire(name, t)`. */
  paramExpiresAt(): Record<string, number> {
    if (this.#table === null) return {};
    const atime = this.atime() ?? this.#now();
    const result: Record<string, number> = {};
    for (const [name, seconds] of Object.entries(expireList(this.#table))) setKey(result, name, atime + seconds); // "__proto__" too
    return result;
  }

  // ---------------------------------------------------------------- data

  /** S30: the whole table, `_SESSION_*` keys included (a copy: change it through param()). */
  dataref(): Readonly<Record<string, unknown>> {
    if (this.#table === null) return {};
    const copy = copyTable(this.#table);
    // The expiry list is an object of our own: a copy too, or writing to it would change expiries.
    const list = getKey(copy, EXPIRE_LIST);
    if (list !== null && typeof list === 'object') setKey(copy, EXPIRE_LIST, Object.freeze(copyTable(list as SessionTable)));
    return Object.freeze(copy);
  }

  /** S21: copies request params into the session (several values become an array). */
  saveParam(query?: Query | null, names?: string[]): void {
    const source = query ?? this.#query;
    if (!source) throw new SessionError('INVALID_ARGUMENT', 'saveParam(): no query given and the session was not made from one');
    const wanted = names ?? readParamNames(source);
    for (const name of wanted) {
      const values = readParamValues(source, name);
      if (values.length === 0) continue;
      this.#setParam(name, values.length === 1 ? values[0] : values);
    }
  }

  /** S21: copies the session's public params into the query with `q.param(name, value)`. */
  loadParam(query?: Query | null, names?: string[]): void {
    const target = query ?? this.#query;
    if (!target) throw new SessionError('INVALID_ARGUMENT', 'loadParam(): no query given and the session was not made from one');
    const wanted = names ?? this.param();
    for (const name of wanted) {
      const value = this.param(name);
      if (value === undefined || isReserved(name)) continue;
      if (target instanceof URLSearchParams || (typeof FormData !== 'undefined' && target instanceof FormData)) {
        target.delete(name);
        for (const item of Array.isArray(value) ? value : [value]) target.append(name, String(item));
      } else if (typeof (target as CgiLikeQuery).param === 'function') {
        (target as CgiLikeQuery).param!(name, value);
      } else {
        throw new SessionError('INVALID_ARGUMENT', 'loadParam(): the query has no param(name, value) to write to');
      }
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** S49: marks the session deleted; flush() removes it from the store. */
  delete(): void {
    if (this.#readOnly !== undefined) throw new SessionError('INVALID_ARGUMENT', `delete(): ${this.#readOnly.reason}`);
    if (this.#table !== null) this.#deleted = true;
  }

  /** A new id for the same data; the old id is removed at flush (session fixation defence). */
  regenerate(): void {
    const table = this.#writable('regenerate');
    const oldId = this.id();
    if (!this.#isNew && this.#previousId === undefined) this.#previousId = oldId;
    const next = this.#config.idGenerator.generateId(this.#config.dsnArgs);
    if (typeof next === 'string') setKey(table, ID, next);
    else this.#pendingId = handled(next);
    this.#changes.atime = true;
  }

  /** Moves atime to now; a flush with nothing else changed only touches the store. */
  touch(): void {
    const table = this.#writable('touch');
    setKey(table, ATIME, this.#now());
    this.#changes.atime = true;
  }

  #hasDataChanges(c: Changes): boolean {
    return c.set.size > 0 || c.cleared.size > 0 || c.etime || c.expireList.size > 0 || this.#previousId !== undefined || this.#pendingId !== undefined;
  }

  #meta(table: SessionTable): StoreMeta {
    return storeMeta(table, this.#maxAgeSeconds());
  }


  /** Applies this object's changes onto the stored table (S54: the later flush wins per param). */
  #mergeOnto(stored: SessionTable, changes: Changes): SessionTable {
    return applyChanges(stored, this.#table as SessionTable, changes, this.#perl());
  }

  /** S47, S48, S54: writes this object's changes onto the latest stored copy, atomically. */
  flush(): Promise<void> {
    if (this.#readOnly !== undefined) {
      // Read-only: nothing is written; a change made meanwhile is a mistake worth an error.
      if (this.#content() === this.#readOnly.content) return Promise.resolve();
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
    this.#readOnly = { reason, content: this.#content() };
    return this;
  }

  /**
   * The table minus what every load moves (the access time), as this session's serializer
   * writes it (so any value it can store compares, a BigInt too): what a read-only session
   * may not change. A value it cannot write is a change.
   */
  #content(): string {
    if (this.#table === null) return 'null';
    const { [ATIME]: _atime, ...rest } = this.#table;
    try {
      const data = this.#config.serializer.freeze(rest);
      return typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    } catch {
      return `unwritable ${Math.random()}`;
    }
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
    const run = this.#flushing.then(() => this.#flushOnce(options));
    this.#flushing = run.catch(() => undefined);
    try {
      await run;
    } catch (error) {
      return fail(error);
    }
  }

  async #flushOnce(options: FlushOptions): Promise<void> {
    const table = this.#table;
    if (table === null) return; // S51
    const { driver } = this.#config;
    const driverName = this.#driverName();
    const id = this.id() as string;

    if (this.#deleted) {
      // S50: a never-stored session has nothing to remove.
      if (!this.#isNew) {
        await this.#leaveTombstone(this.#previousId ?? id);
        await storeCall(driverName, 'remove', () => driver.remove(this.#storeKey(this.#previousId ?? id)));
        if (this.#previousId !== undefined) await storeCall(driverName, 'remove', () => driver.remove(this.#storeKey(id)));
      }
      this.#empty();
      return;
    }

    // What this flush writes; params changed while it runs stay in #changes for the next one.
    const changes = this.#changes;
    this.#changes = noChanges();
    try {
      await this.#write(table, changes, options);
    } catch (error) {
      if (this.#table !== null) this.#changes = mergeChanges(changes, this.#changes);
      throw error;
    }
  }

  async #write(table: SessionTable, changes: Changes, options: FlushOptions): Promise<void> {
    const { driver } = this.#config;
    const driverName = this.#driverName();
    const id = this.id() as string;
    if (!this.#isNew && !this.#hasDataChanges(changes)) {
      if (!changes.atime) return; // S48
      const meta = this.#meta(table);
      // Sharing a store with Perl, which reads atime only from the data: write it there.
      if (driver.touch && !this.#perl()) {
        const found = await storeCall(driverName, 'touch', () => driver.touch!(this.#storeKey(id), meta));
        if (!found) throw await this.#goneOrStale(id);
        return;
      }
    }

    if (this.#pendingId) {
      const pending = this.#pendingId;
      let next: string;
      try {
        next = await pending;
      } catch (error) {
        // Ask the generator again at the next flush, instead of failing on this promise for ever.
        if (this.#pendingId === pending) this.#pendingId = handled(Promise.resolve().then(() => this.#config.idGenerator.generateId(this.#config.dsnArgs)));
        if (error instanceof SessionError) throw error;
        throw new SessionError('ID_GENERATION', `regenerate(): id generator "${this.#config.resolved.id}" failed: ${(error as Error)?.message ?? String(error)}; nothing was written, the next flush tries again`, { cause: error });
      }
      setKey(table, ID, next);
      this.#pendingId = undefined;
    }
    const newId = this.id() as string;
    const sourceId = this.#previousId ?? newId;
    let written: SessionTable | undefined;
    let writtenData: RawSession | undefined;
    const merge: Merge = (current) => {
      let base: SessionTable;
      if (current === null) {
        // Never resurrect what another request deleted or regenerated (DESIGN "GONE"). No side
        // effect here: a driver may run merge on a guess (redis: "not stored yet") and retry.
        if (!this.#isNew) throw goneError(sourceId);
        if (options.expectVersion !== undefined && options.expectVersion !== 0) throw this.#conflict(sourceId);
        base = copyTable(table);
      } else {
        if (options.expectData !== undefined && !sameData(dataOf(current), options.expectData)) throw this.#conflict(sourceId);
        base = this.#thaw(current, sourceId).table;
        const storedVersion = typeof base[VERSION] === 'number' ? base[VERSION] : 0;
        if (options.expectVersion !== undefined && storedVersion !== options.expectVersion) throw this.#conflict(sourceId);
        base = this.#mergeOnto(base, changes);
      }
      setKey(base, ID, newId);
      setKey(base, VERSION, ((typeof base[VERSION] === 'number' ? base[VERSION] : 0) as number) + 1);
      const data = this.#freeze(base);
      checkSizeOnFlush({ data, current, table: base, setNames: changes.set, serializer: this.#config.serializer, limits: this.#config.limits });
      written = base;
      writtenData = data;
      if (sourceId !== newId) return { action: 'remove' };
      return { action: 'store', data, meta: this.#meta(base) };
    };

    if (sourceId !== newId && !this.#isNew) await this.#leaveTombstone(sourceId);
    try {
      await storeCall(driverName, 'flush', async () => {
        await driver.update(this.#storeKey(sourceId), merge);
      });
    } catch (error) {
      if (error instanceof SessionError && error.code === 'GONE') throw await this.#goneOrStale(sourceId);
      throw error;
    }
    if (!written) return;
    if (sourceId !== newId) {
      // Regenerated: the merged table was removed under the old id; store it under the new one.
      const merged = written;
      try {
        const data = writtenData ?? this.#freeze(merged);
        const meta = this.#meta(merged);
        await storeCall(driverName, 'store', () => driver.store(this.#storeKey(newId), data, meta));
      } catch (error) {
        // The old id is gone already: keep the merged copy as a session not stored yet, so the
        // next flush stores it under the new id instead of failing GONE and losing it (S53).
        this.#settle(merged);
        this.#loadedVersion = 0;
        this.#isNew = true;
        throw error;
      }
    }
    this.#settle(written);
    this.#loadedVersion = written[VERSION] as number;
    this.#isNew = false; // S46
  }

  /** Adopts what a flush wrote, with the changes made while it ran applied on top (S54). */
  #settle(written: SessionTable): void {
    const during = this.#changes;
    this.#table = hasChanges(during) ? this.#mergeOnto(written, during) : written;
    this.#previousId = undefined;
  }

  #conflict(id: string): SessionError {
    return new SessionError('CONFLICT', `session "${id}" changed since it was loaded`);
  }

  #empty(): void {
    this.#table = null;
    this.#deleted = false;
    this.#isNew = false;
    this.#previousId = undefined;
    this.#pendingId = undefined;
    this.#changes = noChanges();
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
    const address = this.#table === null ? undefined : getKey(this.#table, REMOTE_ADDR);
    return typeof address === 'string' ? address : undefined;
  }

  /** Whether this request comes from the address that created the session. */
  ipMatch(): boolean {
    const created = this.remoteAddr();
    return created !== undefined && created === this.#remoteAddr;
  }

  /** S65: this session's cookie name (its own, else the process default). */
  name(newName?: string): string {
    if (newName !== undefined) this.#name = checkCookieName(newName);
    return this.#name ?? defaultName;
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
    const now = this.#now();
    const id = this.id();
    const expiresAt = this.expiresAt();
    return sessionCookie({
      name: this.name(),
      value: this.#deleted || this.#isExpired || id === undefined ? undefined : this.cookieValue(),
      maxAge: expiresAt === undefined ? undefined : expiresAt - now,
      now,
      secureByDefault: isHttps(this.#query, this.#config.sessionParams.trustProxy ?? false),
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
    return inspect(this.#table ?? {}, { depth: 10, sorted: true, compact: false });
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



function goneError(id: string): SessionError {
  return new SessionError('GONE', `session "${id}" was deleted or regenerated by another request after this one loaded it; nothing was written`);
}

function staleError(id: string): SessionError {
  return new SessionError('STALE', `session "${id}" was replaced moments ago (regenerate() at a login, or delete() at a logout) and this request still carries its old cookie; no session was created and no cookie is sent: retry with the browser's current cookie`);
}
