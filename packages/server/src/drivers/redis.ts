// Client: ioredis (v5), not node-redis. It takes Buffer arguments and has *Buffer reply
// variants on every command (the storable serializer's bytes round-trip untouched), it bounds
// each command with `commandTimeout` and can refuse to queue while disconnected
// (`enableOfflineQueue: false`), which is exactly the outage behaviour this driver promises,
// and the same class talks to Cluster and Sentinel setups, so a user's existing Client fits.
// It is also what connect-redis, BullMQ and most Node session stores already use.
import { createHash, randomBytes } from 'node:crypto';
import { SessionError, parseDuration } from '@isosession/core';
import type { Redis } from 'ioredis';
import type { Driver, DsnArgs, Merge, MergeResult, RawSession, StoreMeta, StoredRecord } from '../types.js';
import { withDeadline as withTimeLimit } from './deadline.js';
import type { Deadline } from './deadline.js';
import { createRecentCopies } from './recentCopies.js';
import { openRedisClient } from './redisConnection.js';
import { storeUnavailable } from './storeErrors.js';
import type { RedisClient } from './redisConnection.js';
import { VisitedIds } from './visitedIds.js';

const DEFAULT_PREFIX = 'cgisess:';
const DEFAULT_TIMEOUT_SECONDS = 5;
// Grace: how long a key outlives its session's expiry. The session layer decides expiry from
// atime + etime (S40); the TTL only frees memory. Without a grace period Redis would drop the
// key at the exact instant of expiry, and a user coming back after that would look like a
// stranger (empty session) instead of getting `isExpired()` ("your session expired, please log
// in again"), which file/SQL stores give until a sweep. One day covers the common case (a tab
// left open overnight); it costs at most one extra day of storage for abandoned sessions.
// Sites with many short-lived anonymous sessions can lower it (`Grace: '1h'`, or 0).
const DEFAULT_GRACE_SECONDS = 86_400;
const SCAN_COUNT = 1_000;
// Replies of a server that is starting, failing over or stuck in a script: retry later.
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN)\b/;

// One hash per session: `data` (the serialized table, bytes), `enc` ("t": the serializer gave
// a string, "b": bytes), `atime` (seconds; moved by touch without rewriting data) and `ver`,
// a token that changes on every write and is what update() compares-and-swaps on.
const FIELDS = ['data', 'enc', 'atime', 'ver'] as const;

// Every change goes through one of the three scripts below. Cross-process change notices (a
// later issue) belong there too: a PUBLISH inside the script is atomic with the write, so a
// subscriber can neither miss a change nor hear of it before it is readable.
// Each script names exactly one key, the session's: on a Redis Cluster every key of a script
// must hash to one slot, which one key does by construction (and on a cluster a PUBLISH
// inside a script would be broadcast to every node). A script that ever needs a second key
// per session must put the id in a hash tag in both ("prefix{id}"), a change of key format.

// KEYS[1] the session key; ARGV: expected ver ("*": any, "": must not exist), new ver, data,
// enc, atime, TTL in ms ("" for none). A rewrite of a key keeps its old TTL in Redis, so a
// session that stopped expiring must be PERSISTed.
const WRITE_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'ver') or ''
if ARGV[1] ~= '*' and current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[3], 'enc', ARGV[4], 'atime', ARGV[5], 'ver', ARGV[2])
if ARGV[6] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
return 1`;

// KEYS[1] the session key; ARGV[1] the expected ver.
const REMOVE_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'ver') or ''
if current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

// KEYS[1] the session key; ARGV: atime, TTL in ms ("" for none). A missing key stays missing:
// touching a session another request deleted must not bring it back (CVE-2013-10075).
const TOUCH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'atime', ARGV[1])
if ARGV[2] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const WRITE = script(WRITE_SCRIPT);
const REMOVE = script(REMOVE_SCRIPT);
const TOUCH = script(TOUCH_SCRIPT);

interface Versioned {
  record: { data: RawSession; atime?: number };
  ver: string;
}

function invalid(message: string): SessionError {
  return new SessionError('INVALID_ARGUMENT', `redis driver: ${message}`);
}

/** Seconds from a number (fractions allowed) or a duration string ("5s", "1d"). */
function seconds(name: string, value: unknown, fallback: number, allowZero: boolean): number {
  if (value === undefined || value === null) return fallback;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : Number.NaN;
  if (!Number.isFinite(parsed) || parsed < 0 || (!allowZero && parsed === 0)) {
    throw invalid(`${name} must be ${allowZero ? 'zero or more' : 'more than zero'} seconds (a number or a string like "5s"), got ${String(value)}`);
  }
  return parsed;
}

/** `WaitReplicas`: how many replicas must confirm each write (Redis WAIT); 0 confirms none. */
function replicaCount(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalid(`WaitReplicas must be a whole number of replicas (0 or more) that confirm each write, got ${JSON.stringify(value)}`);
  }
  return value;
}

function isClient(value: unknown): value is RedisClient {
  const candidate = value as Partial<Redis> | null;
  return typeof candidate?.hmgetBuffer === 'function' && typeof candidate.evalsha === 'function' && typeof candidate.scan === 'function';
}

// SCAN MATCH is a glob: a prefix such as "app[1]:" must match itself only.
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

let writeCounter = 0;
const processToken = randomBytes(6).toString('base64url');

/** A token no other write (this process or another) will produce, so compare-and-swap has no ABA. */
function nextVer(): string {
  writeCounter = (writeCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${processToken}.${writeCounter.toString(36)}`;
}

