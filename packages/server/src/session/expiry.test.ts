import { describe, expect, it } from 'vitest';
import { expiredParams, isPastExpiry, sessionExpiresAt } from './expiry.js';
import { EXPIRE_LIST, ID } from '../sessionTable.js';

describe('session expiry', () => {
  it('S40: idle expiry counts from the last access; expired at that second, live one second before', () => {
    const times = { atime: 1000, ctime: 500, etime: 60, maxAge: undefined };
    expect(sessionExpiresAt(times)).toBe(1060);
    expect(isPastExpiry(times, 1059)).toBe(false);
    expect(isPastExpiry(times, 1060)).toBe(true);
  });

  it('S37, S42: no expiry or 0 never expires; a negative one is already past', () => {
    expect(sessionExpiresAt({ atime: 1000, ctime: 500, etime: undefined, maxAge: undefined })).toBeUndefined();
    expect(sessionExpiresAt({ atime: 1000, ctime: 500, etime: 0, maxAge: undefined })).toBeUndefined();
    expect(isPastExpiry({ atime: 1000, ctime: 500, etime: -10, maxAge: undefined }, 1000)).toBe(true);
  });

  it('maxAge caps it from creation, whichever comes first', () => {
    expect(sessionExpiresAt({ atime: 1000, ctime: 500, etime: 3600, maxAge: 600 })).toBe(1100);
    expect(sessionExpiresAt({ atime: 1000, ctime: 500, etime: 60, maxAge: 6000 })).toBe(1060);
    expect(sessionExpiresAt({ atime: 1000, ctime: 500, etime: undefined, maxAge: 600 })).toBe(1100);
    expect(sessionExpiresAt({ atime: 1000, ctime: 500, etime: undefined, maxAge: 0 })).toBeUndefined();
  });

  it('S43: a param expires idle from the stored atime; a reserved name in the list never does', () => {
    const table = { [ID]: 'x', cart: 1, note: 2, [EXPIRE_LIST]: { cart: 10, note: 100, [ID]: 1, gone: 1 } };
    expect(expiredParams(table, 1000, 1009)).toEqual([]);
    expect(expiredParams(table, 1000, 1010)).toEqual(['cart']);
    expect(expiredParams(table, 1000, 2000)).toEqual(['cart', 'note']);
  });
});
