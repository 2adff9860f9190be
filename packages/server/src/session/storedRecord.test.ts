import { describe, expect, it } from 'vitest';
import { jsonSerializer } from '../serializers/json.js';
import { ATIME, CTIME, ETIME, ID } from '../sessionTable.js';
import { dataOf, freezeTable, maxAgeSeconds, sameData, storeMeta, thawRecord } from './storedRecord.js';

const format = { serializer: jsonSerializer, serializerName: 'json' };
const table = () => ({ [ID]: 'abc', [CTIME]: 100, [ATIME]: 150, cart: ['tea'] });

describe('the stored record of a session', () => {
  it('round-trips a table through freeze and thaw, with its last access', () => {
    const raw = freezeTable(format, table(), 'abc');
    const { table: back, storedAtime } = thawRecord(format, raw, 'abc', 'abc');
    expect(back).toEqual(table());
    expect(storedAtime).toBe(150);
    // A record's own atime (a touch that left the data alone) is the later access.
    expect(thawRecord(format, { data: raw, atime: 175 }, 'abc', 'abc').storedAtime).toBe(175);
  });

  it('stores the hashed id, never the real one, and gives the real id back in memory', () => {
    const raw = freezeTable(format, table(), 'hash-of-abc');
    expect(String(raw)).not.toContain('"abc"');
    expect(thawRecord(format, raw, 'abc', 'hash-of-abc').table[ID]).toBe('abc');
  });

  it('refuses a copy that names another session (a planted or corrupt blob), as CORRUPT', () => {
    const planted = freezeTable(format, { ...table(), [ID]: 'victim' }, 'victim');
    expect(() => thawRecord(format, planted, 'abc', 'abc')).toThrow(expect.objectContaining({ code: 'CORRUPT', message: expect.stringContaining('names another session') }));
  });

  it('says which serializer could not read or write, and why', () => {
    expect(() => thawRecord(format, '{not json', 'abc', 'abc')).toThrow(expect.objectContaining({ code: 'CORRUPT', message: expect.stringContaining('serializer "json"') }));
    const circular: Record<string, unknown> = table();
    circular.self = circular;
    expect(() => freezeTable(format, circular, 'abc')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('cannot store session "abc"') }));
  });

  it('compares stored copies by bytes, whatever shape the driver gave', () => {
    const bytes = new TextEncoder().encode('{"a":1}');
    expect(sameData('{"a":1}', bytes)).toBe(true);
    expect(sameData('{"a":1}', '{"a":2}')).toBe(false);
    expect(dataOf({ data: bytes, atime: 1 })).toBe(bytes);
    expect(dataOf('x')).toBe('x');
  });

  it('tells the driver when a copy may go: the sooner of the idle expiry and maxAge from creation', () => {
    expect(storeMeta(table(), undefined)).toEqual({ atime: 150 });
    expect(storeMeta({ ...table(), [ETIME]: 60 }, undefined)).toEqual({ atime: 150, etime: 60, expiresAt: 210 });
    expect(storeMeta({ ...table(), [ETIME]: 60 }, 30)).toEqual({ atime: 150, etime: 60, expiresAt: 130 });
    expect(storeMeta(table(), 1000)).toEqual({ atime: 150, expiresAt: 1100 });
  });

  it('reads maxAge as a duration; none, zero or less is no limit', () => {
    expect(maxAgeSeconds({})).toBeUndefined();
    expect(maxAgeSeconds({ maxAge: '2h' })).toBe(7200);
    expect(maxAgeSeconds({ maxAge: 0 })).toBeUndefined();
  });
});
