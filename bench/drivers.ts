import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Session, SessionError, clearMemoryStore } from '@isosession/server';
import type { DsnArgs } from '@isosession/server';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import type { ServiceName } from '@isosession/test-support/services';
import { deleteKeys } from '@isosession/test-support/redisServer';
import { getDriverFactory } from '@isosession/test-support/serverInternals';
import { formatMs, formatOps, summarize, timedRun } from './measure.js';
import type { CellResult, Operation, RunResult } from './measure.js';
import { fileFloor, memoryFloor, mysqlFloor, postgresqlFloor, redisFloor, sqliteFloor } from './rawFloors.js';
import type { RawFloor } from './rawFloors.js';

// The driver benchmark: for each driver, (a) load + param + flush of an existing session
// and (b) create + flush, 1 and 32 at a time, next to the raw floor of the same store.

interface Setup {
  dsnArgs: DsnArgs;
  floor: RawFloor;
  cleanup(): Promise<void>;
}

interface Target {
  driver: string;
  service?: ServiceName;
  open(): Promise<Setup>;
}

const token = () => randomBytes(5).toString('hex');

async function tempDirectory(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `isosession-bench-${label}-`));
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
    driver: 'memory',
    async open() {
      const namespace = `bench-${token()}`;
      return { dsnArgs: { Namespace: namespace }, floor: memoryFloor(), cleanup: async () => clearMemoryStore(namespace) };
    },
  },
  {
    driver: 'file',
    async open() {
      const directory = await tempDirectory('file');
      const raw = join(directory, 'raw');
      await mkdir(raw);
      return {
        dsnArgs: { Directory: join(directory, 'sessions') },
        floor: fileFloor(raw),
        cleanup: () => rm(directory, { recursive: true, force: true }),
      };
    },
  },
  {
    driver: 'sqlite',
    async open() {
      const directory = await tempDirectory('sqlite');
      return {
        dsnArgs: { DataSource: join(directory, 'sessions.sqlite') },
        floor: await sqliteFloor(join(directory, 'raw.sqlite')),
        cleanup: () => rm(directory, { recursive: true, force: true }),
      };
    },
  },
  {
    driver: 'postgresql',
    service: 'postgresql',
    async open() {
      const table = `isosession_bench_${token()}`;
      return {
        dsnArgs: { DataSource: SERVICE_URLS.postgresql, TableName: table },
        floor: await postgresqlFloor(SERVICE_URLS.postgresql),
        cleanup: () => dropTable('postgresql', table),
      };
    },
  },
  {
    driver: 'mysql',
    service: 'mysql',
    async open() {
      const table = `isosession_bench_${token()}`;
      return {
        dsnArgs: { DataSource: SERVICE_URLS.mysql, TableName: table },
        floor: await mysqlFloor(SERVICE_URLS.mysql),
        cleanup: () => dropTable('mysql', table),
      };
    },
  },
  {
    driver: 'redis',
    service: 'redis',
    async open() {
      const prefix = `isosession-bench:${token()}:`;
      return {
        dsnArgs: { Url: SERVICE_URLS.redis, Prefix: prefix },
        floor: await redisFloor(SERVICE_URLS.redis, prefix),
        async cleanup() {
          const { Redis } = await import('ioredis');
          const client = new Redis(SERVICE_URLS.redis);
          await deleteKeys(client, prefix).finally(() => client.disconnect());
        },
      };
    },
  },
];

/** What a typical signed-in session holds (~400 bytes of JSON with the reserved keys). */
function sessionParams(): Record<string, unknown> {
  return {
    user: 'ann@example.com',
    roles: ['reader', 'writer'],
    cart: [{ sku: 'A-1001', qty: 1 }, { sku: 'B-2002', qty: 3 }, { sku: 'C-3003', qty: 2 }],
    theme: 'dark',
    csrf: randomBytes(16).toString('hex'),
  };
}

