import { createHash } from 'node:crypto';
import type { ClientBase, Pool, PoolClient, PoolConfig } from 'pg';
import type { DsnArgs } from '../types.js';
import { createSqlEngine } from './sql/engine.js';
import type { Lease, SqlConnections, SqlDialect } from './sql/dialect.js';
import { insertColumns, perlInsertColumns, perlTableStatements, quotedNames, standardStatements, tableDefinition } from './sql/statements.js';
import type { SqlSyntax } from './sql/statements.js';
import { connectionSource, credentials, dbiConnection, invalidArgument, maskPassword, parseDbiDataSource, parseSqlOptions, urlWithCredentials } from './sqlOptions.js';
import type { SqlDriver } from './sqlOptions.js';
import { NETWORK_CODES } from './storeErrors.js';

const NAME = 'postgresql';

function ignore(): void {}

const syntax: SqlSyntax = { quote: (name) => `"${name}"`, placeholder: (n) => `$${n}` };

/**
 * A named statement: pg parses and plans it once per connection and then only binds values
 * (bench/drivers.ts, 32 concurrent load + flush: about 1.5× the raw floor, against about 2.2×
 * with unnamed statements). The name is a hash of the text, so tables never share one.
 */
const statementNames = new Map<string, string>();
function nameOf(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `isosession_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

export const postgresqlDialect: SqlDialect<ClientBase> = {
  name: NAME,
  server: 'PostgreSQL',
  errors: {
    // No usable connection: the network, terminated by an administrator (57P01,
    // pg_terminate_backend), the server shutting down or starting (57P02, 57P03), too many
    // connections (53300), and SQLSTATE class 08 (connection exception).
    unavailableCodes: new Set([...NETWORK_CODES, '57P01', '57P02', '57P03', '53300']),
    unavailableIf: (error) => typeof error.code === 'string' && error.code.startsWith('08'),
    unavailableMessage: /connection terminated|not queryable|timeout exceeded when trying to connect|connection timeout|pool after calling end/i,
    // 40001 serialization_failure (a SERIALIZABLE default), 40P01 deadlock_detected.
    raceCodes: new Set(['40001', '40P01']),
    // undefined_column, datatype_mismatch: a table made by something else.
    schemaCodes: new Set(['42703', '42804']),
  },
  // Concurrent CREATE TABLE / CREATE INDEX IF NOT EXISTS from several processes can still
  // collide in the catalogs (unique_violation on pg_type, duplicate_table, duplicate_object).
  createRaceCodes: new Set(['23505', '42P07', '42710']),
  statements(options) {
    const { table, id, data } = quotedNames(options, syntax);
    if (options.schema === 'cgi-session') {
      return {
        ...perlTableStatements(options, syntax, 'CHAR(32) COLLATE "C"', options.binaryData ? 'BYTEA' : 'TEXT'),
        begin: 'BEGIN',
        upsert: `INSERT INTO ${perlInsertColumns(options, syntax)} ON CONFLICT (${id}) DO UPDATE SET ${data} = EXCLUDED.${data}`,
        insert: `INSERT INTO ${perlInsertColumns(options, syntax)} ON CONFLICT (${id}) DO NOTHING`,
      };
    }
    return {
      ...standardStatements(options, syntax),
      // COLLATE "C": ids compare byte by byte, so traverse's keyset pages (id > last ORDER BY
      // id) walk the primary key index whatever the database's default collation is.
      create: `CREATE TABLE IF NOT EXISTS ${tableDefinition(options, syntax, 'TEXT COLLATE "C"', 'BYTEA')}
);
CREATE INDEX IF NOT EXISTS "${options.indexName}" ON ${table} (expires_at)`,
      begin: 'BEGIN',
      upsert: `INSERT INTO ${insertColumns(options, syntax)}
