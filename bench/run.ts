// `npm run bench -- <suite> [options]`: one named suite per file under bench/, loaded on demand
// so a suite's clients (pg, ioredis, ...) are only imported when it runs.
type Suite = { run(argv: string[]): Promise<void> };

const suites: Record<string, { about: string; load: () => Promise<Suite> }> = {
  drivers: {
    about: 'ops/s and p50/p99 of load+param+flush and create+flush per driver, against the raw store floor',
    load: () => import('./drivers.js'),
  },
  peers: {
    about: 'req/s and p50/p99 over HTTP (autocannon): isosession vs express-session, iron-session and raw floors',
    load: () => import('./peers.js'),
  },
  scale: {
    about: 'a million sessions per store (10 % expired): Session.find and isosession find --expired --purge, RSS, p99 meanwhile (--sessions N)',
    load: () => import('./scale.js'),
  },
  filedir: {
    about: 'the file store with a million session files in one directory: request latency against 1,000 files, and the walk (--files N)',
    load: () => import('./fileDirectory.js'),
  },
  profile: {
    about: 'one peers server under --cpu-prof (--system, --workload): the frames that cost the most CPU, and the .cpuprofile',
    load: () => import('./profile.js'),
  },
  bundle: {
    about: 'gzipped browser bundle of @isosession/react vs next-auth/react and better-auth/react (esbuild)',
    load: () => import('./bundleSize.js'),
  },
};

const [name, ...rest] = process.argv.slice(2);
const suite = name === undefined ? undefined : suites[name];
if (!suite) {
  const list = Object.entries(suites).map(([key, { about }]) => `  ${key.padEnd(10)} ${about}`).join('\n');
  process.stderr.write(`${name === undefined ? 'no suite given' : `unknown suite "${name}"`}; usage: npm run bench -- <suite> [options]\nsuites:\n${list}\n`);
  process.exitCode = 2;
} else {
  await (await suite.load()).run(rest);
}
