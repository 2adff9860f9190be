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
  return { DataSource: SERVICE_URLS.postgresql, TableName: table, Schema: 'cgi-session', ColumnType: 'binary' };
};

describe.runIf(await serviceAvailable('postgresql'))("postgresql (Schema 'cgi-session')", () => {
  runDriverContract({
    name: "postgresql (Schema 'cgi-session')",
    dsn: 'driver:postgresql',
    dsnArgs: () => perlTable('perlcontract'),
    touch: false,
    cleanup: () => dropTables('postgresql', tables),
  });
  runConcurrencyContract({
    name: "postgresql (Schema 'cgi-session')",
    dsn: 'driver:postgresql',
    dsnArgs: () => perlTable('perlconcurrency'),
  });
});
