import type { SessionErrorData } from '@isosession/core';
import { TRPCError, initTRPC, tracked } from '@trpc/server';
import superjson from 'superjson';
import type { SessionSnapshot } from '@isosession/core';
import { isSessionError, parseDuration } from '@isosession/core';
import { Session, claimedRequest } from '@isosession/server';
import type { ClaimedRequest, DsnArgs, Query, SessionParams } from '@isosession/server';
import type { SessionContext } from './createSessionContext.js';
import { crossSiteReason } from './csrf.js';
import type { CsrfOptions } from './csrf.js';
import { ParamValidationError, checkDefinitions, validateParam } from './params.js';
import type { CheckedDefinitions, ParamDefinition, ParamDefinitions, ParamValues, SetParamInput, WritableParamName } from './params.js';
import { createMemorySessionBus, publishSessionChange, sessionChanges } from './SessionBus.js';
import type { SessionBus, SessionChange } from './SessionBus.js';
import { sessionSnapshot } from './sessionSnapshot.js';
import { clientSessionCode, toTRPCError } from './toTRPCError.js';

export interface SessionRouterOptions<TDefs extends ParamDefinitions> {
  /** As for `Session.new`. @default 'driver:file;serializer:default;id:md5' */
  dsn?: string | null;
  dsnArgs?: DsnArgs | null;
  sessionParams?: SessionParams;
  /** The public params. Everything not declared here is server-only and never leaves the server. */
  params: TDefs & CheckedDefinitions<TDefs>;
  /**
   * Names the app keeps on the server (e.g. `userId`), refused to the browser even if also
   * declared in `params`. A browser write to one gets the same BAD_REQUEST as an unknown
   * name, so a client cannot learn which private names exist. `_SESSION_*` names are always
   * private.
   */
  privateParams?: readonly string[];
  /**
   * Send `data.stack` (the server's stack trace, with its file paths) in error answers.
   * Off whatever `NODE_ENV` says; turn it on only while debugging locally. @default false
   */
  exposeErrorStack?: boolean;
  /** Carries changes to `watch` subscribers. @default an in-memory bus for this router */
  bus?: SessionBus;
  /**
   * State-changing calls (`set`, `clear`, `destroy`) refuse a cross-site `Origin` or
   * `Sec-Fetch-Site: cross-site` with FORBIDDEN. `false` turns the check off.
   * @default {} (on; only this host)
   */
  csrf?: false | CsrfOptions;
  /** Read-modify-write retries for writes under contention (`Session.update`). @default 100 */
  retries?: number;
  /**
   * The idle expiry (seconds or a duration like `'30m'`) given to a session this router
   * creates, unless server code set one; `false` for none. Without it an abandoned session
   * would stay stored for ever. @default '24h'
   */
  idleExpiry?: number | string | false;
  /** Server-sent events for `watch`. */
  sse?: {
    /** Ping interval, keeps proxies from closing an idle stream. @default 10_000 */
    pingMs?: number;
    /** End a stream after this long (serverless limits); the client reconnects. */
    maxDurationMs?: number;
  };
}

export type { SessionErrorData } from '@isosession/core';

