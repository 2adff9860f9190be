import { SessionError } from '@isosession/core';
import { describe, expect, it } from 'vitest';
import { mysqlDialect } from './mysql.js';
import { postgresqlDialect } from './postgresql.js';
import { classifyError, schemaMismatch, storeUnavailable } from './storeErrors.js';

function coded(code: string, message = 'failed', extra: object = {}): Error {
  return Object.assign(new Error(message), { code }, extra);
}

describe('classifyError: how each SQL dialect reads its client library errors', () => {
  it('PostgreSQL: network codes, SQLSTATE class 08 and administrator termination are unavailable', () => {
    for (const code of ['ECONNREFUSED', '08006', '08001', '57P01', '53300']) {
      expect(classifyError(postgresqlDialect.errors, coded(code)), code).toBe('unavailable');
    }
    expect(classifyError(postgresqlDialect.errors, new Error('Connection terminated unexpectedly'))).toBe('unavailable');
  });

  it('PostgreSQL: serialization failures and deadlocks are races; a missing column is a schema mismatch', () => {
    expect(classifyError(postgresqlDialect.errors, coded('40001'))).toBe('race');
    expect(classifyError(postgresqlDialect.errors, coded('40P01'))).toBe('race');
    expect(classifyError(postgresqlDialect.errors, coded('42703'))).toBe('schema');
    expect(classifyError(postgresqlDialect.errors, coded('23502'))).toBe('other');
  });

  it('MySQL: a fatal error and a killed connection are unavailable; a deadlock is a race', () => {
    expect(classifyError(mysqlDialect.errors, coded('ER_SOMETHING', 'x', { fatal: true }))).toBe('unavailable');
    expect(classifyError(mysqlDialect.errors, coded('ER_CONNECTION_KILLED'))).toBe('unavailable');
    expect(classifyError(mysqlDialect.errors, coded('ER_LOCK_DEADLOCK'))).toBe('race');
    expect(classifyError(mysqlDialect.errors, coded('ER_BAD_FIELD_ERROR'))).toBe('schema');
    expect(classifyError(mysqlDialect.errors, coded('ER_DUP_ENTRY'))).toBe('other');
  });

  it('an AggregateError of unreachable addresses (Node tries each address of a host) is unavailable', () => {
    const all = new AggregateError([coded('ECONNREFUSED'), coded('EHOSTUNREACH')], 'connect failed');
    expect(classifyError(postgresqlDialect.errors, all)).toBe('unavailable');
    expect(classifyError(mysqlDialect.errors, all)).toBe('unavailable');
  });

  it('a SessionError (the driver\'s own) and a thrown non-Error are never reclassified', () => {
    const own = new SessionError('STORE_UNAVAILABLE', 'x');
    expect(classifyError(postgresqlDialect.errors, own)).toBe('other');
    expect(classifyError(mysqlDialect.errors, 'ECONNRESET')).toBe('other');
  });
});

describe('the messages every networked driver gives', () => {
  it('STORE_UNAVAILABLE names the driver, what failed, where, the cause and what to check', () => {
    const error = storeUnavailable({ driver: 'redis', where: 'redis://***@host', server: 'Redis', timeoutMs: 2500 }, 'store failed', new Error('ECONNREFUSED'));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toBe('redis driver: store failed at redis://***@host: ECONNREFUSED; check that Redis is running and reachable, or raise Timeout (now 2.5 s)');
  });

  it('a schema mismatch is a STORE_ERROR that points at the documented schema', () => {
    const error = schemaMismatch('mysql', 'update', 'sessions', new Error("Unknown column 'version'"));
    expect(error.code).toBe('STORE_ERROR');
    expect(error.message).toMatch(/table sessions does not have the columns .*"SQL schema" in docs\/drivers\.md/);
  });
});
