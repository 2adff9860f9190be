import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDriverContract } from '../testing/driverContract.js';

// Perl CGI::Session's own two-column table (Schema 'cgi-session'): the same contract holds.
const directory = await mkdtemp(join(tmpdir(), 'isosession-sqlite-perl-contract-'));
let files = 0;

runDriverContract({
  name: "sqlite (Schema 'cgi-session')",
  dsn: 'driver:sqlite',
  dsnArgs: () => ({ DataSource: join(directory, `store${++files}.db`), Schema: 'cgi-session' }),
  touch: false,
  cleanup: () => rm(directory, { recursive: true, force: true }),
});
