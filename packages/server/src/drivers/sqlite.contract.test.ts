import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDriverContract } from '../testing/driverContract.js';

const directory = await mkdtemp(join(tmpdir(), 'isosession-sqlite-contract-'));
let files = 0;

runDriverContract({
  name: 'sqlite',
  dsn: 'driver:sqlite',
  // A file per call, not :memory:, so the stored bytes go through SQLite's file format.
  dsnArgs: () => ({ DataSource: join(directory, `store${++files}.db`) }),
  cleanup: () => rm(directory, { recursive: true, force: true }),
});