interface Row {
  driver: string;
  operation: string;
  concurrency: number;
  ours: CellResult;
  raw: CellResult;
}

interface Options {
  seconds: number;
  runs: number;
  warmup: number;
  concurrency: number[];
  only: string[] | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '1.5' },
      runs: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '0.3' },
      concurrency: { type: 'string', default: '1,32' },
      only: { type: 'string' },
    },
  });
  return {
    seconds: Number(values.seconds),
    runs: Math.max(1, Number(values.runs)),
    warmup: Number(values.warmup),
    concurrency: values.concurrency.split(',').map(Number),
    only: values.only?.split(','),
  };
}

/** Runs ours and raw alternately, so that the shared machine's load drifts onto both alike. */
async function cell(options: Options, concurrency: number, ours: Operation, raw: Operation): Promise<{ ours: CellResult; raw: CellResult }> {
  await timedRun(ours, concurrency, options.warmup);
  await timedRun(raw, concurrency, options.warmup);
  const oursRuns: RunResult[] = [];
  const rawRuns: RunResult[] = [];
  for (let run = 0; run < options.runs; run++) {
    oursRuns.push(await timedRun(ours, concurrency, options.seconds));
    rawRuns.push(await timedRun(raw, concurrency, options.seconds));
  }
  return { ours: summarize(oursRuns), raw: summarize(rawRuns) };
}

async function benchDriver(target: Target, setup: Setup, options: Options, log: (line: string) => void): Promise<Row[]> {
  const dsn = `driver:${target.driver}`;
  const { dsnArgs, floor } = setup;
  const workers = Math.max(...options.concurrency);
  const ids: string[] = [];
  for (let worker = 0; worker < workers; worker++) {
    const s = await Session.new(dsn, null, dsnArgs);
    s.param(sessionParams());
    await s.flush();
    ids.push(s.id()!);
  }
  // The raw floor writes what the session store writes: the same table, as JSON.
  const sample = await Session.load(dsn, ids[0]!, dsnArgs);
  const payload = JSON.stringify(sample.dataref());
  const rawKeys = ids.map((_, worker) => `existing-${worker}`);
  await floor.seed(rawKeys, payload);

  const rows: Row[] = [];
  let created = 0;
  for (const concurrency of options.concurrency) {
    const update = await cell(options, concurrency, async (worker, iteration) => {
      const s = await Session.load(dsn, ids[worker]!, dsnArgs);
      s.param('n', iteration);
      await s.flush();
    }, (worker) => floor.readWrite(rawKeys[worker]!, payload));
    rows.push({ driver: target.driver, operation: 'load + param + flush', concurrency, ...update });
    log(`  ${target.driver}: load + param + flush ×${concurrency}: ${formatOps(update.ours.opsPerSec)} ops/s (raw ${formatOps(update.raw.opsPerSec)})`);

    const run = token();
    const create = await cell(options, concurrency, async () => {
      const s = await Session.new(dsn, null, dsnArgs);
      s.param(sessionParams());
      await s.flush();
    }, async () => floor.create(`new-${run}-${created++}`, payload));
    rows.push({ driver: target.driver, operation: 'create + flush', concurrency, ...create });
    log(`  ${target.driver}: create + flush ×${concurrency}: ${formatOps(create.ours.opsPerSec)} ops/s (raw ${formatOps(create.raw.opsPerSec)})`);
  }
  return rows;
}

function table(rows: Row[]): string {
  const lines = [
    '| driver | operation | conc. | ours ops/s (min–max) | ours p50 / p99 ms | raw ops/s (min–max) | raw p50 / p99 ms | ours/raw |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { driver, operation, concurrency, ours, raw } of rows) {
    lines.push(`| ${driver} | ${operation} | ${concurrency} | ${formatOps(ours.opsPerSec)} (${formatOps(ours.min)}–${formatOps(ours.max)}) | ${formatMs(ours.p50)} / ${formatMs(ours.p99)} | ${formatOps(raw.opsPerSec)} (${formatOps(raw.min)}–${formatOps(raw.max)}) | ${formatMs(raw.p50)} / ${formatMs(raw.p99)} | ${(raw.opsPerSec / ours.opsPerSec).toFixed(2)}× |`);
  }
  return lines.join('\n');
}

