import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileDriver } from './file.js';
import type { StoredRecord } from '../types.js';

// The driver answers a read of a file it wrote itself from its copy, after one lstat. These
// are the ways the file can change behind its back; each must be read afresh.

const T0 = 1_700_000_000;
let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'isosession-file-copy-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const dataOf = (stored: StoredRecord | null) => (stored === null ? null : typeof stored === 'object' && !(stored instanceof Uint8Array) ? String(stored.data) : String(stored));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('file driver: reading back what this process wrote', () => {
  it('another process replacing the file (same size, same atime) is read, not the old copy', async () => {
    const ours = createFileDriver({ Directory: directory });
    const theirs = createFileDriver({ Directory: directory }); // its own copies, as another process
    await ours.store('s1', '{"n":1}', { atime: T0 });
    await theirs.store('s1', '{"n":2}', { atime: T0 });
    expect(dataOf(await ours.retrieve('s1'))).toBe('{"n":2}');
  });

  it('an edit in place that keeps size and mtime is read (ctime moved)', async () => {
    const driver = createFileDriver({ Directory: directory });
    await driver.store('s1', '{"n":1}', { atime: T0 });
    await pause(20); // ctime ticks coarsely (a few ms)
    const path = join(directory, 'cgisess_s1');
    await writeFile(path, '{"n":9}');
    await utimes(path, T0, T0);
    expect(dataOf(await driver.retrieve('s1'))).toBe('{"n":9}');
  });

  it('a removed file reads as missing; a touch keeps the data and reports the new atime', async () => {
    const driver = createFileDriver({ Directory: directory });
    await driver.store('s1', '{"n":1}', { atime: T0 });
    expect(await driver.touch!('s1', { atime: T0 + 50 })).toBe(true);
    expect(await driver.retrieve('s1')).toEqual({ data: Buffer.from('{"n":1}'), atime: T0 + 50 });
    await rm(join(directory, 'cgisess_s1'));
    expect(await driver.retrieve('s1')).toBeNull();
  });

  it('a Buffer the caller changes after storing, or after reading, does not change what is read', async () => {
    const driver = createFileDriver({ Directory: directory });
    const data = Buffer.from('{"n":1}');
    await driver.store('s1', data, { atime: T0 });
    data.write('X');
    const first = await driver.retrieve('s1');
    expect(dataOf(first)).toBe('{"n":1}');
    (first as { data: Buffer }).data.write('Y');
    expect(dataOf(await driver.retrieve('s1'))).toBe('{"n":1}');
  });
});
