import { SessionError } from '@isosession/core';
import type { Client, ClientConfig, Pool } from 'pg';
import { backoffMs, createSessionBusHub, decodeChange, encodeChange } from './sessionBusHub.js';
import type { ClosableSessionBus } from './sessionBusHub.js';

export interface PostgresSessionBusOptions {
  /**
   * Your `pg` pool. NOTIFY goes through it; the LISTEN connection is a separate client opened
   * with the pool's settings (a listening connection must stay out of the pool). The bus
   * never ends your pool.
   */
  pool?: Pool;
  /** Instead of `pool`: a connection string; the bus opens (and `close()` ends) its own connections. */
  url?: string;
  /** The NOTIFY channel, at most 63 bytes (PostgreSQL's identifier limit). @default 'isosession' */
  channel?: string;
  /** `application_name` of the LISTEN connection, as `pg_stat_activity` shows it. @default 'isosession-bus' */
  applicationName?: string;
}

// NOTIFY refuses a payload of 8000 bytes or more; ours is about 120 (a hash, a version, an origin).
const PAYLOAD_LIMIT = 7_999;
const NAME_LIMIT = 63;

/**
 * A `SessionBus` over PostgreSQL LISTEN/NOTIFY, for `watch` across several server processes:
 * pass the same options in every process (`createSessionRouter({ bus })`).
 *
 * One channel for every session: PostgreSQL hands each notification to every listening
 * connection whatever its channel, so a channel per session would only add LISTEN round
 * trips. The payload is `{"h":SHA-256 of the id,"v":version,"d":1?,"o":origin}`: no session
 * id (anyone who can LISTEN sees it) and no params, so a watcher in another process loads the
 * session; watchers in this process get the snapshot directly. Publishing never fails a
 * request: errors become one process warning (`ISOSESSION_BUS`) until it works again. The
 * LISTEN connection reconnects with backoff and then tells every watcher to reload
 * (`{ id, version: 0 }`), so changes made while it was away still arrive.
 */
export function createPostgresSessionBus(options: PostgresSessionBusOptions = {}): ClosableSessionBus {
  const { pool: userPool } = options;
  if (userPool !== undefined && options.url !== undefined) {
    throw new SessionError('INVALID_ARGUMENT', 'createPostgresSessionBus: pass either pool or url, not both');
  }
  if (userPool === undefined && options.url === undefined) {
    throw new SessionError('INVALID_ARGUMENT', 'createPostgresSessionBus: pass pool (your pg Pool) or url (a postgres:// connection string)');
  }
  const channel = options.channel ?? 'isosession';
  if (typeof channel !== 'string' || channel.length === 0 || Buffer.byteLength(channel) > NAME_LIMIT) {
    throw new SessionError('INVALID_ARGUMENT', `createPostgresSessionBus: channel must be 1 to ${NAME_LIMIT} bytes (PostgreSQL truncates longer identifiers)`);
  }
  const applicationName = options.applicationName ?? 'isosession-bus';
  const hub = createSessionBusHub('PostgreSQL session bus');
  let closed = false;
  let notifier: Promise<Pool> | undefined;
  /** Started by the first subscribe; then kept connected until close(). */
  let listening = false;
  let listener: Client | undefined;
  let attempt = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let connecting: Promise<void> | undefined;

  async function pg(): Promise<typeof import('pg').default> {
    try {
      // Left to Node at run time, never resolved by a bundler: the client is an optional peer that
      // only apps using this store install (Next.js's Turbopack fails the build on a missing one).
      return (await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ 'pg')).default;
    } catch (error) {
      throw new SessionError('INVALID_ARGUMENT', 'createPostgresSessionBus needs pg: npm install pg', { cause: error });
    }
  }

  function connectionConfig(): ClientConfig {
    return userPool ? { ...userPool.options } : { connectionString: options.url };
  }

  function getNotifier(): Promise<Pool> {
    notifier ??= (async () => {
      if (userPool) return userPool;
      const { Pool } = await pg();
      const own = new Pool({
        ...connectionConfig(),
        max: 2,
        application_name: `${applicationName}:notify`,
        // Bounded: a publish during an outage fails within 2 s instead of piling up.
        connectionTimeoutMillis: 2_000,
        query_timeout: 2_000,
      });
      // An idle pooled connection that dies emits 'error' on the pool: without a listener, a crash.
      own.on('error', (error) => hub.warn('the publishing connection', error));
      return own;
    })();
    return notifier;
  }

  function scheduleReconnect(): void {
    if (closed || retry !== undefined) return;
    // unref: a bus alone does not keep a process alive.
    retry = setTimeout(() => {
      retry = undefined;
      start();
    }, backoffMs(++attempt));
    retry.unref();
  }

  function start(): void {
    connecting = connect().finally(() => {
      connecting = undefined;
    });
  }

  async function connect(): Promise<void> {
    if (closed) return;
    let client: Client | undefined;
    try {
      const { Client: ClientClass } = await pg();
      client = new ClientClass({ ...connectionConfig(), application_name: applicationName, keepAlive: true });
      const current = client;
      let lost = false;
      const lose = (error?: unknown) => {
        if (lost) return;
        lost = true;
        if (error !== undefined && !closed) hub.warn('the LISTEN connection', error);
        if (listener === current) listener = undefined;
        current.end().catch(() => undefined);
        scheduleReconnect();
      };
      // Without an 'error' listener a terminated backend would crash the process.
      client.on('error', lose);
      client.on('end', () => lose());
      client.on('notification', (message) => {
        if (message.channel !== channel || message.payload === undefined) return;
        const change = decodeChange(message.payload);
        if (change) hub.deliverRemote(change);
      });
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      if (closed || lost) {
        await client.end().catch(() => undefined);
        return;
      }
      listener = client;
      attempt = 0;
      hub.ok('the LISTEN connection');
      // Listening only now: whatever changed before (first start or while reconnecting) is reloaded.
      hub.resync();
    } catch (error) {
      if (!closed) hub.warn('the LISTEN connection', error);
      client?.end().catch(() => undefined);
      scheduleReconnect();
    }
  }

  return {
    async publish(change) {
      hub.deliverLocal(change);
      if (closed) return;
      try {
        const payload = encodeChange(change, hub.origin, true);
        if (Buffer.byteLength(payload) > PAYLOAD_LIMIT) throw new Error(`payload of ${Buffer.byteLength(payload)} bytes is over NOTIFY's limit`);
        const pool = await getNotifier();
        // pg_notify, not NOTIFY: it takes parameters.
        await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
        hub.ok('publishing');
      } catch (error) {
        hub.warn('publishing', error);
      }
    },
    subscribe(id, listenerFn) {
      const added = hub.add(id, listenerFn);
      if (!listening && !closed) {
        listening = true;
        start();
      }
      return () => {
        added.remove();
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      retry = undefined;
      await connecting;
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
      const pool = await notifier?.catch(() => undefined);
      if (pool && pool !== userPool) await pool.end().catch(() => undefined);
    },
  };
}
