import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Session, createFileDriver } from '@isosession/server';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-filereview-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file driver: what is not a session file', () => {
  it('S76: a FIFO planted as cgisess_<id> reads as missing at once (open does not wait for a writer)', async () => {
    const id = 'a'.repeat(32);
    execFileSync('mkfifo', [join(dir, `cgisess_${id}`)]);
    const driver = createFileDriver({ Directory: dir });
    // Without O_NONBLOCK, open() of a FIFO blocks a libuv thread until someone writes to it.
    const result = await Promise.race([
      driver.retrieve(id),
      new Promise((resolve) => setTimeout(() => resolve('blocked'), 2_000).unref()),
    ]);
    expect(result).toBeNull();
    const s = await Session.new(null, id, { Directory: dir });
    expect(s.id()).not.toBe(id);
  });

  it('S75: an over-long id is refused with a message that says so', async () => {
    const driver = createFileDriver({ Directory: dir });
    const error = await driver.store('a'.repeat(201), '{}', { atime: 1 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/201 characters long; at most 200/);
  });
});
