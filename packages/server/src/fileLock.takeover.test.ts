import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SessionError } from '@isosession/core';
import { withFileLock } from './fileLock.js';

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

async function lockPathIn(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'isosession-lock-'));
  directories.push(directory);
  return join(directory, 'cgisess_x.lock');
}

/** The pid of a process that has exited: what a lock left by a SIGKILLed writer holds. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** Runs `waiters` critical sections on one lock at once; returns the most that were inside together. */
async function mostInsideAtOnce(lockPath: string, waiters: number): Promise<number> {
  let inside = 0;
  let most = 0;
  await Promise.all(Array.from({ length: waiters }, () => withFileLock(lockPath, async () => {
    inside += 1;
    most = Math.max(most, inside);
    await new Promise((resolve) => setTimeout(resolve, 2));
    inside -= 1;
  }, { timeoutMs: 20_000 })));
  return most;
}

describe('withFileLock takeover of a lock left by a dead process', () => {
  it('a lock of a dead pid on this host is taken over at once', async () => {
    const lockPath = await lockPathIn();
    await writeFile(lockPath, `${deadPid()}@${hostname()}`);
    await expect(withFileLock(lockPath, async () => 'ran', { timeoutMs: 1000 })).resolves.toBe('ran');
    expect(await readdir(join(lockPath, '..'))).toEqual([]);
  });

  it('many waiters taking over one dead lock enter the critical section one at a time', async () => {
    for (let round = 0; round < 12; round++) {
      const lockPath = await lockPathIn();
      await writeFile(lockPath, `${deadPid()}@${hostname()}`);
      expect(await mostInsideAtOnce(lockPath, 20)).toBe(1);
    }
  });

  it('an empty lock file (its writer died between creating and filling it) is taken over, not waited on for staleMs', async () => {
    const lockPath = await lockPathIn();
    await writeFile(lockPath, '');
    const tenSecondsAgo = (Date.now() - 10_000) / 1000;
    await utimes(lockPath, tenSecondsAgo, tenSecondsAgo);
    await expect(withFileLock(lockPath, async () => 'ran', { timeoutMs: 1000, staleMs: 30_000 })).resolves.toBe('ran');
  });

  it('a live holder is waited for: timing out gives STORE_UNAVAILABLE and leaves its lock alone', async () => {
    const lockPath = await lockPathIn();
    await withFileLock(lockPath, async () => {
      const error = await withFileLock(lockPath, async () => 'never', { timeoutMs: 50 }).catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('STORE_UNAVAILABLE');
      expect(await readdir(join(lockPath, '..'))).toContain('cgisess_x.lock');
    });
    expect(await readdir(join(lockPath, '..'))).toEqual([]);
  });
});