interface RequestState {
  /** Calls of one HTTP request (a batch) run one at a time, on one session. */
  queue: Promise<unknown>;
  /** Set once a call has decided the session: later calls claim it (its cookie value) instead of the cookie sent. */
  claim?: { value: string | undefined };
  cookies: Set<string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function badInput(message: string): never {
  throw new TRPCError({ code: 'BAD_REQUEST', message: `isosession: ${message}` });
}

/**
 * A tRPC v11 router over one session store: `get`, `set`, `clear`, `destroy` and `watch`
 * (server-sent events). Serve it with the fetch adapter and `createSessionContext`, or a Node
 * adapter and `createNodeSessionContext`; call it on the server with `createCaller`.
 */
export function createSessionRouter<TDefs extends ParamDefinitions>(options: SessionRouterOptions<TDefs>) {
  checkDefinitions(options.params);
  const { params, dsnArgs = null } = options;
  const dsn = options.dsn ?? null;
  const sessionParams = options.sessionParams ?? {};
  const bus = options.bus ?? createMemorySessionBus();
  const privateNames = new Set(options.privateParams ?? []);
  const csrf = options.csrf === false ? false : { trustProxy: sessionParams.trustProxy, ...options.csrf };
  const publicNames = Object.keys(params);
  const idleExpiry = options.idleExpiry === undefined ? DEFAULT_IDLE_EXPIRY : options.idleExpiry;
  // Broken configuration fails at construction, not at the first write.
  if (idleExpiry !== false) parseDuration(idleExpiry);
  const requests = new WeakMap<object, RequestState>();

  type Values = ParamValues<TDefs>;
  type Writable = WritableParamName<TDefs>;
  type Snapshot = SessionSnapshot<Values>;

  const t = initTRPC.context<SessionContext>().create({
    transformer: superjson,
    sse: {
      ping: { enabled: true, intervalMs: options.sse?.pingMs ?? 10_000 },
      client: { reconnectAfterInactivityMs: (options.sse?.pingMs ?? 10_000) * 2 },
      ...(options.sse?.maxDurationMs === undefined ? {} : { maxDurationMs: options.sse.maxDurationMs }),
    },
    errorFormatter({ shape, error }): typeof shape & { data: typeof shape.data & SessionErrorData } {
      const cause = error.cause instanceof ParamValidationError ? error.cause : undefined;
      return {
        ...shape,
        // Never leak internals (paths, queries, private values) through a 500's message.
        message: shape.data.code === 'INTERNAL_SERVER_ERROR' && !shape.message.startsWith('isosession:') ? 'isosession: internal error' : shape.message,
        data: { ...withoutStack(shape.data, options.exposeErrorStack === true), param: cause?.param ?? null, issues: cause?.issues ?? null, sessionCode: clientSessionCode(error.cause) },
      };
    },
  });

  /** The router's sessionParams, with the client address the context knows (for ipMatch). */
  function paramsOf(ctx: SessionContext): SessionParams {
    return ctx.remoteAddr === undefined ? sessionParams : { ...sessionParams, remoteAddr: ctx.remoteAddr };
  }

  function stateOf(ctx: SessionContext): RequestState {
    let state = requests.get(ctx);
    if (!state) requests.set(ctx, (state = { queue: Promise.resolve(), cookies: new Set() }));
    return state;
  }

  function currentQuery(ctx: SessionContext, state: RequestState): Query | ClaimedRequest {
    if (state.claim) return claimedRequest(ctx.req, state.claim.value);
    return ctx.req ?? {};
  }

  /** Runs `work` after the request's earlier calls, with the session they settled on. */
  function inRequest<T>(ctx: SessionContext, work: (query: Query | ClaimedRequest) => Promise<T>): Promise<T> {
    const state = stateOf(ctx);
    const run = state.queue.then(() => work(currentQuery(ctx, state))).catch((error: unknown) => {
      throw toTRPCError(error);
    });
    state.queue = run.catch(() => undefined);
    return run;
  }

  /** Sends the cookie (once per distinct value) and keeps the response out of caches. */
  function respond(ctx: SessionContext, session: Session): void {
    const state = stateOf(ctx);
    state.claim = { value: session.cookieValue() };
    if (!ctx.resHeaders) return;
    const cookie = session.cookie();
    if (!state.cookies.has(cookie)) {
      state.cookies.add(cookie);
      ctx.resHeaders.append('Set-Cookie', cookie);
    }
    // A cached Set-Cookie hands one visitor's session to the next (RFC 9111 §3.5 allows caching it).
    ctx.resHeaders.set('Cache-Control', 'no-store');
  }

  function publish(change: SessionChange): void {
    publishSessionChange(bus, change);
  }

  function snapshotOf(session: Session, isNew: boolean): Snapshot {
    return sessionSnapshot(session, params, { isNew });
  }

  function announce(session: Session, snapshot: Snapshot): void {
    const id = session.id();
    if (id === undefined) return;
    publish({ id, version: session.version(), snapshot: { ...snapshot, isNew: false } });
  }

  function writableDefinition(name: string): ParamDefinition {
    const definition = Object.hasOwn(params, name) ? params[name] : undefined;
    // A private name gets the answer of an unknown one, word for word: a different status or
    // message would let a client probe which private params the server keeps.
    if (!definition || name.startsWith('_SESSION_') || privateNames.has(name)) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: `isosession: unknown param "${name}"; the public params are: ${publicNames.join(', ') || '(none)'}` });
    }
    if (definition.writable !== true) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `isosession: param "${name}" is read-only in the browser (declare it with writable: true to allow writes)` });
    }
    return definition;
  }

  /**
   * Read-modify-write on the request's session (retried on contention: no lost updates). A
   * new session that the change leaves without params is not stored (nor its cookie sent):
   * clearing what a visitor never had must not fill the store.
   */
  function write(ctx: SessionContext, change: (session: Session) => void): Promise<Snapshot> {
    return inRequest(ctx, async (query) => {
      let isNew = false;
      let session: Session;
      try {
        session = await Session.update(
          query,
          (s) => {
            isNew = s.isNew();
            change(s);
            if (isNew && s.param().length === 0) throw new NothingToStore(s);
            if (isNew && idleExpiry !== false && s.expire() === undefined) s.expire(idleExpiry);
          },
          { dsn, dsnArgs, sessionParams: paramsOf(ctx), retries: options.retries },
        );
      } catch (error) {
        if (error instanceof NothingToStore) return snapshotOf(error.session, true);
        throw error;
      }
      const snapshot = snapshotOf(session, isNew);
      respond(ctx, session);
      announce(session, snapshot);
      return snapshot;
    });
  }

  const stateChanging = t.procedure.use(({ ctx, next }) => {
    if (csrf !== false) {
      const reason = crossSiteReason(ctx.req, csrf);
      if (reason !== undefined) {
        throw new TRPCError({
          code: 'FORBIDDEN',
          message: `isosession: cross-site request refused: ${reason}. Call from this site, list the origin in csrf.allowedOrigins, or set csrf: false`,
        });
      }
    }
    return next();
  });

  return t.router({
    /**
     * The public snapshot. Without a stored session (no cookie, or an unknown or expired
     * one) it answers the defaults and stores nothing, and sends no cookie: the session is
     * created by the first write, so crawlers and one-page visits leave nothing behind.
     */
    get: t.procedure.query(({ ctx }) =>
      inRequest(ctx, async (query) => {
        for (let attempt = 0; ; attempt++) {
          let session: Session;
          try {
            session = await Session.new(dsn, attempt === 0 ? query : claimedRequest(query, undefined), dsnArgs, paramsOf(ctx));
          } catch (error) {
            // A server-side caller (a server component: no resHeaders) rendering with a cookie a
            // login or logout just replaced gets the defaults, as a visitor without a session
            // would; a browser gets STALE and retries with the cookie it now holds.
            if (ctx.resHeaders || !isSessionError(error) || error.code !== 'STALE') throw error;
            session = await Session.new(dsn, claimedRequest(query, undefined), dsnArgs, paramsOf(ctx));
          }
          const isNew = session.isNew();
          if (isNew) {
            // The answer depends on the cookie sent: never cached for someone else.
            ctx.resHeaders?.set('Cache-Control', 'no-store');
            return snapshotOf(session, true);
          }
          const before = session.version();
          try {
            // Moves atime (the visit keeps the session alive) and persists per-param expiry.
            await session.flush();
          } catch (error) {
            // Deleted by another request between load and touch: hand out a fresh one.
            if (isSessionError(error) && error.code === 'GONE' && attempt === 0) continue;
            throw error;
          }
          const snapshot = snapshotOf(session, isNew);
          respond(ctx, session);
          if (!isNew && session.version() !== before) announce(session, snapshot);
          return snapshot;
        }
      }),
    ),

    /** Sets one writable param to a value its schema accepts (`undefined` clears it). */
    set: stateChanging
      .input((raw: unknown): SetParamInput<TDefs> => {
        if (!isRecord(raw) || typeof raw.name !== 'string') badInput('set() expects { name: string, value }');
        return { name: raw.name, value: raw.value } as SetParamInput<TDefs>;
      })
      .mutation(async ({ ctx, input }) => {
        const { name } = input as { name: string; value: unknown };
        const definition = writableDefinition(name);
        let value: unknown;
        try {
          value = await validateParam(name, definition, (input as { value: unknown }).value);
        } catch (error) {
          throw toTRPCError(error);
        }
        return write(ctx, (session) => {
          session.param(name, value);
        });
      }),

    /** Clears writable params: they read as their defaults again. */
    clear: stateChanging
      .input((raw: unknown): { names: Writable[] } => {
        // Array.from: every() skips the holes of a sparse array, which would let undefined through.
        if (!isRecord(raw) || !Array.isArray(raw.names) || !Array.from(raw.names as unknown[]).every((name) => typeof name === 'string')) {
          badInput('clear() expects { names: string[] }');
        }
        return { names: [...new Set(raw.names as string[])] as Writable[] };
      })
      .mutation(({ ctx, input }) => {
        for (const name of input.names) writableDefinition(name);
        return write(ctx, (session) => {
          session.clear(input.names);
        });
      }),

    /**
     * Deletes the session (logout; its cookie is removed) and answers the defaults of a fresh
     * one, which is stored only once something is written to it.
     */
    destroy: stateChanging.mutation(({ ctx }) =>
      inRequest(ctx, async (query) => {
        const old = await Session.load(dsn, query, dsnArgs, paramsOf(ctx));
        const oldId = old.id();
        if (oldId !== undefined) {
          old.delete();
          await old.flush();
          respond(ctx, old);
          publish({ id: oldId, version: 0, deleted: true });
        }
        const fresh = await Session.new(dsn, claimedRequest(query, undefined), dsnArgs, paramsOf(ctx));
        return snapshotOf(fresh, true);
      }),
    ),

    /**
     * Server-sent events: the current snapshot, then one per stored change of this session
     * (other tabs, other devices, server code publishing on the bus). Ends when the session
     * is deleted; never creates one.
     */
    watch: t.procedure
      .input((raw: unknown): { lastEventId?: string | null } | undefined => {
        if (raw === undefined || raw === null) return undefined;
        if (!isRecord(raw)) badInput('watch() expects { lastEventId?: string } or nothing');
        return { lastEventId: typeof raw.lastEventId === 'string' ? raw.lastEventId : null };
      })
      .subscription(async function* ({ ctx, signal }) {
        const query = await inRequest(ctx, async (q) => q);
        const load = async (claim: Query | ClaimedRequest) => {
          try {
            return await Session.load(dsn, claim, dsnArgs, paramsOf(ctx));
          } catch (error) {
            // A login or logout replaced this session moments ago: its stream ends, as for a
            // deleted one, and the tab follows the cookie it now holds.
            if (isSessionError(error) && error.code === 'STALE') return Session.load(dsn, null, dsnArgs, paramsOf(ctx));
            throw toTRPCError(error);
          }
        };
        const first = await load(query);
        const id = first.id();
        if (id === undefined) return;
        const claim = claimedRequest(query, first.cookieValue());
        // Listen before reading what to send first, so no change falls between the two.
        const changes = sessionChanges(bus, id, signal);
        try {
          const current = await load(claim);
          if (current.isEmpty()) return;
          let last = current.version();
          // Always sent, also on reconnect: snapshots are idempotent and the browser keeps the newest.
          yield tracked(String(last), snapshotOf(current, false));
          for await (const change of changes) {
            if (change.deleted) {
              // Only the store can say a session ended: a bus message may be forged (anyone
              // who can publish to Redis or NOTIFY on PostgreSQL), and must not end the streams
              // of sessions that live on.
              if ((await load(claim)).isEmpty()) return;
              continue;
            }
            let snapshot = change.snapshot as Snapshot | undefined;
            if (!snapshot) {
              const fresh = await load(claim);
              if (fresh.isEmpty()) return;
              snapshot = snapshotOf(fresh, false);
            }
            if (snapshot.version <= last) continue;
            last = snapshot.version;
            yield tracked(String(last), { ...snapshot, isNew: false });
          }
        } finally {
          await changes.return?.();
        }
      }),
  });
}

/** tRPC adds `stack` outside production: paths and code layout an attacker should not see. */
function withoutStack<T extends { stack?: string }>(data: T, expose: boolean): T {
  if (expose || data.stack === undefined) return data;
  const { stack: _stack, ...rest } = data;
  return rest as T;
}

/** Aborts a write (nothing stored) that would leave a new session without params. */
class NothingToStore {
  constructor(readonly session: Session) {}
}

const DEFAULT_IDLE_EXPIRY = '24h';

/** The router `createSessionRouter` makes for these params. */
export type SessionRouter<TDefs extends ParamDefinitions = ParamDefinitions> = ReturnType<typeof createSessionRouter<TDefs>>;
