import { SessionError, redisCredentials, redisHostPort } from '@isosession/core';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { DsnArgs } from '../types.js';

export type RedisClient = Redis | Cluster;

export interface OpenedClient {
  client: RedisClient;
  /** Where the store is, for messages: URLs without their credentials. */
  where: string;
}

function invalid(message: string): SessionError {
  return new SessionError('INVALID_ARGUMENT', `redis driver: ${message}`);
}

const hideCredentials = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');
const isRedisUrl = (value: unknown): value is string => typeof value === 'string' && /^rediss?:\/\//.test(value);

function urlList(name: string, value: unknown, example: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isRedisUrl)) {
    throw invalid(`${name} must be a non-empty list of redis:// URLs such as ${example}, got ${JSON.stringify(value)}`);
  }
  return value;
}


/**
 * Opens the driver's own client from `Url` (one server, or a list: the seed nodes of a Redis
 * Cluster) or `Sentinels` + `MasterName`. Every connection is set up the same way: each call
 * bounded by `timeoutMs`, nothing queued while disconnected, nothing replayed after a reconnect.
 */
export async function openRedisClient(args: DsnArgs, timeoutMs: number): Promise<OpenedClient> {
  const connection: RedisOptions = {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // Commands in flight when the connection drops fail at once and are never replayed
    // after the reconnect, when their caller has long been told they failed.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Measured (bench/drivers.ts): auto-pipelining gave ~25% more throughput at 32 concurrent
    // requests but ~3× the latency of a lone one; a session load sits on every request's path.
    enableAutoPipelining: false,
  };
  // Reconnect quickly once Redis is back, so the next request after an outage works.
  const retry = (attempt: number) => Math.min(attempt * 50, 500);
  // Left to Node at run time, never resolved by a bundler: the client is an optional peer that
  // only apps using this store install (Next.js's Turbopack fails the build on a missing one).
  const { Redis: RedisClass, Cluster: ClusterClass } = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ 'ioredis');

  if (args.Sentinels !== undefined) {
    if (args.Url !== undefined) throw invalid('give either Url or Sentinels (with MasterName), not both');
    const sentinels = urlList('Sentinels', args.Sentinels, '["redis://10.0.0.1:26379", "redis://10.0.0.2:26379"]');
    if (typeof args.MasterName !== 'string' || args.MasterName === '') {
      throw invalid(`Sentinels needs MasterName, the name the sentinels monitor (sentinel monitor <name> …), got ${JSON.stringify(args.MasterName)}`);
    }
    const auth = redisCredentials(sentinels[0]!);
    const client = new RedisClass({
      ...connection,
      sentinels: sentinels.map(redisHostPort),
      name: args.MasterName,
      ...(auth.username === undefined ? {} : { sentinelUsername: auth.username }),
      ...(auth.password === undefined ? {} : { sentinelPassword: auth.password }),
      // No offline queue: while no master is known a call waits for one up to its deadline
      // and then fails, instead of piling up in memory and running late.
      enableOfflineQueue: false,
      retryStrategy: retry,
      sentinelRetryStrategy: retry,
      // Hear of a promotion from the sentinels at once (+switch-master) rather than at the
      // next failed command, and leave a master that was demoted under our feet.
      failoverDetector: true,
      reconnectOnError: (error) => (/^READONLY\b/.test(error.message) ? 1 : false),
    });
    return { client, where: `the master "${args.MasterName}" of the sentinels ${sentinels.map(hideCredentials).join(', ')}` };
  }

  if (Array.isArray(args.Url)) {
    const seeds = urlList('Url', args.Url, '["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"] (a Redis Cluster)');
    const auth = redisCredentials(seeds[0]!);
    const client = new ClusterClass(seeds.map(redisHostPort), {
      redisOptions: { ...connection, ...auth, ...(seeds[0]!.startsWith('rediss:') ? { tls: {} } : {}) },
      enableOfflineQueue: false,
      clusterRetryStrategy: retry,
      // A master that fails is replaced by its replica within cluster-node-timeout and a
      // moment: retry on the redirections and CLUSTERDOWN replies of that window (each call
      // still ends at its deadline).
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: timeoutMs,
      enableAutoPipelining: false,
    });
    return { client, where: `the Redis Cluster at ${seeds.map(hideCredentials).join(', ')}` };
  }

  if (isRedisUrl(args.Url)) {
    const client = new RedisClass(args.Url, { ...connection, enableOfflineQueue: false, retryStrategy: retry });
    return { client, where: hideCredentials(args.Url) };
  }
  throw invalid(
    `give Url (e.g. "redis://127.0.0.1:6379", or a list of a Redis Cluster's nodes), Sentinels with MasterName, or Client (an ioredis client); got Url ${JSON.stringify(args.Url)}`,
  );
}