ON CONFLICT (${id}) DO UPDATE SET ${data} = EXCLUDED.${data}, atime = EXCLUDED.atime, expires_at = EXCLUDED.expires_at, version = ${table}.version + 1
RETURNING version`,
      insert: `INSERT INTO ${insertColumns(options, syntax)} ON CONFLICT (${id}) DO NOTHING`,
    };
  },
  async query(client, text, values) {
    const result = values === undefined ? await client.query(text) : await client.query({ name: nameOf(text), text, values });
    return { rows: result.rows, count: result.rowCount ?? 0 };
  },
  async insertIfAbsent(client, text, values) {
    return (await this.query(client, text, values)).count === 1;
  },
};

function isPool(value: unknown): value is Pool {
  const candidate = value as Partial<Pool> | null;
  return typeof candidate?.connect === 'function' && typeof candidate.query === 'function' && 'idleCount' in candidate;
}

function isClient(value: unknown): value is ClientBase {
  const candidate = value as Partial<ClientBase> | null;
  return typeof candidate?.query === 'function' && typeof candidate.connect === 'function' && !('idleCount' in candidate);
}

/** `DataSource` + `User` / `Password` as a pg pool configuration. */
function connectionConfig(dataSource: string, user: unknown, password: unknown): PoolConfig {
  const given = credentials(NAME, user, password);
  const dbi = parseDbiDataSource(dataSource, /^pg$/i);
  if (dbi) return dbiConnection(dbi, given, { database: ['dbname', 'database', 'db'], host: ['host', 'hostaddr'] });
  if (/^postgres(ql)?:\/\//i.test(dataSource)) return { connectionString: urlWithCredentials(NAME, dataSource, given) };
  return { connectionString: dataSource, ...given };
}

/** A pooled client, watched for the 'error' a dying socket emits while it is checked out. */
function poolLease(pool: Pool): Promise<Lease<ClientBase>> {
  // A checked-out client has no pool listener, so a dying socket would emit an unhandled
  // 'error' and end the process. The listener goes on in the callback, synchronously: the
  // pool calls it while pg parses the server's reply, and when a just-opened connection is
  // terminated its FATAL can come in the same packet as ReadyForQuery, parsed before an
  // awaited promise resumes (reliability/faults.postgresql.test.ts crashed the app so).
  return new Promise((resolve, reject) => {
    pool.connect((error, client?: PoolClient) => {
      if (error || !client) return reject(error ?? new Error('the pool gave no connection'));
      client.on('error', ignore);
      let released = false;
      resolve({
        conn: client,
        done(broken) {
          if (released) return;
          released = true;
          client.off('error', ignore);
          client.release(broken || undefined);
        },
        destroy() {
          // What pg-pool itself does to a connection that times out: end the socket now,
          // which fails the query in flight (and a transaction never reaches COMMIT).
          (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        },
      });
    });
  });
}

async function openConnections(args: DsnArgs, timeoutMs: number): Promise<SqlConnections<ClientBase>> {
  const source = connectionSource(NAME, args, 'your pg Pool or Client', 'postgres://user@127.0.0.1:5432/app');
  if ('handle' in source) {
    const where = 'the given Handle';
    if (isPool(source.handle)) return { where, lease: () => poolLease(source.handle as Pool) };
    if (isClient(source.handle)) return { where, single: source.handle };
    throw invalidArgument(NAME, 'Handle must be a pg Pool or a connected pg Client (from the "pg" package)');
  }
  const config = connectionConfig(source.dataSource, args.User, args.Password);
  // Left to Node at run time, never resolved by a bundler: the client is an optional peer that
  // only apps using this store install (Next.js's Turbopack fails the build on a missing one).
  const { default: pg } = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ 'pg');
  const pool = new pg.Pool({
    application_name: 'isosession',
    ...config,
    // A store that is down fails the call within Timeout instead of queueing.
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: 10_000,
    // A CLI or test that forgets close() still exits once the pool is idle.
    allowExitOnIdle: true,
    keepAlive: true,
  });
  // An idle connection that dies (server restart, pg_terminate_backend) is dropped by the
  // pool, which then emits 'error': without a listener that would crash the process.
  pool.on('error', ignore);
  // pg emits 'error' on a connected client the server ends while no query runs on it
  // (pg_terminate_backend, a restart). There are moments with neither the pool's listener nor
  // the lease's on a client, and an unheard 'error' kills the process (found by the reliability
  // battery: pg_terminate_backend under load). A dead client still fails its next query.
  pool.on('connect', (client) => client.on('error', ignore));
  return { where: maskPassword(source.dataSource), lease: () => poolLease(pool), end: () => pool.end() };
}

/**
 * `postgresql` (alias `pg`): one row per session in `TableName` (default `sessions`), created
 * on first use. Args: `Handle` (your pg Pool or connected Client, never closed here) or
 * `DataSource` (a `postgres://` URL or a DBI `dbi:Pg:dbname=…` string; a pool opened here and
 * closed by `close()`), `User`, `Password`, `TableName`, `IdColName` (`id`), `DataColName`
 * (`a_session`), `Timeout` (seconds, default 5: every call settles within it, rejecting with
 * `STORE_UNAVAILABLE` while the database is unreachable). `update` first tries a
 * compare-and-swap on the row's version (on the copy this process just read), and otherwise
 * runs a transaction around `SELECT … FOR UPDATE`, so concurrent flushes of one session
 * queue instead of losing writes (sql/engine.ts).
 */
export async function createPostgresqlDriver(args: DsnArgs = {}): Promise<SqlDriver> {
  const options = parseSqlOptions(NAME, args);
  return createSqlEngine(postgresqlDialect, options, await openConnections(args, options.timeoutMs));
}
