import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Session } from '@isosession/server';
import type { DsnArgs } from '@isosession/server';
import { getSerializer } from '@isosession/test-support/serverInternals';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import type { ServiceName } from '@isosession/test-support/services';
import { deleteKeys } from '@isosession/test-support/redisServer';
import { startRedisCluster } from '@isosession/test-support/redisCluster';
import { redisServerInstalled } from '@isosession/test-support/redisInstalled';
import type { Driver } from '@isosession/server';

// `npm run bench -- scale`: each store filled with --sessions sessions (default 1,000,000),
// 10 % of them expired, then Session.find and `isosession find --expired --purge` over all of
// them (wall time, sessions/s, RSS at the start and peak of the walk), and the p99 of a light
// load on the same store meanwhile. For the stores with an expiry index (sqlite, postgresql,
// mysql) the same purge with -q, which deletes through the index; redis needs none (TTL).

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FIND_CHILD = join(HERE, 'scaleFind.ts');
const CLI = join(HERE, '..', 'packages', 'server', 'src', 'cli', 'isosession.ts');
const DAY = 86_400;
const token = () => randomBytes(5).toString('hex');

interface Store {
  dsn: string;
  dsnArgs: DsnArgs;
  cleanup(): Promise<void>;
}

interface Target {
  name: string;
  service?: ServiceName;
  /** Needs redis-server to start a cluster of its own. */
  cluster?: boolean;
  /** Has an expiry index: purgeExpired() deletes without loading. */
  indexed?: boolean;
  open(): Promise<Store>;
}

