import { afterAll, describe, expect, it } from 'vitest';
import { Session, createMysqlDriver, createPostgresqlDriver } from './index.js';
import { perlCgiSessionAvailable, runPerl } from './testing/perlCgiSession.js';
import { runPerlAppendRace, runPerlInterop } from './testing/perlInteropSuite.js';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { dropTables, randomTableName } from './testing/sqlTables.js';

// PostgreSQL and MySQL tables shared with the real Perl CGI::Session (DBD::Pg, DBD::mysql):
// Perl's own two-column table, Schema 'cgi-session' here. MySQL with Perl's TEXT data column;
// PostgreSQL with BYTEA (ColumnType 'binary' on both sides): DBD::Pg decodes a TEXT column's
// UTF-8 (pg_enable_utf8) and encodes the byte strings a CGI app holds once more, so on TEXT
// every non-ASCII character Perl stores is double-encoded (docs/migrating-from-perl.md).

const perl = perlCgiSessionAvailable();
const tables: Record<'postgresql' | 'mysql', string[]> = { postgresql: [], mysql: [] };
afterAll(async () => {
  await Session.closeAll();
  await dropTables('postgresql', tables.postgresql);
  await dropTables('mysql', tables.mysql);
});

/** The service's URL as Perl DBI wants it: a data source, a user and a password. */
function dbi(service: 'postgresql' | 'mysql'): Record<string, unknown> {
  const url = new URL(SERVICE_URLS[service]);
  const database = url.pathname.slice(1);
  const dataSource = service === 'postgresql'
    ? `dbi:Pg:dbname=${database};host=${url.hostname};port=${url.port || 5432}`
    : `dbi:mysql:database=${database};host=${url.hostname};port=${url.port || 3306}`;
  return { DataSource: dataSource, User: decodeURIComponent(url.username), Password: decodeURIComponent(url.password) };
}

for (const service of ['postgresql', 'mysql'] as const) {
  const create = service === 'postgresql' ? createPostgresqlDriver : createMysqlDriver;
  async function perlTable() {
    const table = randomTableName('perl');
    tables[service].push(table);
    const binary = service === 'postgresql' ? { ColumnType: 'binary' } : {};
    const nodeArgs = { DataSource: SERVICE_URLS[service], TableName: table, Schema: 'cgi-session', ...binary };
    // Perl's driver never creates its table: this makes CGI::Session's documented one.
    const driver = await create(nodeArgs);
    await driver.traverse(() => undefined);
    await driver.close();
    return { perlArgs: { ...dbi(service), TableName: table, ...binary }, nodeArgs };
  }

  describe.runIf(perl && (await serviceAvailable(service)))(`Perl CGI::Session and isosession on one ${service} table`, () => {
    runPerlInterop({ label: service, perlDriver: `driver:${service}`, nodeDriver: `driver:${service}`, setup: perlTable });
    runPerlAppendRace({ label: service, perlDriver: `driver:${service}`, nodeDriver: `driver:${service}`, setup: perlTable });

    it('purgeExpired() reads expiry from the data and keeps live sessions', async () => {
      const { perlArgs, nodeArgs } = await perlTable();
      const expiring = await runPerl({ op: 'new', dsn: `driver:${service};serializer:default`, args: perlArgs, set: { a: 1 }, expire: 30 });
      const lasting = await runPerl({ op: 'new', dsn: `driver:${service};serializer:json`, args: perlArgs, set: { a: 1 }, expire: '+1d' });
      const driver = await create(nodeArgs);
      try {
        expect(await driver.purgeExpired(Math.floor(Date.now() / 1000) + 3600)).toBe(1);
        expect(await driver.retrieve(expiring.id as string)).toBeNull();
        expect(await driver.retrieve(lasting.id as string)).not.toBeNull();
      } finally {
        await driver.close();
      }
    });
  });
}

describe.runIf(perl && (await serviceAvailable('postgresql')))("PostgreSQL with Perl's default TEXT data column", () => {
  it('ASCII text round-trips both ways; non-ASCII text Perl stores arrives double-encoded by DBD::Pg (why the docs say BYTEA)', async () => {
    const table = randomTableName('perltext');
    tables.postgresql.push(table);
    const nodeArgs = { DataSource: SERVICE_URLS.postgresql, TableName: table, Schema: 'cgi-session' };
    const perlArgs = { ...dbi('postgresql'), TableName: table };
    const driver = await createPostgresqlDriver(nodeArgs);
    await driver.traverse(() => undefined); // creates Perl's table, with a TEXT data column
    await driver.close();
    const made = await runPerl({ op: 'new', dsn: 'driver:postgresql;serializer:default', args: perlArgs, bytes: true, set: { plain: 'hello', accented: 'café' } });
    const s = await Session.load('driver:postgresql;serializer:dumper', made.id as string, nodeArgs, { compat: 'cgi-session' });
    expect(s.param('plain')).toBe('hello');
    expect(s.param('accented')).toBe('cafÃ©');
    s.param('node', 'ascii only');
    await s.flush();
    const read = await runPerl({ op: 'load', dsn: 'driver:postgresql;serializer:default', args: perlArgs, sid: made.id as string });
    expect(read.params).toMatchObject({ plain: 'hello', node: 'ascii only' });
  });
});
