import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import '@isosession/server';
import { getDriverFactory } from '@isosession/test-support/serverInternals';
import { serviceAvailable } from '@isosession/test-support/services';
import { formatMs, formatOps, summarize } from './measure.js';
import type { CellResult } from './measure.js';
import { SYSTEMS, WORKLOADS, floorFor } from './peers/catalog.js';
import type { SystemInfo, Workload, WriteCounts } from './peers/catalog.js';
import { loadRun, seedCookies } from './peers/loadRun.js';
import type { LoadResult } from './peers/loadRun.js';
import { buildPackages, startPeerServer } from './peers/peerServer.js';
import type { PeerServer } from './peers/peerServer.js';

// The benchmark against the peers: isosession, express-session, iron-session and the
// floors, each as a plain node:http server in its own process, driven by autocannon.

const ABOUT: Record<Workload, string> = {
  counter: 'each of the connections is one client with its own existing session: load, n += 1, save, respond',
  create: 'no cookie: every request creates a session (n = 1), stores it and sets its cookie',
  read: 'each connection has its own existing session: load, read n, respond; nothing changes, so no data may be written',
};

interface Cell {
  system: SystemInfo;
  workload: Workload;
  runs: LoadResult[];
}

async function usable(system: SystemInfo): Promise<string | undefined> {
  if (system.service && !(await serviceAvailable(system.service))) return `${system.service} not reachable`;
  if (system.driver) {
    try {
      getDriverFactory(system.driver);
    } catch {
      return `driver:${system.driver} is not registered yet`;
    }
  }
  return undefined;
}

function ratio(ours: CellResult | undefined, theirs: CellResult | undefined): string {
  if (!ours || !theirs) return '–';
  return `${(ours.opsPerSec / theirs.opsPerSec).toFixed(2)}×`;
}

function counterpart(system: SystemInfo): string | undefined {
  if (system.family !== 'isosession') return undefined;
  return SYSTEMS.find((other) => other.family === 'express-session' && other.store === system.store && other.framework === system.framework)?.name;
}

