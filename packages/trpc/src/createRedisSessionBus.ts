import { SessionError, redisCredentials, redisHostPort } from '@isosession/core';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { backoffMs, createSessionBusHub, decodeChange, encodeChange, sessionIdHash } from './sessionBusHub.js';
import type { ClosableSessionBus } from './sessionBusHub.js';

export interface RedisSessionBusOptions {
  /**
   * Your ioredis client. The bus publishes through it and subscribes on a `duplicate()` of it
   * (a connection in subscriber mode can do nothing else); it never closes yours.
   */
  client?: Redis | Cluster;
  /**
   * Instead of `client`: the bus opens (and `close()` closes) its own connections. A list of
   * URLs is a Redis Cluster's nodes (any few of them). @default 'redis://127.0.0.1:6379'
   */
  url?: string | string[];
  /** Channels are this prefix + the SHA-256 of the session id. @default 'isosession:' */
  channelPrefix?: string;
  /** The subscriber connection's name in `CLIENT LIST`. @default 'isosession-bus' */
  connectionName?: string;
}

// On a Redis Cluster the bus uses sharded pub/sub (Redis 7+): SPUBLISH goes to the master
// of the channel's slot and its replicas only, and SSUBSCRIBE listens there, so each
// message crosses one shard instead of being broadcast over the cluster bus to every node
// (what classic PUBLISH does on a cluster, whose cost grows with the number of nodes).

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
  if (Array.isArray(url) ? url.length === 0 || !url.every((entry) => typeof entry === 'string') : typeof url !== 'string') {
    throw new SessionError('INVALID_ARGUMENT', `createRedisSessionBus: url must be a redis:// URL or a non-empty list of a Redis Cluster's node URLs, got ${JSON.stringify(url)}`);
  }
  const onCluster = client === undefined ? Array.isArray(url) : isCluster(client);
  const prefix = options.channelPrefix ?? 'isosession:';
  if (typeof prefix !== 'string') throw new SessionError('INVALID_ARGUMENT', 'createRedisSessionBus: channelPrefix must be a string');
  const connectionName = options.connectionName ?? 'isosession-bus';
  // CLIENT SETNAME refuses spaces and newlines; fail here rather than on every reconnect.
  if (!/^[!-~]+$/.test(connectionName)) {
    throw new SessionError('INVALID_ARGUMENT', `createRedisSessionBus: connectionName "${connectionName}" must be printable ASCII without spaces`);
  }
  const hub = createSessionBusHub('Redis session bus');
  let closed = false;
  let publisher: Promise<Redis | Cluster> | undefined;
  let subscriber: Promise<Redis | Cluster> | undefined;

  async function ioredis(): Promise<{ Redis: typeof import('ioredis').Redis; Cluster: typeof import('ioredis').Cluster }> {
    try {
      // Left to Node at run time, never resolved by a bundler: the client is an optional peer that
      // only apps using this store install (Next.js's Turbopack fails the build on a missing one).
      const { Redis, Cluster } = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ 'ioredis');
      return { Redis, Cluster };
    } catch (error) {
      throw new SessionError('INVALID_ARGUMENT', 'createRedisSessionBus needs ioredis: npm install ioredis', { cause: error });
    }
  }

  function getPublisher(): Promise<Redis | Cluster> {
    publisher ??= (async () => {
      if (client) return client;
      const { Redis: RedisClass, Cluster: ClusterClass } = await ioredis();
      const connection: RedisOptions = {
        connectionName: `${connectionName}:pub`,
        // Bounded: a publish during an outage fails within 2 s instead of piling up.
        commandTimeout: 2_000,
        maxRetriesPerRequest: 1,
      };
      const own = Array.isArray(url)
        ? new ClusterClass(url.map(redisHostPort), { redisOptions: { ...connection, ...redisCredentials(url[0]!) }, clusterRetryStrategy: backoffMs, retryDelayOnFailover: 100, retryDelayOnClusterDown: 100 })
        : new RedisClass(url, { ...connection, retryStrategy: backoffMs });
      own.on('error', (error: unknown) => hub.warn('the publishing connection', error));
      return own;
    })();
    return publisher;
  }

  function getSubscriber(): Promise<Redis | Cluster> {
    subscriber ??= (async () => {
      const sub = onCluster ? await clusterSubscriber() : await singleSubscriber();
      // Without an 'error' listener a lost connection would crash the process.
      sub.on('error', (error: unknown) => hub.warn('the subscriber connection', error));
      sub.on(onCluster ? 'smessage' : 'message', (channel: string, message: string) => {
        if (!channel.startsWith(prefix)) return;
        const change = decodeChange(message, channel.slice(prefix.length));
        if (change) hub.deliverRemote(change);
      });
      if (closed) sub.disconnect();
      return sub;
    })();
    return subscriber;
  }

  async function singleSubscriber(): Promise<Redis> {
    const overrides = { ...SUBSCRIBER, connectionName };
    const sub = client ? (client as Redis).duplicate(overrides) : new (await ioredis()).Redis(url as string, overrides);
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
    return sub;
  }

  /**
   * A Cluster client with one subscriber connection per master that serves a watched
   * channel's slot. When a master fails, ioredis replaces its subscriber with one on the
   * promoted replica; we then SSUBSCRIBE every watched channel again ourselves (a no-op where
   * ioredis already did) and tell every watcher to reload, because messages published while
   * the shard had no subscriber are gone.
   */
  async function clusterSubscriber(): Promise<Cluster> {
    const overrides: ClusterOptions = {
      shardedSubscribers: true,
      enableOfflineQueue: true,
      clusterRetryStrategy: backoffMs,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      redisOptions: { connectionName, maxRetriesPerRequest: null },
    };
    const sub = client
      ? (client as Cluster).duplicate(undefined, { ...(client as Cluster).options, ...overrides, redisOptions: { ...(client as Cluster).options.redisOptions, ...overrides.redisOptions } })
      : new (await ioredis()).Cluster((url as string[]).map(redisHostPort), { ...overrides, redisOptions: { ...overrides.redisOptions, ...redisCredentials((url as string[])[0]!) } });
    let resubscribing: NodeJS.Timeout | undefined;
    sub.on('+subscriber', () => {
      // Several subscribers may be replaced at once: one resubscription after the last.
      clearTimeout(resubscribing);
      resubscribing = setTimeout(() => {
        if (closed) return;
        const hashes = hub.hashes();
        Promise.all(hashes.map((hash) => sub.ssubscribe(prefix + hash))).then(
          () => {
            hub.ok('the subscriber connection');
            hub.resync(hashes);
          },
          (error: unknown) => hub.warn('resubscribing', error),
        );
      }, 100);
    });
    return sub;
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
          await (onCluster ? sub.sunsubscribe(prefix + hash) : sub.unsubscribe(prefix + hash));
          return;
        }
        await (onCluster ? sub.ssubscribe(prefix + hash) : sub.subscribe(prefix + hash));
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
        const channel = prefix + sessionIdHash(change.id);
        const message = encodeChange(change, hub.origin, false);
        await (onCluster ? pub.spublish(channel, message) : pub.publish(channel, message));
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

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as Cluster).isCluster === true;
}

