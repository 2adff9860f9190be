import type { SqlOptions } from '../sqlOptions.js';
import type { SqlStatements } from './dialect.js';

/** Rows per traverse page. */
export const PAGE_SIZE = 500;

/** How a dialect writes an identifier and the n-th (1-based) placeholder. */
export interface SqlSyntax {
  quote(name: string): string;
  placeholder(n: number): string;
}

/** The quoted table and column names. */
export function quotedNames(options: SqlOptions, syntax: SqlSyntax): { table: string; id: string; data: string } {
  return { table: syntax.quote(options.table), id: syntax.quote(options.idCol), data: syntax.quote(options.dataCol) };
}

/**
 * The statements every dialect writes alike (standard SQL); a dialect adds CREATE, BEGIN,
 * the upsert and the insert, which each database words its own way.
 */
export function standardStatements(options: SqlOptions, syntax: SqlSyntax): Omit<SqlStatements, 'create' | 'begin' | 'upsert' | 'insert'> {
  const { table, id, data } = quotedNames(options, syntax);
  const p = syntax.placeholder;
  const select = `SELECT ${data} AS data, atime, version FROM ${table} WHERE ${id} = ${p(1)}`;
  const update = `UPDATE ${table} SET ${data} = ${p(1)}, atime = ${p(2)}, expires_at = ${p(3)}, version = version + 1 WHERE ${id} = ${p(4)}`;
  const remove = `DELETE FROM ${table} WHERE ${id} = ${p(1)}`;
  return {
    select,
    selectForUpdate: `${select} FOR UPDATE`,
    update,
    swap: `${update} AND version = ${p(5)}`,
    // Every write moves version, a touch too (which also makes MySQL count the matched row).
    touch: `UPDATE ${table} SET atime = ${p(1)}, expires_at = ${p(2)}, version = version + 1 WHERE ${id} = ${p(3)}`,
    delete: remove,
    deleteIf: `${remove} AND version = ${p(2)}`,
    page: `SELECT ${id} AS id FROM ${table} WHERE ${id} > ${p(1)} ORDER BY ${id} LIMIT ${PAGE_SIZE}`,
    purge: `DELETE FROM ${table} WHERE expires_at <= ${p(1)}`,
  };
}

/**
 * Perl CGI::Session's own table, `(id CHAR(32) PRIMARY KEY, a_session TEXT NOT NULL)` (the data
 * column's type given: TEXT, or BYTEA with Perl's ColumnType 'binary'), and the statements on it
 * that every dialect words alike. The upsert and insert come from the dialect.
 */
export function perlTableStatements(options: SqlOptions, syntax: SqlSyntax, idType: string, dataType: string): Omit<SqlStatements, 'begin' | 'upsert' | 'insert'> {
  const { table, id, data } = quotedNames(options, syntax);
  const p = syntax.placeholder;
  const select = `SELECT ${data} AS data FROM ${table} WHERE ${id} = ${p(1)}`;
  const remove = `DELETE FROM ${table} WHERE ${id} = ${p(1)}`;
  const unused = '-- not used with Perl\'s table';
  return {
    create: `CREATE TABLE IF NOT EXISTS ${table} (
  ${id} ${idType} NOT NULL PRIMARY KEY,
  ${data} ${dataType} NOT NULL
)`,
    select,
    selectForUpdate: `${select} FOR UPDATE`,
    update: `UPDATE ${table} SET ${data} = ${p(1)} WHERE ${id} = ${p(2)}`,
    swap: unused,
    touch: unused,
    delete: remove,
    deleteIf: `${remove} AND ${data} = ${p(2)}`,
    page: `SELECT ${id} AS id FROM ${table} WHERE ${id} > ${p(1)} ORDER BY ${id} LIMIT ${PAGE_SIZE}`,
    purge: unused,
    dataPage: `SELECT ${id} AS id, ${data} AS data FROM ${table} WHERE ${id} > ${p(1)} ORDER BY ${id} LIMIT ${PAGE_SIZE}`,
  };
}

/** The column list of Perl's table's upsert and insert: id, data. */
export function perlInsertColumns(options: SqlOptions, syntax: SqlSyntax): string {
  const { table, id, data } = quotedNames(options, syntax);
  return `${table} (${id}, ${data}) VALUES (${syntax.placeholder(1)}, ${syntax.placeholder(2)})`;
}

/**
 * The table's columns and primary key, for a dialect's CREATE TABLE: the id and data columns
 * in the dialect's own types, the rest alike everywhere.
 */
export function tableDefinition(options: SqlOptions, syntax: SqlSyntax, idType: string, dataType: string): string {
  const { table, id, data } = quotedNames(options, syntax);
  return `${table} (
  ${id} ${idType} NOT NULL,
  ${data} ${dataType} NOT NULL,
  atime BIGINT NOT NULL,
  expires_at BIGINT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  PRIMARY KEY (${id})`;
}

/** The column list of the upsert and the insert, in their values' order. */
export function insertColumns(options: SqlOptions, syntax: SqlSyntax): string {
  const { table, id, data } = quotedNames(options, syntax);
  const p = syntax.placeholder;
  return `${table} (${id}, ${data}, atime, expires_at, version) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`;
}
