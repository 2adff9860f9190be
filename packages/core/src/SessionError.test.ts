import { describe, expect, it } from 'vitest';
import { SessionError, isSessionError } from './index.js';
import type { SessionErrorCode } from './index.js';

const CODES: SessionErrorCode[] = [
  'INVALID_DSN', 'INVALID_DURATION', 'INVALID_ARGUMENT', 'INVALID_ID', 'STORE_UNAVAILABLE',
  'STORE_ERROR', 'CORRUPT', 'GONE', 'CONFLICT', 'ID_GENERATION', 'TOO_LARGE', 'STALE',
];

describe('SessionError', () => {
  it.each(CODES)('S2: code %s is kept, with message and cause', (code) => {
    const cause = new Error('driver said no');
    const error = new SessionError(code, 'what went wrong; how to fix it', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(SessionError);
    expect(error.name).toBe('SessionError');
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('isosession: what went wrong; how to fix it');
    expect(error.stack).toContain('SessionError');
  });

  it('S2: messages are prefixed with "isosession:" once', () => {
    expect(new SessionError('GONE', 'isosession: already prefixed').message).toBe('isosession: already prefixed');
    expect(new SessionError('GONE', 'plain').message).toBe('isosession: plain');
  });

  it('S2: without a cause there is none', () => {
    expect(new SessionError('CORRUPT', 'x').cause).toBeUndefined();
    expect('cause' in new SessionError('CORRUPT', 'x')).toBe(false);
  });

  it('S2: isSessionError tells SessionErrors from other errors', () => {
    expect(isSessionError(new SessionError('CONFLICT', 'x'))).toBe(true);
    expect(isSessionError(new Error('x'))).toBe(false);
    expect(isSessionError({ code: 'CONFLICT', message: 'x' })).toBe(false);
    expect(isSessionError(undefined)).toBe(false);
  });
});

describe('isSessionError across duplicate package copies', () => {
  it('recognises an error from another copy of the package by its registry brand', () => {
    // What a second copy of @isosession/core builds: a different class, the same registry symbol.
    const otherCopyBrand = Symbol.for('isosession.SessionError');
    class OtherCopySessionError extends Error {
      readonly code = 'GONE';
      readonly [otherCopyBrand] = true;
    }
    const foreign = new OtherCopySessionError('from the other copy');
    expect(foreign instanceof SessionError).toBe(false);
    expect(isSessionError(foreign)).toBe(true);
  });

  it('does not mistake a plain error or a look-alike without the brand for a SessionError', () => {
    expect(isSessionError(new Error('x'))).toBe(false);
    expect(isSessionError({ name: 'SessionError', code: 'GONE', message: 'x' })).toBe(false);
    expect(isSessionError(null)).toBe(false);
    expect(isSessionError('SessionError')).toBe(false);
  });
});
