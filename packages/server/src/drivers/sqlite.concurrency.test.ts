import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConcurrencyContract } from '../testing/concurrencyContract.js';

// One database file shared by the writer processes, as several app servers on one machine would.
const directory = await mkdtemp(join(tmpdir(), 'isosession-sqlite-concurrency-'));
let files = 0;

runConcurrencyContract({
  name: 'sqlite',
  dsn: 'driver:sqlite',
  dsnArgs: () => ({ DataSource: join(directory, `store${++files}.db`) }),
  cleanup: () => rm(directory, { recursive: true, force: true }),
});