function writesPerRequest(runs: LoadResult[]): string {
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const total = runs.reduce<WriteCounts>((sum, run) => ({ dataWrites: sum.dataWrites + run.writes.dataWrites, touches: sum.touches + run.writes.touches }), { dataWrites: 0, touches: 0 });
  if (requests === 0) return '–';
  return `${total.dataWrites.toLocaleString('en-US')} / ${total.touches.toLocaleString('en-US')} (${(total.dataWrites / requests).toFixed(2)} / ${(total.touches / requests).toFixed(2)} per req)`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function table(workload: Workload, cells: Cell[]): string {
  const summaries = new Map(cells.map((cell) => [cell.system.name, summarize(cell.runs.map((run) => ({ ops: run.requests, opsPerSec: run.reqPerSec, p50: run.p50, p99: run.p99 })))]));
  const lines = [
    `### ${workload}`,
    '',
    ABOUT[workload],
    '',
    '| system | req/s (min–max) | p50 ms | p99 ms | server CPU µs/req | isosession / express-session | ÷ floor | data writes / touches | failed |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const cell of cells) {
    const summary = summaries.get(cell.system.name)!;
    const peer = counterpart(cell.system);
    const floor = floorFor(cell.system.store, cell.system.framework);
    const isOurs = cell.system.family === 'isosession';
    const failures = cell.runs.reduce((sum, run) => sum + run.failures, 0);
    const cpu = median(cell.runs.map((run) => run.cpuPerRequest));
    lines.push(`| ${cell.system.label} | ${formatOps(summary.opsPerSec)} (${formatOps(summary.min)}–${formatOps(summary.max)}) | ${formatMs(summary.p50)} | ${formatMs(summary.p99)} | ${Math.round(cpu)} | ${isOurs && peer ? ratio(summary, summaries.get(peer)) : ''} | ${cell.system.family === 'floor' ? '' : `${ratio(summary, summaries.get(floor))} (${floor})`} | ${writesPerRequest(cell.runs)} | ${failures} |`);
  }
  return lines.join('\n');
}

/**
 * The issue's targets, every ratio from this one run: isosession's Express middleware ÷
 * express-session on Express with the same store, and isosession on node:http ÷ the raw
 * store's floor. req/s ratio (median runs) and the CPU µs/req of each side.
 */
function ratios(workloads: Workload[], cells: Map<string, Cell>): string {
  const lines = ['### ratios', '', '| pair | workload | req/s ratio | CPU µs/req (ours / theirs) |', '|---|---|--:|--:|'];
  const pairs: [SystemInfo, string][] = [];
  for (const system of SYSTEMS.filter((candidate) => candidate.family === 'isosession')) {
    const other = system.framework === 'express' ? counterpart(system) : system.store === 'file' || system.store === 'redis' || system.store === 'postgresql' ? floorFor(system.store) : undefined;
    if (other) pairs.push([system, other]);
  }
  for (const [system, other] of pairs) {
    for (const workload of workloads) {
      const ours = cells.get(`${system.name}/${workload}`);
      const theirs = cells.get(`${other}/${workload}`);
      if (!ours || !theirs || ours.runs.length === 0 || theirs.runs.length === 0) continue;
      const ops = (cell: Cell) => median(cell.runs.map((run) => run.reqPerSec));
      const cpu = (cell: Cell) => median(cell.runs.map((run) => run.cpuPerRequest));
      if (ops(theirs) === 0) continue;
      lines.push(`| ${system.label} ÷ ${theirs.system.label} | ${workload} | ${(ops(ours) / ops(theirs)).toFixed(2)}× | ${Math.round(cpu(ours))} / ${Math.round(cpu(theirs))} |`);
    }
  }
  return lines.length > 4 ? lines.join('\n') : '';
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '3' },
      runs: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '100' },
      only: { type: 'string' },
      workloads: { type: 'string' },
      framework: { type: 'string' },
      out: { type: 'string' },
      // Run the dist/ folders as they are (say, an older commit's build copied in to compare).
      'no-build': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  // --only names systems (a prefix ending in * takes all that start so, e.g. 'isosession-*');
  // --framework http|express keeps one half. A quick check: --runs 1 --seconds 1 --warmup 0.
  const only = values.only?.split(',');
  const framework = values.framework;
  const picked = (name: string) => !only || only.some((pattern) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
  const workloads = (values.workloads?.split(',') ?? [...WORKLOADS]) as Workload[];
  const started = Date.now();
  const load = loadavg().map((value) => value.toFixed(2)).join(' ');

  const skipped: string[] = [];
  const systems: SystemInfo[] = [];
  for (const system of SYSTEMS.filter((candidate) => picked(candidate.name) && (!framework || candidate.framework === framework))) {
    const why = await usable(system);
    if (why) skipped.push(`- ${system.label}: skipped (${why})`);
    else systems.push(system);
  }

  if (values['no-build']) process.stderr.write('peers: --no-build: the servers run packages/*/dist as it is\n');
  else {
    process.stderr.write('peers: building packages/core and packages/server (the servers run the build, as an npm user does)\n');
    buildPackages();
  }
  const servers = new Map<string, PeerServer>();
  const cookies = new Map<string, string[]>();
  const cells = new Map<string, Cell>();
  try {
    for (const system of systems) {
      const server = await startPeerServer(system.name);
      servers.set(system.name, server);
      cookies.set(system.name, await seedCookies(server.base, connections, system.store !== 'none'));
      for (const workload of workloads) cells.set(`${system.name}/${workload}`, { system, workload, runs: [] });
    }
    // Rounds interleave the systems, so that a noisy minute on this shared machine spreads
    // over all of them instead of sinking one.
    for (let round = 0; round < runs; round++) {
      for (const system of systems) {
        const server = servers.get(system.name)!;
        for (const workload of workloads) {
          const options = {
            url: `${server.base}/${workload}`,
            connections,
            cookies: workload === 'create' ? undefined : cookies.get(system.name),
          };
          if (round === 0 && warmup > 0) await loadRun({ ...options, seconds: warmup });
          const result = await loadRun({ ...options, seconds });
          cells.get(`${system.name}/${workload}`)!.runs.push(result);
          process.stderr.write(`peers: round ${round + 1}/${runs} ${system.name.padEnd(22)} ${workload.padEnd(8)} ${formatOps(result.reqPerSec).padStart(8)} req/s  p99 ${formatMs(result.p99)} ms${result.failures ? `  ${result.failures} FAILED` : ''}\n`);
        }
      }
    }
  } finally {
    await Promise.allSettled([...servers.values()].map((server) => server.stop()));
  }

  const date = new Date().toISOString();
  const report = [
    `# Benchmark against the peers, ${date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, load average at start ${load} (the machine is shared: compare rows of one run, not runs).`,
    `Each server runs on 127.0.0.1 in its own process, as a plain node:http server or (rows marked Express) as middleware in an Express 5 app answering with res.send; autocannon (${connections} keep-alive connections) in the parent. Each cell: ${runs} runs of ${seconds} s (after a ${warmup} s warm-up), rounds interleaved across systems; req/s is the median run (min–max over runs), p50/p99 the median of the runs' autocannon percentiles. Whole run: ${Math.round((Date.now() - started) / 1000)} s.`,
    '',
    '- isosession: the node:http adapter `withNodeSession`, signed ids (`sessionParams.secret`; express-session always signs), JSON serializer. express-session: `resave: false, saveUninitialized: false` (its README\'s advice). iron-session: `getIronSession` + `save()`.',
    '- **isosession / express-session**: isosession req/s ÷ express-session req/s on the same store and framework (target ≥ 1.50× on Express). **÷ floor**: req/s ÷ the floor\'s req/s (raw file / redis / PostgreSQL for those stores, the bare server — or the bare Express app — for memory, sqlite and cookies; target ≥ 0.75× on node:http).',
    '- **server CPU µs/req**: CPU time (user + system, all threads) of the server process per answered request, median of the runs: steadier than req/s when other work shares the machine.',
    '- **data writes / touches**: what the store was asked to write during the measured runs (isosession: a counting wrapper around the driver, counting update/store attempts and touches; express-session: the store\'s set() and touch() calls; floors: their SETs). A touch moves only the expiry/atime: for isosession file a utimes, redis a HSET atime + PEXPIRE; express-session\'s MemoryStore and session-file-store rewrite the whole session on touch, connect-redis sends EXPIRE, connect-pg-simple an UPDATE.',
    '',
    ...workloads.flatMap((workload) => [table(workload, systems.map((system) => cells.get(`${system.name}/${workload}`)!)), '']),
    ratios(workloads, cells),
    '',
    ...(skipped.length > 0 ? ['Skipped:', '', ...skipped, ''] : []),
  ].join('\n');

  const directory = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(directory, { recursive: true });
  const file = values.out ?? `${directory}peers-${date.slice(0, 10)}.md`;
  await writeFile(file, report);
  process.stdout.write(`${report}\nwritten to ${file}\n`);
}