function registered(driver: string): boolean {
  try {
    getDriverFactory(driver);
    return true;
  } catch {
    return false;
  }
}

async function usable(target: Target): Promise<string | undefined> {
  if (!registered(target.driver)) return 'driver not registered';
  if (!target.service) return undefined;
  try {
    return (await serviceAvailable(target.service)) ? undefined : `${target.service} not reachable at ${SERVICE_URLS[target.service]}`;
  } catch (error) {
    return (error as Error).message;
  }
}

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const startedAt = new Date();
  const load = loadavg().map((value) => value.toFixed(2)).join(' ');
  const rows: Row[] = [];
  const skipped: string[] = [];

  for (const target of TARGETS) {
    if (options.only && !options.only.includes(target.driver)) continue;
    const unavailable = await usable(target);
    if (unavailable) {
      skipped.push(`- ${target.driver}: skipped (${unavailable})`);
      log(skipped.at(-1)!);
      continue;
    }
    let setup: Setup;
    try {
      setup = await target.open();
    } catch (error) {
      skipped.push(`- ${target.driver}: skipped (raw floor setup failed: ${(error as Error).message})`);
      log(skipped.at(-1)!);
      continue;
    }
    log(`${target.driver}: running`);
    try {
      rows.push(...(await benchDriver(target, setup, options, log)));
    } catch (error) {
      const code = error instanceof SessionError ? ` (${error.code})` : '';
      skipped.push(`- ${target.driver}: failed${code}: ${(error as Error).message}`);
      log(skipped.at(-1)!);
    } finally {
      await Session.closeAll();
      await setup.floor.close().catch(() => {});
      await setup.cleanup().catch((error: Error) => log(`  cleanup of ${target.driver} failed: ${error.message}`));
    }
  }

  const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);
  const cpu = cpus();
  const report = [
    `# Driver benchmark, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, load average at start ${load}` +
      ' (the machine is shared: read ratios more than absolute numbers).',
    `Each cell: ${options.runs} runs of ${options.seconds} s after a ${options.warmup} s warm-up, ours and raw alternating;` +
      ' ops/s is the median run (min–max over runs), p50/p99 the median of the runs\' percentiles.' +
      ` Whole run: ${seconds} s.`,
    '',
    '- **load + param + flush**: `Session.load(dsn, id)`, one `param()`, `flush()` on an existing session (~400 B JSON);' +
      ' each concurrent worker has its own session. Raw floor: one read + one write of the same bytes under its own key.',
    '- **create + flush**: `Session.new(dsn)` without a claim, five params, `flush()`. Raw floor: one read (a miss) + one write of a new key.',
    '- **ours/raw**: raw ops/s ÷ ours ops/s, i.e. how many times longer one of ours takes (target: ≤ 1.5×).',
    '- Raw floors: memory `Map.get + Map.set`; file `readFile + writeFile` (no fsync, no rename, no lock);' +
      ' sqlite/PostgreSQL/MySQL one `SELECT` + one `UPDATE` (create: `INSERT`) with the same client library;' +
      ' redis `GET` + `SET` through ioredis with the driver\'s client options.',
    '',
    table(rows),
    ...(skipped.length > 0 ? ['', ...skipped] : []),
    '',
  ].join('\n');

  process.stdout.write(report);
  const directory = new URL('./results/', import.meta.url);
  await mkdir(directory, { recursive: true });
  const file = new URL(`drivers-${startedAt.toISOString().slice(0, 10)}.md`, directory);
  await writeFile(file, report);
  log(`saved ${file.pathname}`);
}
