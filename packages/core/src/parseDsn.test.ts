import { describe, expect, it } from 'vitest';
import { DEFAULT_DSN, SessionError, parseDsn } from './index.js';

function thrown(input: unknown): SessionError {
  let caught: unknown;
  try {
    parseDsn(input as string);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SessionError);
  expect((caught as SessionError).code).toBe('INVALID_DSN');
  return caught as SessionError;
}

describe('parseDsn', () => {
  it('S61: the default DSN parses to its three parts', () => {
    expect(DEFAULT_DSN).toBe('driver:file;serializer:default;id:md5');
    expect(parseDsn(DEFAULT_DSN)).toEqual({ driver: 'file', serializer: 'default', id: 'md5' });
  });

  it.each([
    ['d', 'driver'], ['dr', 'driver'], ['DR', 'driver'], ['Driv', 'driver'], ['DRIVER', 'driver'],
    ['s', 'serializer'], ['ser', 'serializer'], ['SERIAL', 'serializer'], ['Serializer', 'serializer'],
    ['i', 'id'], ['I', 'id'], ['id', 'id'], ['ID', 'id'],
  ])("S61: key '%s' is %s", (key, full) => {
    expect(parseDsn(`${key}:value`)).toEqual({ [full]: 'value' });
  });

  it('S61: values are lower-cased', () => {
    expect(parseDsn('DR:FILE').driver).toBe('file');
    expect(parseDsn('dr:File;ser:Default;id:MD5')).toEqual({ driver: 'file', serializer: 'default', id: 'md5' });
  });

  it('S61: only the keys given are returned, in any order', () => {
    expect(parseDsn('id:incr;driver:memory')).toEqual({ id: 'incr', driver: 'memory' });
    expect(parseDsn('serializer:yaml')).toEqual({ serializer: 'yaml' });
    expect(parseDsn('')).toEqual({});
  });

  it('S61: blanks around parts, keys and values, and an empty part (trailing ";") are ignored', () => {
    expect(parseDsn(' driver : file ; id : static ;')).toEqual({ driver: 'file', id: 'static' });
    expect(parseDsn('driver:file;;id:md5')).toEqual({ driver: 'file', id: 'md5' });
  });

  it.each(['colour:blue', 'drivers:file', 'x:file', 'identity:md5', 'serialiser:json'])("S61: unknown key in '%s' throws, listing the known keys", (dsn) => {
    const error = thrown(dsn);
    for (const key of ['driver', 'serializer', 'id']) expect(error.message).toContain(key);
  });

  it.each(['driver', 'driver:', ':file', ':', 'driver=file', 'driver file'])("S61: malformed part '%s' throws", (dsn) => {
    expect(thrown(dsn).message).toContain(dsn.trim());
  });

  it.each(['driver:file;driver:memory', 'd:file;DR:file', 'id:md5;i:incr'])("S61: a key given twice in '%s' throws", (dsn) => {
    expect(thrown(dsn).message).toMatch(/twice/);
  });

  it('S61: a non-string DSN throws', () => {
    for (const dsn of [null, undefined, 42, {}]) thrown(dsn);
  });

  it('S61: keys are unique prefixes: no key is ambiguous, so the empty key is the only one refused for that', () => {
    // driver / serializer / id share no first letter, so every non-empty prefix picks one key.
    expect(thrown(':x').code).toBe('INVALID_DSN');
  });
});
