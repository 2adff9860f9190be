import autocannon from 'autocannon';
import type { Client } from 'autocannon';
import type { WriteCounts } from './catalog.js';

/** One timed autocannon run against one workload of one server. */
export interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  /** Non-2xx responses, socket errors and timeouts: any makes the row suspect. */
  failures: number;
  /** Store writes the server counted during the run. */
  writes: WriteCounts;
  /** CPU time the server process spent per answered request, µs: less noisy than req/s on a shared machine. */
  cpuPerRequest: number;
}

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  /** One cookie per connection (round robin); none: every request comes without a cookie. */
  cookies?: string[];
}

function setCookieOf(rawHeaders: string[]): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'set-cookie') return rawHeaders[i + 1]!.split(';')[0];
  }
  return undefined;
}

type Stats = WriteCounts & { cpuMicros: number };

async function stats(base: string): Promise<Stats> {
  const response = await fetch(`${base}/stats`);
  return (await response.json()) as Stats;
}

/**
 * The server's counters once requests still in flight from the last run have finished
 * (autocannon stops sending at the deadline, the server completes what it got).
 */
async function settledStats(base: string): Promise<Stats> {
  let last = await stats(base);
  for (let attempt = 0; attempt < 30; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await stats(base);
    if (now.dataWrites === last.dataWrites && now.touches === last.touches) return now;
    last = now;
  }
  return last;
}

/**
 * Drives `url` with `connections` keep-alive connections for `seconds`. With cookies, each
 * connection is one client with its own session, and like a browser it sends back whatever
 * cookie the server sets (iron-session reseals its cookie on every save).
 */
export async function loadRun(options: LoadOptions): Promise<LoadResult> {
  const base = new URL(options.url).origin;
  const before = await settledStats(base);
  let next = 0;
  const cookies = options.cookies;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    setupClient: cookies
      ? (client: Client) => {
        let cookie = cookies[next++ % cookies.length]!;
        client.setHeaders({ cookie });
        client.on('headers', (response) => {
          const name = cookie.slice(0, cookie.indexOf('='));
          const set = setCookieOf(response.headers);
          if (set !== undefined && set.startsWith(`${name}=`) && set !== cookie) {
            cookie = set;
            client.setHeaders({ cookie });
          }
        });
      }
      : undefined,
  });
  const after = await settledStats(base);
  const elapsed = (result.finish.getTime() - result.start.getTime()) / 1000;
  return {
    reqPerSec: result['2xx'] / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result['2xx'],
    failures: result.non2xx + result.errors + result.timeouts,
    writes: { dataWrites: after.dataWrites - before.dataWrites, touches: after.touches - before.touches },
    cpuPerRequest: result['2xx'] === 0 ? Number.NaN : (after.cpuMicros - before.cpuMicros) / result['2xx'],
  };
}

/** Creates `count` sessions through the server's /create route; returns one Cookie header value each. */
export async function seedCookies(base: string, count: number, expectCookie = true): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${base}/create`);
    await response.arrayBuffer();
    const set = response.headers.getSetCookie()[0] ?? (expectCookie ? undefined : 'none=1');
    if (response.status !== 200 || set === undefined) throw new Error(`seeding ${base}: status ${response.status}, no session cookie`);
    cookies.push(set.split(';')[0]!);
  }
  return cookies;
}