async function dropTable(service: 'postgresql' | 'mysql', table: string): Promise<void> {
  if (service === 'postgresql') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}`).finally(() => client.end());
  } else {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection({ uri: SERVICE_URLS.mysql });
    await connection.query(`DROP TABLE IF EXISTS ${table}`).finally(() => connection.end());
  }
}

const TARGETS: Target[] = [
  {
    name: 'file',
    async open() {
      const directory = await mkdtemp(join(tmpdir(), 'isosession-scale-file-'));
      return { dsn: 'driver:file', dsnArgs: { Directory: directory }, cleanup: () => rm(directory, { recursive: true, force: true }) };
    },
  },
  {
    name: 'sqlite',
    indexed: true,
    async open() {
      const directory = await mkdtemp(join(tmpdir(), 'isosession-scale-sqlite-'));
      return { dsn: 'driver:sqlite', dsnArgs: { DataSource: join(directory, 'sessions.sqlite') }, cleanup: () => rm(directory, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgresql',
    service: 'postgresql',
    indexed: true,
    async open() {
      const table = `isosession_scale_${token()}`;
      return { dsn: 'driver:postgresql', dsnArgs: { DataSource: SERVICE_URLS.postgresql, TableName: table }, cleanup: () => dropTable('postgresql', table) };
    },
  },
  {
    name: 'mysql',
    service: 'mysql',
    indexed: true,
    async open() {
      const table = `isosession_scale_${token()}`;
      return { dsn: 'driver:mysql', dsnArgs: { DataSource: SERVICE_URLS.mysql, TableName: table }, cleanup: () => dropTable('mysql', table) };
    },
  },
  {
    name: 'redis',
    service: 'redis',
    async open() {
      const prefix = `isosession-scale:${token()}:`;
      return {
        dsn: 'driver:redis',
        dsnArgs: { Url: SERVICE_URLS.redis, Prefix: prefix },
        async cleanup() {
          const { Redis } = await import('ioredis');
          const client = new Redis(SERVICE_URLS.redis);
          await deleteKeys(client, prefix).finally(() => client.disconnect());
        },
      };
    },
  },
  {
    name: 'redis cluster',
    cluster: true,
    async open() {
      const cluster = await startRedisCluster();
      return { dsn: 'driver:redis', dsnArgs: { Url: cluster.urls, Prefix: 'cgisess:' }, cleanup: () => cluster.stop() };
    },
  },
];

interface Options {
  sessions: number;
  expiredShare: number;
  concurrency: number;
  only: string[] | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sessions: { type: 'string', default: '1000000' },
      expired: { type: 'string', default: '0.1' },
      concurrency: { type: 'string', default: '16' },
      only: { type: 'string' },
    },
  });
  return {
    sessions: Number(values.sessions),
    expiredShare: Number(values.expired),
    concurrency: Math.max(1, Number(values.concurrency)),
    only: values.only?.split(','),
  };
}

/** A stored session as Session would write it (~300 bytes of JSON); expired ones idled out two days ago. */
function storedSession(id: string, index: number, expired: boolean, now: number) {
  const atime = expired ? now - 2 * DAY : now - (index % 3600);
  const table = {
    _SESSION_ID: id,
    _SESSION_CTIME: atime - 600,
    _SESSION_ATIME: atime,
    _SESSION_ETIME: DAY,
    user: `user${index}@example.com`,
    roles: ['reader'],
    cart: [{ sku: 'A-1001', qty: 1 }, { sku: 'B-2002', qty: 3 }],
    theme: index % 2 === 0 ? 'dark' : 'light',
  };
  return { table, meta: { atime, etime: DAY, expiresAt: atime + DAY } };
}

/** The id of session `index`: derived, so a refill writes the same ids again. */
const idOf = (seed: string, index: number) => `${seed}${index.toString(16).padStart(8, '0')}`.padEnd(32, '0');

async function fill(driver: Driver, seed: string, indices: Iterable<number>, expiredEvery: number, concurrency: number, log: (line: string) => void, total: number): Promise<number> {
  const serializer = getSerializer('default');
  const now = Math.floor(Date.now() / 1000);
  const iterator = indices[Symbol.iterator]();
  const started = Date.now();
  let done = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const index = next.value;
      const id = idOf(seed, index);
      const { table, meta } = storedSession(id, index, index % expiredEvery === 0, now);
      await driver.store(id, serializer.freeze(table), meta);
      done += 1;
      if (done % 100_000 === 0) log(`  filled ${done.toLocaleString('en')} / ${total.toLocaleString('en')} (${Math.round(done / ((Date.now() - started) / 1000)).toLocaleString('en')}/s)`);
    }
  }));
  return (Date.now() - started) / 1000;
}

function* range(count: number, every = 1): Generator<number> {
  for (let index = 0; index < count; index += every) yield index;
}

/** A light load on the same store while something runs: 2 clients, load + param + flush, 10 ms apart. */
function lightLoad(dsn: string, dsnArgs: DsnArgs, ids: string[]) {
  const latencies: Record<string, number[]> = {};
  let phase = 'idle';
  let stopped = false;
  const running = Promise.all([0, 1].map(async (client) => {
    for (let i = client; !stopped; i += 2) {
      const begin = performance.now();
      const session = await Session.load(dsn, ids[i % ids.length]!, dsnArgs);
      session.param('n', i);
      await session.flush();
      (latencies[phase] ??= []).push(performance.now() - begin);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }));
  return {
    set phase(value: string) {
      phase = value;
    },
    p99(of: string): number | null {
      const sorted = [...(latencies[of] ?? [])].sort((a, b) => a - b);
      return sorted.length === 0 ? null : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! * 10) / 10;
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/** Runs a child to its end; `rss` polls its resident memory (MB) from /proc while it runs. */
function runChild(args: string[]): Promise<{ code: number; stdout: string; stderr: string; rssEarlyMb: number | null; rssPeakMb: number | null; seconds: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const samples: number[] = [];
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
        if (rss) samples.push(Number(rss) / 1024);
      } catch {
        // gone, or no /proc
      }
    }, 200);
    child.once('exit', (code) => {
      clearInterval(poll);
      resolve({
        code: code ?? 1,
        stdout,
        stderr,
        seconds: (Date.now() - started) / 1000,
        rssEarlyMb: samples.length === 0 ? null : Math.round(samples[Math.min(samples.length - 1, 10)]!),
        rssPeakMb: samples.length === 0 ? null : Math.round(Math.max(...samples)),
      });
    });
  });
}

interface Result {
  store: string;
  sessions: number;
  fillSeconds: number;
  find: { seconds: number; perSecond: number; visited: number; purged: number; rssEarlyMb: number | null; rssPeakMb: number | null };
  cli: { seconds: number; perSecond: number; purged: number; rssEarlyMb: number | null; rssPeakMb: number | null };
  index?: { seconds: number; purged: number };
  p99: Record<string, number | null>;
  fileDirectory?: { listSeconds: number };
}

async function benchStore(target: Target, options: Options, log: (line: string) => void): Promise<Result> {
  const store = await target.open();
  try {
    const { dsn, dsnArgs } = store;
    const driver = (await Session.new(dsn, null, dsnArgs)).driver();
    const seed = randomBytes(12).toString('hex');
    const expiredEvery = Math.round(1 / options.expiredShare);
    log(`${target.name}: filling ${options.sessions.toLocaleString('en')} sessions, every ${expiredEvery}th expired`);
    const fillSeconds = await fill(driver, seed, range(options.sessions), expiredEvery, options.concurrency, log, options.sessions);
    const expiredCount = Math.ceil(options.sessions / expiredEvery);

    // The light load's own sessions (they are walked too).
    const loadIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const session = await Session.new(dsn, null, dsnArgs);
      session.param('n', 0);
      await session.flush();
      loadIds.push(session.id()!);
    }
    const load = lightLoad(dsn, dsnArgs, loadIds);
    await new Promise((resolve) => setTimeout(resolve, 3000));

    let fileDirectory: Result['fileDirectory'];
    if (target.name === 'file') {
      const started = Date.now();
      await readdir(dsnArgs.Directory as string);
      fileDirectory = { listSeconds: (Date.now() - started) / 1000 };
    }

    log(`${target.name}: Session.find over all of them`);
    load.phase = 'find';
    const findRun = await runChild([FIND_CHILD, JSON.stringify({ dsn, dsnArgs })]);
    if (findRun.code !== 0) throw new Error(`Session.find child failed: ${findRun.stderr.slice(0, 2000)}`);
    const found = JSON.parse(findRun.stdout.trim().split('\n').at(-1)!) as { visited: number; purged: number; seconds: number; rssEarlyMb: number; rssPeakMb: number };

    log(`${target.name}: refilling the expired ones, then isosession find --expired --purge`);
    load.phase = 'refill';
    await fill(driver, seed, range(options.sessions, expiredEvery), expiredEvery, options.concurrency, () => {}, expiredCount);
    load.phase = 'cli';
    // Listing each purged session: the CLI walks the store (loads every session).
    const cliRun = await runChild([CLI, 'find', '--dsn', dsn, '--args', JSON.stringify(dsnArgs), '--expired', '--purge', '--json']);
    if (cliRun.code !== 0) throw new Error(`isosession find failed (${cliRun.code}): ${cliRun.stderr.slice(0, 2000)}`);
    const summary = JSON.parse(cliRun.stdout.trim().split('\n').at(-1)!) as { visited: number; purged: number; seconds: number };

    let index: Result['index'];
    if (target.indexed) {
      log(`${target.name}: refilling the expired ones, then isosession find --expired --purge -q (the expiry index)`);
      load.phase = 'refill';
      await fill(driver, seed, range(options.sessions, expiredEvery), expiredEvery, options.concurrency, () => {}, expiredCount);
      load.phase = 'index';
      const indexRun = await runChild([CLI, 'find', '--dsn', dsn, '--args', JSON.stringify(dsnArgs), '--expired', '--purge', '--quiet', '--json']);
      if (indexRun.code !== 0) throw new Error(`isosession find -q failed (${indexRun.code}): ${indexRun.stderr.slice(0, 2000)}`);
      const indexed = JSON.parse(indexRun.stdout.trim().split('\n').at(-1)!) as { purged: number; seconds: number; via?: string };
      if (indexed.via !== 'expiry index') throw new Error(`isosession find -q did not use the expiry index: ${indexRun.stdout.slice(-500)}`);
      index = { seconds: indexed.seconds, purged: indexed.purged };
    }
    load.phase = 'done';
    await load.stop();
    const result: Result = {
      store: target.name,
      sessions: options.sessions,
      fillSeconds,
      find: { seconds: found.seconds, perSecond: Math.round(found.visited / found.seconds), visited: found.visited, purged: found.purged, rssEarlyMb: found.rssEarlyMb, rssPeakMb: found.rssPeakMb },
      cli: { seconds: summary.seconds, perSecond: Math.round(summary.visited / summary.seconds), purged: summary.purged, rssEarlyMb: cliRun.rssEarlyMb, rssPeakMb: cliRun.rssPeakMb },
      ...(index ? { index } : {}),
      p99: { idle: load.p99('idle'), find: load.p99('find'), cli: load.p99('cli'), ...(index ? { index: load.p99('index') } : {}) },
      ...(fileDirectory ? { fileDirectory } : {}),
    };
    log(`${target.name}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await Session.closeAll();
    await store.cleanup().catch((error: Error) => log(`  cleanup of ${target.name} failed: ${error.message}`));
  }
}

