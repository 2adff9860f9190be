import { Session } from '@isosession/server';
import type { DsnArgs } from '@isosession/server';

// A child of `npm run bench -- scale`: Session.find over the whole store, in a process of its
// own so that its resident memory is the walk's alone. argv[2]: { dsn, dsnArgs } as JSON.
// Prints one JSON line: visited, purged, seconds, and its RSS over the run (MB).

const { dsn, dsnArgs } = JSON.parse(process.argv[2] ?? '{}') as { dsn: string; dsnArgs: DsnArgs };
const samples: number[] = [];
const sampler = setInterval(() => samples.push(process.memoryUsage().rss), 200);
const started = Date.now();
let live = 0;
const report = await Session.find(dsn, (session) => {
  if (!session.isExpired()) live += 1;
}, dsnArgs);
const seconds = (Date.now() - started) / 1000;
clearInterval(sampler);
await Session.closeAll();
const mb = (bytes: number | undefined) => (bytes === undefined ? null : Math.round(bytes / 1024 / 1024));
process.stdout.write(`${JSON.stringify({
  visited: report.visited,
  purged: report.purged,
  live,
  failed: report.failed.length,
  seconds,
  rssEarlyMb: mb(samples[Math.min(samples.length - 1, 5)]),
  rssPeakMb: mb(Math.max(...samples, process.memoryUsage().rss)),
})}\n`);
process.exit(0);