/**
 * `redis`: one hash per session under `Prefix` + id. Args: `Client` (an ioredis client, never
 * closed here) or `Url` (a client opened here and closed by `close()`), `Prefix`
 * (`cgisess:`), `Timeout` (seconds, default 5: every call settles within it, rejecting with
 * `STORE_UNAVAILABLE` while Redis is down or paused), `Grace` (seconds a key outlives its
 * expiry, default 1 day, so the load that finds an expired session sees it as expired).
 * The session's expiry becomes the key's TTL: expired sessions vanish without a sweep.
 */
export async function createRedisDriver(args: DsnArgs = {}): Promise<Driver> {
  const prefix = args.Prefix === undefined ? DEFAULT_PREFIX : args.Prefix;
  if (typeof prefix !== 'string' || prefix === '') {
    // An empty prefix would make traverse() (SCAN *) treat every key in the database as a session.
    throw invalid(`Prefix must be a non-empty string such as "cgisess:", got ${JSON.stringify(prefix)}`);
  }
  const timeoutMs = Math.round(seconds('Timeout', args.Timeout, DEFAULT_TIMEOUT_SECONDS, false) * 1000);
  const graceMs = Math.round(seconds('Grace', args.Grace, DEFAULT_GRACE_SECONDS, true) * 1000);
  if (args.Client !== undefined && (args.Url !== undefined || args.Sentinels !== undefined)) {
    throw invalid('give either Client (your ioredis client) or Url / Sentinels, not both');
  }
  const waitReplicas = replicaCount(args.WaitReplicas);

  let client: RedisClient;
  let owned = false;
  let where: string;
  if (args.Client !== undefined) {
    if (!isClient(args.Client)) {
      throw invalid('Client must be an ioredis client (new Redis(...) or new Cluster(...)); node-redis clients are not supported');
    }
    client = args.Client;
    where = 'the given Client';
  } else {
    ({ client, where } = await openRedisClient(args, timeoutMs));
    // Without a listener ioredis prints every connection error; the calls report them instead.
    client.on('error', () => {});
    owned = true;
  }

  const keyOf = (id: string) => prefix + id;
  // Recently read or written records kept for update()'s first compare-and-swap attempt.
  const recent = createRecentCopies<Versioned>();
  const forget = recent.forget;
  const remember = recent.set;
  const place = { driver: 'redis', where, server: 'Redis', timeoutMs };
  const unavailable = (what: string, cause?: unknown) => storeUnavailable(place, what, cause);

  /**
   * Client errors: anything but a Redis reply is the connection (STORE_UNAVAILABLE), and so
   * are the replies of a server that cannot serve right now; other replies (WRONGTYPE, ...)
   * stay as they are and become STORE_ERROR.
   */
  async function command<T>(what: string, pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (error) {
      if (error instanceof SessionError) throw error;
      if ((error as Error | null)?.name === 'ReplyError' && !UNAVAILABLE_REPLY.test((error as Error).message)) throw error;
      throw unavailable(`${what} failed`, error);
    }
  }

  /** Runs `work` with a deadline of Timeout, whatever the client's own options are. */
  function withDeadline<T>(what: string, work: (deadline: Deadline) => Promise<T>): Promise<T> {
    return withTimeLimit(timeoutMs, () => unavailable(`${what} got no answer within ${timeoutMs / 1000} s`), (deadline) =>
      // Ready (nearly always): straight to the work, without two promise hops for the check.
      client.status === 'ready' ? work(deadline) : Promise.resolve().then(whenReady).then(() => work(deadline)));
  }

  // One wait shared by every call made while our client (re)connects, not a listener each.
  let readyWait: Promise<void> | undefined;

  /** Our own client refuses commands while reconnecting: wait for it (up to the caller's deadline). */
  function whenReady(): Promise<void> | void {
    if (client.status === 'ready') return;
    if (client.status === 'end') throw unavailable('the client was closed (quit() or disconnect())');
    if (!owned) return; // a user's client queues by its own options; the deadline still applies
    if (client.status === 'wait') client.connect().catch(() => {});
    readyWait ??= new Promise<void>((resolve, reject) => {
      const settle = () => {
        client.off('ready', onReady);
        client.off('end', onEnd);
        readyWait = undefined;
      };
      const onReady = () => { settle(); resolve(); };
      const onEnd = () => { settle(); reject(unavailable('the client was closed (quit() or disconnect())')); };
      client.on('ready', onReady);
      client.on('end', onEnd);
    });
    return readyWait;
  }

  // WAIT's own timeout, shorter than the call's deadline so that its answer ("only 0 replicas
  // so far") is what the caller hears, not a bare "no answer".
  const waitMs = Math.max(1, Math.floor(timeoutMs * 0.8));

  /**
   * A write followed by WAIT in one pipeline: on a Cluster the pipeline goes to the master of
   * the write's key, so WAIT counts that master's replicas. The write is acknowledged only when
   * `WaitReplicas` replicas have it; otherwise the caller gets STORE_UNAVAILABLE (the write may
   * still be on the master: an unacknowledged write may or may not have happened).
   */
  async function replicated(what: string, queue: (pipeline: ReturnType<RedisClient['pipeline']>) => void): Promise<unknown> {
    const pipeline = client.pipeline();
    queue(pipeline);
    pipeline.wait(waitReplicas, waitMs);
    const results = await command(what, pipeline.exec());
    const [written, waited] = results ?? [];
    if (!written || !waited) throw unavailable(`${what} failed (no reply to the pipeline)`);
    if (written[0]) await command(what, Promise.reject(written[0]));
    if (waited[0]) await command(what, Promise.reject(waited[0]));
    const acked = Number(waited[1]);
    if (acked < waitReplicas) {
      throw unavailable(`${what} reached the master but only ${acked} of the ${waitReplicas} replicas of WaitReplicas confirmed it within ${waitMs} ms`);
    }
    return written[1];
  }

  async function run(what: string, code: Script, key: string, argv: (string | Uint8Array)[]): Promise<number> {
    const redis = client as Redis;
    if (waitReplicas > 0) {
      try {
        return (await replicated(what, (pipeline) => pipeline.evalsha(code.sha, 1, key, ...(argv as string[])))) as number;
      } catch (error) {
        if (!(error as Error).message?.startsWith('NOSCRIPT')) throw error;
        return (await replicated(what, (pipeline) => pipeline.eval(code.source, 1, key, ...(argv as string[])))) as number;
      }
    }
    try {
      return (await command(what, redis.evalsha(code.sha, 1, key, ...(argv as string[])))) as number;
    } catch (error) {
      if (!(error as Error).message?.startsWith('NOSCRIPT')) throw error;
      // First use on this server (or after SCRIPT FLUSH): EVAL loads it into the script cache.
      return (await command(what, redis.eval(code.source, 1, key, ...(argv as string[])))) as number;
    }
  }

  async function read(id: string): Promise<Versioned | null> {
    const [data, enc, atime, ver] = await command('retrieve', client.hmgetBuffer(keyOf(id), ...FIELDS));
    if (!data) {
      forget(id);
      return null;
    }
    const record: Versioned['record'] = {
      // A view on the reply, no copy; a serializer that gave a string gets a string back.
      data: enc?.toString() === 't' ? data.toString('utf8') : new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
    const storedAtime = atime ? Number(atime.toString()) : Number.NaN;
    if (Number.isFinite(storedAtime)) record.atime = storedAtime;
    const entry = { record, ver: ver ? ver.toString() : '' };
    remember(id, entry);
    return entry;
  }

  /** TTL in ms: what is left of the session's life at the write (its own clock) plus grace. */
  function ttl(meta: StoreMeta): string {
    if (meta.expiresAt === undefined) return '';
    return String(Math.max(0, meta.expiresAt - meta.atime) * 1000 + graceMs);
  }

  async function write(id: string, expected: string, data: RawSession, meta: StoreMeta): Promise<boolean> {
    const ver = nextVer();
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const enc = typeof data === 'string' ? 't' : 'b';
    const written = await run('store', WRITE, keyOf(id), [expected, ver, bytes, enc, String(meta.atime), ttl(meta)]);
    if (written === 1) remember(id, { record: { data, atime: meta.atime }, ver });
    else forget(id);
    return written === 1;
  }

  async function update(id: string, merge: Merge, deadline: Deadline): Promise<void> {
    // First try on what this process last read or wrote: when nobody else wrote meanwhile the
    // compare-and-swap lands, and load + flush costs two round trips, not three. A merge that
    // throws or keeps on that copy runs again on a fresh read, so the copy never decides alone.
    // Nothing remembered: first try on "not stored" (the swap then requires the key to be
    // absent), so a new session's first flush is one round trip, not two (bench: peers, create).
    let current = recent.get(id);
    let fresh = false;
    for (;;) {
      if (deadline.passed) return;
      let result: MergeResult;
      try {
        // It may throw (GONE, CONFLICT): then nothing is written and the error goes up as it is.
        result = merge(current ? current.record : null);
      } catch (error) {
        if (fresh) throw error;
        result = { action: 'keep' };
      }
      if (result.action === 'keep') {
        if (fresh) return;
      } else {
        const expected = current ? current.ver : '';
        let done: boolean;
        if (result.action === 'store') done = await write(id, expected, result.data, result.meta);
        else {
          done = (await run('remove', REMOVE, keyOf(id), [expected])) === 1;
          forget(id);
        }
        if (done) return;
      }
      // Lost the race (someone wrote in between), or the remembered copy was stale: merge
      // again onto what the store holds now.
      current = (await read(id)) ?? undefined;
      fresh = true;
    }
  }

  async function scanFrom(node: Redis, pattern: string, strip: number, seen: VisitedIds, visit: (id: string) => Promise<void> | void): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await withDeadline('traverse', () =>
        command('traverse', node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)));
      cursor = next;
      for (const key of keys) {
        const id = key.slice(strip);
        // SCAN may return a key more than once; each id is visited once. That takes a record
        // of the ids visited so far: 128-bit fingerprints, ~32 MB for a million sessions.
        if (!seen.add(id)) continue;
        await visit(id);
      }
    } while (cursor !== '0');
  }

  return {
    retrieve(id): Promise<StoredRecord | null> {
      return withDeadline('retrieve', async () => {
        const entry = await read(id);
        return entry === null ? null : { ...entry.record };
      });
    },
    store(id, data, meta) {
      return withDeadline('store', async () => {
        await write(id, '*', data, meta);
      });
    },
    remove(id) {
      return withDeadline('remove', async () => {
        forget(id);
        if (waitReplicas > 0) await replicated('remove', (pipeline) => pipeline.del(keyOf(id)));
        else await command('remove', client.del(keyOf(id)));
      });
    },
    async traverse(visit) {
      // The client's own keyPrefix is added to commands' keys, not to SCAN patterns.
      const clientPrefix = (client.options as { keyPrefix?: string } | undefined)?.keyPrefix ?? '';
      const pattern = `${escapeGlob(clientPrefix + prefix)}*`;
      const strip = clientPrefix.length + prefix.length;
      const seen = new VisitedIds();
      // A Cluster spreads keys over its masters; SCAN walks one node at a time. Its list of
      // masters is only right once its slot map has loaded (ready): before that it holds the
      // seed nodes, which it drops (mid-SCAN: "Connection is closed") when the map arrives.
      const nodes = await withDeadline('traverse', async () =>
        'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [client as Redis]);
      for (const node of nodes) await scanFrom(node, pattern, strip, seen, visit);
    },
    update(id, merge) {
      return withDeadline('update', (deadline) => update(id, merge, deadline));
    },
    touch(id, meta) {
      return withDeadline('touch', async () => (await run('touch', TOUCH, keyOf(id), [String(meta.atime), ttl(meta)])) === 1);
    },
    async close() {
      recent.clear();
      if (!owned || client.status === 'end') return;
      if (client.status === 'ready') {
        try {
          await withDeadline('close', () => command('close', client.quit()));
          return;
        } catch {
          // Redis stopped answering: drop the connection without the polite QUIT.
        }
      }
      client.disconnect();
    },
  };
}
