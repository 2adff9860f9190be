import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDriverContract } from '../testing/driverContract.js';

const directories: string[] = [];

runDriverContract({
  name: 'file',
  dsn: 'driver:file',
  async dsnArgs() {
    const directory = await mkdtemp(join(tmpdir(), 'isosession-file-contract-'));
    directories.push(directory);
    return { Directory: directory };
  },
  async cleanup() {
    await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
  },
});