async function usable(target: Target): Promise<string | undefined> {
  if (target.cluster) {
    try {
      return redisServerInstalled('the cluster scale bench') ? undefined : 'redis-server is not installed';
    } catch (error) {
      return (error as Error).message;
    }
  }
  if (!target.service) return undefined;
  try {
    return (await serviceAvailable(target.service)) ? undefined : `${target.service} is not reachable`;
  } catch (error) {
    return (error as Error).message;
  }
}

const number = (value: number) => value.toLocaleString('en');

function table(results: Result[]): string {
  const rows = results.map((r) => [
    r.store,
    number(r.sessions),
    `${r.fillSeconds.toFixed(0)} s`,
    `${r.find.seconds.toFixed(1)} s, ${number(r.find.perSecond)}/s, purged ${number(r.find.purged)}`,
    `${r.find.rssEarlyMb ?? '—'} → ${r.find.rssPeakMb}`,
    `${r.cli.seconds.toFixed(1)} s, ${number(r.cli.perSecond)}/s, purged ${number(r.cli.purged)}`,
    `${r.cli.rssEarlyMb ?? '—'} → ${r.cli.rssPeakMb}`,
    r.index ? `${r.index.seconds.toFixed(2)} s, purged ${number(r.index.purged)}` : r.store.startsWith('redis') ? 'TTL (no sweep)' : '—',
    `${r.p99.idle ?? '—'} / ${r.p99.find ?? '—'} / ${r.p99.cli ?? '—'}${r.p99.index !== undefined ? ` / ${r.p99.index ?? '—'}` : ''}`,
  ]);
  return [
    '| store | sessions | fill | Session.find (wall, rate, purged) | find RSS MB (start → peak) | CLI find --expired --purge | CLI RSS MB | purge via expiry index | light-load p99 ms: idle / find / CLI / index |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const startedAt = new Date();
  const load = loadavg().map((value) => value.toFixed(2)).join(' ');
  const results: Result[] = [];
  const notes: string[] = [];
  for (const target of TARGETS) {
    if (options.only && !options.only.includes(target.name)) continue;
    const unavailable = await usable(target);
    if (unavailable) {
      notes.push(`- ${target.name}: skipped (${unavailable})`);
      log(notes.at(-1)!);
      continue;
    }
    try {
      const result = await benchStore(target, options, log);
      results.push(result);
      if (result.fileDirectory) notes.push(`- file: readdir of the one directory holding ${number(result.sessions)} files took ${result.fileDirectory.listSeconds.toFixed(2)} s.`);
    } catch (error) {
      notes.push(`- ${target.name}: failed: ${(error as Error).message}`);
      log(notes.at(-1)!);
    }
  }
  const cpu = cpus();
  const report = [
    `# Scale benchmark, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, load average at start ${load} (a shared machine).` +
      ` ${number(options.sessions)} sessions per store (~300 B JSON each), ${Math.round(options.expiredShare * 100)} % expired, filled through the driver's store() ${options.concurrency} at a time.` +
      ` Whole run: ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s.`,
    '',
    '- **Session.find**: `Session.find(dsn, () => {}, dsnArgs)` in a process of its own: loads every session, purges the expired ones.',
    '- **CLI**: `isosession find --expired --purge --json` (a line per purged session, so it walks and loads every session) in a process of its own, after the expired ones were written again.',
    '- **RSS**: resident memory of that process a second or two into the walk and at its peak; flat means the walk streams.',
    '- **expiry index**: `isosession find --expired --purge -q`, which on sqlite/PostgreSQL/MySQL is one DELETE through the index on expiry (`purgeExpired`), after the expired ones were written again.',
    '- **light load**: 2 clients doing load + param + flush on the same store, 10 ms apart; p99 while idle, during find, the CLI and the index purge.',
    '',
    table(results),
    ...(notes.length > 0 ? ['', ...notes] : []),
    '',
  ].join('\n');
  process.stdout.write(report);
  const directory = new URL('./results/', import.meta.url);
  await mkdir(directory, { recursive: true });
  const file = new URL(`scale-${startedAt.toISOString().slice(0, 10)}-${options.sessions}.md`, directory);
  await writeFile(file, report);
  log(`saved ${file.pathname}`);
}
