import { SessionError } from '@isosession/core';
import type { Redis, RedisOptions } from 'ioredis';
import { backoffMs, createSessionBusHub, decodeChange, encodeChange, sessionIdHash } from './sessionBusHub.js';
import type { ClosableSessionBus } from './sessionBusHub.js';

export interface RedisSessionBusOptions {
  /**
   * Your ioredis client. The bus publishes through it and subscribes on a `duplicate()` of it
   * (a connection in subscriber mode can do nothing else); it never closes yours.
   */
  client?: Redis;
  /** Instead of `client`: the bus opens (and `close()` closes) its own connections. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /** Channels are this prefix + the SHA-256 of the session id. @default 'isosession:' */
  channelPrefix?: string;
  /** The subscriber connection's name in `CLIENT LIST`. @default 'isosession-bus' */
  connectionName?: string;
}

// The subscriber waits out outages (its SUBSCRIBEs queue, it reconnects forever), whatever
// the user's client is set to: a watcher must come back by itself.
const SUBSCRIBER: RedisOptions = {
  lazyConnect: false,
  enableOfflineQueue: true,
  autoResubscribe: true,
  maxRetriesPerRequest: null,
  retryStrategy: backoffMs,
};

/**
 * A `SessionBus` over Redis pub/sub, for `watch` across several server processes: pass the
 * same options in every process (`createSessionRouter({ bus })`).
 *
 * One channel per watched session, `channelPrefix` + SHA-256 of its id, so each process hears
 * only about the sessions it watches and nobody who can SUBSCRIBE learns a usable session id.
 * A message is `{"v":version,"d":1?,"o":origin}`: no snapshot (public params stay out of
 * Redis), so a watcher in another process loads the session; watchers in this process get
 * the snapshot directly. Publishing never fails a request: errors become one process warning
 * (`ISOSESSION_BUS`) until publishing works again. After its connection comes back the
 * subscriber tells every watcher to reload (`{ id, version: 0 }`), so changes made meanwhile
 * still arrive.
 */
export function createRedisSessionBus(options: RedisSessionBusOptions = {}): ClosableSessionBus {
  const { client } = options;
  if (client !== undefined && options.url !== undefined) {
    throw new SessionError('INVALID_ARGUMENT', 'createRedisSessionBus: pass either client or url, not both');
  }
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const prefix = options.channelPrefix ?? 'isosession:';
  if (typeof prefix !== 'string') throw new SessionError('INVALID_ARGUMENT', 'createRedisSessionBus: channelPrefix must be a string');
  const connectionName = options.connectionName ?? 'isosession-bus';
  // CLIENT SETNAME refuses spaces and newlines; fail here rather than on every reconnect.
  if (!/^[!-~]+$/.test(connectionName)) {
    throw new SessionError('INVALID_ARGUMENT', `createRedisSessionBus: connectionName "${connectionName}" must be printable ASCII without spaces`);
  }
  const hub = createSessionBusHub('Redis session bus');
  let closed = false;
  let publisher: Promise<Redis> | undefined;
  let subscriber: Promise<Redis> | undefined;

  async function ioredis(): Promise<typeof import('ioredis').Redis> {
    try {
      return (await import('ioredis')).Redis;
    } catch (error) {
      throw new SessionError('INVALID_ARGUMENT', 'createRedisSessionBus needs ioredis: npm install ioredis', { cause: error });
    }
  }

  function getPublisher(): Promise<Redis> {
    publisher ??= (async () => {
      if (client) return client;
      const RedisClass = await ioredis();
      const own = new RedisClass(url, {
        connectionName: `${connectionName}:pub`,
        // Bounded: a publish during an outage fails within 2 s instead of piling up.
        commandTimeout: 2_000,
        maxRetriesPerRequest: 1,
        retryStrategy: backoffMs,
      });
      own.on('error', (error: unknown) => hub.warn('the publishing connection', error));
      return own;
    })();
    return publisher;
  }

  function getSubscriber(): Promise<Redis> {
    subscriber ??= (async () => {
      const overrides = { ...SUBSCRIBER, connectionName };
      const sub = client ? client.duplicate(overrides) : new (await ioredis())(url, overrides);
      // Without an 'error' listener a lost connection would crash the process.
      sub.on('error', (error: unknown) => hub.warn('the subscriber connection', error));
      sub.on('message', (channel: string, message: string) => {
        if (!channel.startsWith(prefix)) return;
        const change = decodeChange(message, channel.slice(prefix.length));
        if (change) hub.deliverRemote(change);
      });
      let readyBefore = false;
      sub.on('ready', () => {
        hub.ok('the subscriber connection');
        if (!readyBefore) {
          readyBefore = true;
          return;
        }
        // ioredis has just re-sent every SUBSCRIBE; a PING answered after them means they are
        // in force, so a reload from now on misses nothing published while disconnected.
        sub.ping().then(
          () => hub.resync(),
          (error: unknown) => hub.warn('resubscribing', error),
        );
      });
      if (closed) sub.disconnect();
      return sub;
    })();
    return subscriber;
  }

  /**
   * Brings the subscription of `hash` in line with whether anyone here watches it. Called on
   * the first subscribe and the last unsubscribe; the calls run in order on one connection,
   * so the last one decides, however quickly watchers come and go.
   */
  function sync(hash: string): void {
    void getSubscriber()
      .then(async (sub) => {
        if (closed) return;
        if (!hub.has(hash)) {
          await sub.unsubscribe(prefix + hash);
          return;
        }
        await sub.subscribe(prefix + hash);
        // Listening starts after the watcher's first read: whatever changed in between is reloaded.
        hub.resync([hash]);
      })
      .catch((error: unknown) => {
        if (!closed) hub.warn('subscribing', error);
      });
  }

  return {
    async publish(change) {
      hub.deliverLocal(change);
      if (closed) return;
      try {
        const pub = await getPublisher();
        await pub.publish(prefix + sessionIdHash(change.id), encodeChange(change, hub.origin, false));
        hub.ok('publishing');
      } catch (error) {
        hub.warn('publishing', error);
      }
    },
    subscribe(id, listener) {
      const added = hub.add(id, listener);
      if (added.first && !closed) sync(added.hash);
      return () => {
        if (added.remove() && !closed) sync(added.hash);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      const [pub, sub] = await Promise.all([publisher?.catch(() => undefined), subscriber?.catch(() => undefined)]);
      // disconnect(), not quit(): no reconnect, and no waiting on a server that may be gone.
      sub?.disconnect();
      if (pub && pub !== client) pub.disconnect();
    },
  };
}
