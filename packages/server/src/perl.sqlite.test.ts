import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Session, createSqliteDriver } from './index.js';
import { perlCgiSessionAvailable, runPerl } from './testing/perlCgiSession.js';
import { runPerlAppendRace, runPerlInterop } from './testing/perlInteropSuite.js';

// A SQLite table shared with the real Perl CGI::Session (DBD::SQLite): Perl's own two-column
// table, Schema 'cgi-session' here.

const directory = await mkdtemp(join(tmpdir(), 'isosession-perl-sqlite-'));
let files = 0;
afterAll(async () => {
  await Session.closeAll();
  await rm(directory, { recursive: true, force: true });
});

async function perlTable(): Promise<{ perlArgs: Record<string, unknown>; nodeArgs: Record<string, unknown> }> {
  const path = join(directory, `sessions${++files}.db`);
  // Perl's driver never creates its table: this makes CGI::Session's documented one.
  const driver = await createSqliteDriver({ DataSource: path, Schema: 'cgi-session' });
  await driver.close();
  return { perlArgs: { DataSource: `dbi:SQLite:dbname=${path}` }, nodeArgs: { DataSource: path, Schema: 'cgi-session' } };
}

describe.runIf(perlCgiSessionAvailable())('Perl CGI::Session and isosession on one SQLite table', () => {
  runPerlInterop({ label: 'sqlite', perlDriver: 'driver:sqlite', nodeDriver: 'driver:sqlite', setup: perlTable });
  runPerlAppendRace({ label: 'sqlite', perlDriver: 'driver:sqlite', nodeDriver: 'driver:sqlite', setup: perlTable });

  it('purgeExpired() reads expiry from the data (Perl keeps no expiry column) and keeps live sessions', async () => {
    const { perlArgs, nodeArgs } = await perlTable();
    const expiring = await runPerl({ op: 'new', dsn: 'driver:sqlite;serializer:default', args: perlArgs, set: { a: 1 }, expire: 30 });
    const lasting = await runPerl({ op: 'new', dsn: 'driver:sqlite;serializer:json', args: perlArgs, set: { a: 1 }, expire: '+1d' });
    const forever = await runPerl({ op: 'new', dsn: 'driver:sqlite;serializer:yaml', args: perlArgs, set: { a: 1 } });
    const driver = await createSqliteDriver(nodeArgs);
    try {
      expect(await driver.purgeExpired(Math.floor(Date.now() / 1000) + 3600)).toBe(1);
      expect(await driver.retrieve(expiring.id as string)).toBeNull();
      expect(await driver.retrieve(lasting.id as string)).not.toBeNull();
      expect(await driver.retrieve(forever.id as string)).not.toBeNull();
    } finally {
      await driver.close();
    }
  });
});
