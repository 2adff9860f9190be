import type { Connection, Pool, PoolConnection, PoolOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DsnArgs } from '../types.js';
import { createSqlEngine } from './sql/engine.js';
import type { Lease, SqlConnections, SqlDialect } from './sql/dialect.js';
import { insertColumns, perlInsertColumns, perlTableStatements, quotedNames, standardStatements, tableDefinition } from './sql/statements.js';
import type { SqlSyntax } from './sql/statements.js';
import { connectionSource, credentials, dbiConnection, invalidArgument, maskPassword, parseDbiDataSource, parseSqlOptions, urlWithCredentials } from './sqlOptions.js';
import type { SqlDriver } from './sqlOptions.js';
import { NETWORK_CODES, errorCode } from './storeErrors.js';

const NAME = 'mysql';

/** What both a pool's connections and a single Connection answer (mysql2/promise). */
type Queryable = Pick<Connection, 'query'>;

function ignore(): void {}

const syntax: SqlSyntax = { quote: (name) => `\`${name}\``, placeholder: () => '?' };

export const mysqlDialect: SqlDialect<Queryable> = {
  name: NAME,
  server: 'MySQL/MariaDB',
  errors: {
    // No usable connection. mysql2 marks every error that killed the connection `fatal`;
    // these codes cover the rest: refused, too many connections, the server shutting down
    // (1053) or killing our connection (MariaDB 1927, KILL CONNECTION).
    unavailableCodes: new Set([
      ...NETWORK_CODES,
      'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT',
      'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED',
    ]),
    unavailableIf: (error) => (error as { fatal?: unknown }).fatal === true,
    unavailableMessage: /closed state|pool is closed|connection lost/i,
    // A deadlock victim (InnoDB rolled its transaction back): run it again. Under REPEATABLE
    // READ (a user's Handle) two first writes of one new id deadlock on the gap lock instead
    // of meeting as a duplicate key.
    raceCodes: new Set(['ER_LOCK_DEADLOCK']),
    schemaCodes: new Set(['ER_BAD_FIELD_ERROR']),
  },
  createRaceCodes: new Set(['ER_TABLE_EXISTS_ERROR', 'ER_LOCK_DEADLOCK', 'ER_DUP_KEYNAME']),
  statements(options) {
    const { data } = quotedNames(options, syntax);
    if (options.schema === 'cgi-session') {
      return {
        ...perlTableStatements(options, syntax, 'CHAR(32)', options.binaryData ? 'LONGBLOB' : 'TEXT'),
        begin: 'START TRANSACTION',
        upsert: `INSERT INTO ${perlInsertColumns(options, syntax)} ON DUPLICATE KEY UPDATE ${data} = VALUES(${data})`,
        insert: `INSERT INTO ${perlInsertColumns(options, syntax)}`,
      };
    }
    return {
      ...standardStatements(options, syntax),
      // VARBINARY id: compared byte by byte (no case folding, no trailing-space padding as the
      // _ci and PAD SPACE collations do), so "abc" and "ABC " are two sessions.
      create: `CREATE TABLE IF NOT EXISTS ${tableDefinition(options, syntax, 'VARBINARY(255)', 'LONGBLOB')},
  KEY \`${options.indexName}\` (expires_at)
) ENGINE=InnoDB`,
      begin: 'START TRANSACTION',
      // VALUES(col) in ON DUPLICATE KEY UPDATE is what MariaDB and MySQL both accept.
      upsert: `INSERT INTO ${insertColumns(options, syntax)}
ON DUPLICATE KEY UPDATE ${data} = VALUES(${data}), atime = VALUES(atime), expires_at = VALUES(expires_at), version = version + 1`,
      insert: `INSERT INTO ${insertColumns(options, syntax)}`,
    };
  },
  async query(conn, text, values) {
    const [result] = values === undefined ? await conn.query<RowDataPacket[] | ResultSetHeader>(text) : await conn.query<RowDataPacket[] | ResultSetHeader>(text, values);
    return Array.isArray(result) ? { rows: result, count: result.length } : { rows: [], count: result.affectedRows };
  },
  async insertIfAbsent(conn, text, values) {
    try {
      await conn.query(text, values);
      return true;
    } catch (error) {
      // Another transaction created the id meanwhile (we waited for its commit, if any).
      if (errorCode(error) === 'ER_DUP_ENTRY') return false;
      throw error;
    }
  },
};

function isPool(value: unknown): value is Pool {
  const candidate = value as Partial<Pool> | null;
  return typeof candidate?.getConnection === 'function' && typeof candidate.query === 'function';
}

