import { describe } from 'vitest';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { dropTables, randomTableName } from '../testing/sqlTables.js';
import { runConcurrencyContract } from '../testing/concurrencyContract.js';
import { runDriverContract } from '../testing/driverContract.js';

// Perl CGI::Session's own two-column table (Schema 'cgi-session'): the same contracts hold.
const tables: string[] = [];
const perlTable = (label: string) => {
  const table = randomTableName(label);
  tables.push(table);
  // ColumnType 'binary' (BYTEA / LONGBLOB): the contract stores bytes too; Perl's TEXT default is
  // what the Perl interoperability tests use.
  return { DataSource: SERVICE_URLS.mysql, TableName: table, Schema: 'cgi-session', ColumnType: 'binary' };
};

describe.runIf(await serviceAvailable('mysql'))("mysql (Schema 'cgi-session')", () => {
  runDriverContract({
    name: "mysql (Schema 'cgi-session')",
    dsn: 'driver:mysql',
    dsnArgs: () => perlTable('perlcontract'),
    touch: false,
    cleanup: () => dropTables('mysql', tables),
  });
  runConcurrencyContract({
    name: "mysql (Schema 'cgi-session')",
    dsn: 'driver:mysql',
    dsnArgs: () => perlTable('perlconcurrency'),
  });
});
