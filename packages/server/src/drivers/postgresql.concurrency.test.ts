import { describe } from 'vitest';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { dropTables, randomTableName } from '../testing/sqlTables.js';
import { runConcurrencyContract } from '../testing/concurrencyContract.js';

const tables: string[] = [];

describe.runIf(await serviceAvailable('postgresql'))('postgresql', () => {
  runConcurrencyContract({
    name: 'postgresql',
    dsn: 'driver:postgresql',
    dsnArgs() {
      const table = randomTableName('concurrency');
      tables.push(table);
      return { DataSource: SERVICE_URLS.postgresql, TableName: table };
    },
    cleanup: () => dropTables('postgresql', tables),
  });
});