function isConnection(value: unknown): value is Connection {
  const candidate = value as Partial<Connection> | null;
  return typeof candidate?.query === 'function' && typeof candidate.beginTransaction === 'function';
}

/** A callback-style mysql2 Pool or Connection becomes its promise wrapper (only they have promise()). */
function promiseHandle(handle: unknown): unknown {
  const candidate = handle as { promise?: () => unknown } | null;
  return typeof candidate?.promise === 'function' ? candidate.promise() : handle;
}

function connectionConfig(dataSource: string, user: unknown, password: unknown): PoolOptions {
  const given = credentials(NAME, user, password);
  const dbi = parseDbiDataSource(dataSource, /^(mysql|mariadb)$/i);
  if (dbi) {
    const socketPath = dbi.mysql_socket ?? dbi.mariadb_socket;
    return { ...dbiConnection(dbi, given, { database: ['database', 'dbname', 'db'], host: ['host', 'hostname'] }), socketPath };
  }
  if (!/^(mysql|mariadb):\/\//i.test(dataSource)) {
    throw invalidArgument(NAME, `DataSource must be a "mysql://user@host:3306/db" URL or a DBI "dbi:mysql:database=db;host=…" string; got ${JSON.stringify(maskPassword(dataSource))}`);
  }
  return { uri: urlWithCredentials(NAME, dataSource, given) };
}

async function poolLease(pool: Pool): Promise<Lease<Queryable>> {
  const conn: PoolConnection = await pool.getConnection();
  const core = (conn as unknown as { connection: { stream?: { destroy(): void } } }).connection;
  let released = false;
  return {
    conn,
    done(broken) {
      if (released) return;
      released = true;
      if (broken) conn.destroy();
      else conn.release();
    },
    destroy() {
      // mysql2's destroy() only half-closes the socket, which a peer that stopped answering
      // never completes: end it now, so the query in flight fails (no COMMIT is sent).
      conn.destroy();
      core.stream?.destroy();
    },
  };
}

async function openConnections(args: DsnArgs, timeoutMs: number): Promise<SqlConnections<Queryable>> {
  const source = connectionSource(NAME, args, 'your mysql2 Pool or Connection', 'mysql://user@127.0.0.1:3306/app');
  if ('handle' in source) {
    const where = 'the given Handle';
    const handle = promiseHandle(source.handle);
    if (isPool(handle)) return { where, lease: () => poolLease(handle) };
    if (isConnection(handle)) return { where, single: handle };
    throw invalidArgument(NAME, 'Handle must be a mysql2 Pool or Connection (from "mysql2" or "mysql2/promise")');
  }
  const config = connectionConfig(source.dataSource, args.User, args.Password);
  // Left to Node at run time, never resolved by a bundler: the client is an optional peer that
  // only apps using this store install (Next.js's Turbopack fails the build on a missing one).
  const mysql = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ 'mysql2/promise');
  const pool = mysql.createPool({
    ...config,
    connectionLimit: 10,
    maxIdle: 10,
    idleTimeout: 10_000,
    // A store that is down fails the call within Timeout instead of queueing.
    connectTimeout: timeoutMs,
    enableKeepAlive: true,
    supportBigNumbers: true,
  });
  // READ COMMITTED on our own connections: a SELECT … FOR UPDATE of a missing id then
  // takes no gap lock, so two first writes of one id meet as a duplicate key (retried at
  // once) instead of a deadlock. A user's Handle keeps its own isolation level.
  pool.pool.on('connection', (connection: { query(sql: string, callback: () => void): unknown }) => {
    connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', ignore);
  });
  return { where: maskPassword(source.dataSource), lease: () => poolLease(pool), end: () => pool.end() };
}

/**
 * `mysql` (alias `mariadb`): one row per session in an InnoDB table `TableName` (default
 * `sessions`), created on first use; MySQL 5.7+ and MariaDB 10.3+. Args as `postgresql`:
 * `Handle` (your mysql2 Pool or Connection, promise or callback style, never closed here) or
 * `DataSource` (a `mysql://` URL or a DBI `dbi:mysql:database=…` string), `User`, `Password`,
 * `TableName`, `IdColName` (`id`), `DataColName` (`a_session`), `Timeout` (seconds, default 5).
 * `update` first tries one compare-and-swap on the row's version, and otherwise runs a
 * transaction around `SELECT … FOR UPDATE` (the shared engine, sql/engine.ts).
 */
export async function createMysqlDriver(args: DsnArgs = {}): Promise<SqlDriver> {
  const options = parseSqlOptions(NAME, args);
  return createSqlEngine(mysqlDialect, options, await openConnections(args, options.timeoutMs));
}
