import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Session } from '../index.js';
import { CRASH_PARAM_COUNT, CRASH_SESSION_PARAMS, crashParams } from '../testing/crashParams.js';

const WORKER = fileURLToPath(new URL('../testing/crashWorker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const KILLS = 6;

const directories: string[] = [];
afterAll(async () => {
  await Session.closeAll();
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

interface Progress {
  flushing: number;
  flushed: number;
}

function startWriter(dsnArgs: Record<string, unknown>, id: string): { child: ChildProcess; progress: Progress; exited: Promise<string> } {
  const child = spawn(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', WORKER, JSON.stringify({ dsnArgs, id })], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const progress: Progress = { flushing: 0, flushed: 0 };
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const [, what, generation] of chunk.matchAll(/(flushing|flushed) (\d+)/g)) progress[what as keyof Progress] = Number(generation);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`${signal ?? code}${stderr ? `: ${stderr}` : ''}`)));
  return { child, progress, exited };
}

async function until(condition: () => boolean, what: string, exited: Promise<string>): Promise<void> {
  let status: string | undefined;
  void exited.then((value) => {
    status = value;
  });
  while (!condition()) {
    if (status !== undefined) throw new Error(`the writer exited (${status}) before ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('file driver: a writer killed mid-flush', () => {
  it(`SIGKILLed ${KILLS} times while flushing ~5 MB, the file always loads as the old or the new session, and the next flush goes through`, async () => {
    const directory = await mkdtemp(join(tmpdir(), 'isosession-crash-'));
    directories.push(directory);
    // The sessions here are ~5 MB, over the default MaxFileSize (1 MiB).
    const dsnArgs = { Directory: directory, MaxFileSize: 16 * 1024 * 1024 };
    const first = await Session.new('driver:file', null, dsnArgs, CRASH_SESSION_PARAMS);
    first.param('generation', 0);
    await first.flush();
    const id = first.id()!;
    const lockPath = join(directory, `isosession-lock_${id}.lock`);
    const landed: string[] = [];

    for (let kill = 0; kill < KILLS; kill++) {
      const { child, progress, exited } = startWriter(dsnArgs, id);
      // Let one flush finish, then kill during a later one: once the writer holds the lock
      // (reading, writing, fsync or rename), after a delay that differs from kill to kill.
      await until(() => progress.flushed >= 1, 'its first flush', exited);
      const target = progress.flushed + 1;
      await until(() => progress.flushing >= target && existsSync(lockPath), 'taking the lock', exited);
      if (kill > 0) await new Promise((resolve) => setTimeout(resolve, (kill * 7) % 40));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      landed.push(existsSync(lockPath) ? 'holding the lock' : 'after the flush');

      const after = await Session.load('driver:file', id, dsnArgs, CRASH_SESSION_PARAMS);
      const generation = after.param('generation') as number;
      expect([progress.flushed, progress.flushing]).toContain(generation);
      const expected = crashParams(generation);
      const torn = Object.keys(expected).filter((name) => after.param(name) !== expected[name]);
      expect(torn).toEqual([]);
      expect(after.param()).toHaveLength(CRASH_PARAM_COUNT + (kill === 0 ? 1 : 2));

      // A stale lock of the dead writer is taken over, so this flush does not time out.
      after.param('survivedKill', kill);
      await after.flush();
      expect((await Session.load('driver:file', id, dsnArgs, CRASH_SESSION_PARAMS)).param('survivedKill')).toBe(kill);
    }

    // Leftover temp files are never taken for sessions: find sees the one session.
    const seen: string[] = [];
    const report = await Session.find('driver:file', (s) => {
      seen.push(s.id()!);
    }, dsnArgs);
    expect(report.failed).toEqual([]);
    expect(seen).toEqual([id]);
    expect(landed).toHaveLength(KILLS);
    // Only the session file and temp files of killed writes remain; no lock is left behind.
    const names = await readdir(directory);
    expect(names.filter((name) => name !== `cgisess_${id}` && !name.endsWith('.tmp'))).toEqual([]);
  }, 120_000);
});
