import { describe, expect, it } from 'vitest';
import { parseConstructorArgs, parseFindArgs, parseParamArgs } from './arguments.js';

describe("CGI::Session's call shapes", () => {
  it('S8, S9: one argument is the claim (an id or a query); null anywhere means the default', () => {
    expect(parseConstructorArgs('new', [])).toEqual({ dsn: null, sidOrQuery: null, dsnArgs: {}, sessionParams: {} });
    expect(parseConstructorArgs('new', ['abc'])).toEqual({ dsn: null, sidOrQuery: 'abc', dsnArgs: {}, sessionParams: {} });
    expect(parseConstructorArgs('load', [null, null, { Directory: '/d' }])).toEqual({ dsn: null, sidOrQuery: null, dsnArgs: { Directory: '/d' }, sessionParams: {} });
    expect(parseConstructorArgs('load', ['driver:file', 'abc', null, { name: 'x' }])).toEqual({ dsn: 'driver:file', sidOrQuery: 'abc', dsnArgs: {}, sessionParams: { name: 'x' } });
  });

  it('S15: a bad 3rd or 4th argument names itself and the method called', () => {
    expect(() => parseConstructorArgs('load', [null, null, 'x' as never])).toThrow(/^isosession: load\(\): the 3rd argument \(dsnArgs\) must be an object or null, got string$/);
    expect(() => parseConstructorArgs('new', [null, null, null, [] as never])).toThrow(/^isosession: new\(\): the 4th argument \(sessionParams\) must be an object or null, got an array$/);
    expect(() => parseConstructorArgs('new', [42 as never, null])).toThrow(/the 1st argument \(dsn\) must be a string/);
  });

  it('S55, S60: find(code) and find(dsn, code, dsnArgs); a code that is not a function is refused', () => {
    const code = () => {};
    expect(parseFindArgs([code])).toEqual({ dsn: null, code, dsnArgs: {}, sessionParams: {} });
    expect(parseFindArgs(['driver:file', code, { Directory: '/d' }])).toEqual({ dsn: 'driver:file', code, dsnArgs: { Directory: '/d' }, sessionParams: {} });
    expect(() => parseFindArgs(['driver:file', 'nope'])).toThrow(/find\(\): the code to run for each session must be a function/);
    expect(() => parseFindArgs(['driver:file', code, []])).toThrow(/dsnArgs and sessionParams must be objects or null/);
  });

  it("param()'s shapes: names, a read (the named read too), a write (named too), many writes", () => {
    expect(parseParamArgs([])).toEqual({ kind: 'names' });
    expect(parseParamArgs(['cart'])).toEqual({ kind: 'get', name: 'cart' });
    expect(parseParamArgs(['cart', undefined])).toEqual({ kind: 'set', name: 'cart', value: undefined });
    expect(parseParamArgs([{ '-name': '_SESSION_ID' }])).toEqual({ kind: 'get', name: '_SESSION_ID' });
    expect(parseParamArgs([{ '-name': 'cart', '-value': 2 }])).toEqual({ kind: 'set', name: 'cart', value: 2 });
    expect(parseParamArgs([{ a: 1, b: 2 }])).toEqual({ kind: 'setMany', values: { a: 1, b: 2 } });
    expect(() => parseParamArgs([['a']])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('param(): expected') }));
  });
});
