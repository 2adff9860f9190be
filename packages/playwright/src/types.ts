import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { DsnArgs, SessionParams } from '@isosession/server';

/**
 * The public param definitions an app gives `createSessionRouter` / `defineSessionParams`
 * (only their schemas matter here: they type what `session.params()` returns).
 */
export type SessionParamDefinitions = Record<string, { schema: StandardSchemaV1 }>;

/** What `session.params()` returns: the declared params typed, any other (private) ones unknown. */
export type StoredParams<TDefs extends SessionParamDefinitions | undefined> = TDefs extends SessionParamDefinitions
  ? { [K in keyof TDefs]?: StandardSchemaV1.InferOutput<TDefs[K]['schema']> } & Record<string, unknown>
  : Record<string, unknown>;

/** A bus the app's `watch` streams listen on (`SessionBus` of @isosession/trpc fits). */
export interface SessionChangePublisher {
  publish(change: { id: string; version: number; deleted?: boolean }): void | Promise<void>;
}

/**
 * How the app stores its sessions: give the same values the app gives `getSession` /
 * `createSessionRouter`, so ids, signatures (`secret`), `hashIds`, cookie name and domain match.
 */
export interface IsosessionTestOptions<TDefs extends SessionParamDefinitions | undefined = SessionParamDefinitions | undefined> {
  /** @default 'driver:file;serializer:default;id:md5' */
  dsn?: string;
  dsnArgs?: DsnArgs;
  sessionParams?: SessionParams;
  /** The app's public param definitions: types `session.params()`. */
  params?: TDefs;
  /**
   * Publishes `session.update` / `expire` / `expireParam` changes so the app's open pages follow
   * without a reload. Needs a bus that reaches the app's process (Redis or PostgreSQL bus).
   */
  bus?: SessionChangePublisher;
  /** Keep the sessions `seed()` created after the test (to look at them). @default false */
  keep?: boolean;
  /**
   * Seed one stored session per worker; every test of that worker starts with its cookie
   * (for suites that change the session and run in parallel).
   */
  workerSession?: WorkerSessionOptions;
}

/** A stored session seeded once per worker; each test of that worker starts with its cookie. */
export interface WorkerSessionOptions extends SeedOptions {
  params: Record<string, unknown>;
}

export interface SeedOptions {
  /** The session's idle expiry: seconds or a duration such as '+1h'. */
  expire?: number | string;
  /** Per-param idle expiries, e.g. `{ loggedIn: '10m' }`. */
  paramExpire?: Record<string, number | string>;
}
