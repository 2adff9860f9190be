import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const WORKER = fileURLToPath(new URL('../testing/incrWorker.ts', import.meta.url));
const PROCESSES = 8;
const PER_PROCESS = 25;
const IDInit = 5000;
const IDIncr = 3;

let dir: string;
let children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isosession-incrmp-'));
});
afterEach(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children = [];
  await rm(dir, { recursive: true, force: true });
});

function start(IDFile: string): { child: ChildProcess; ready: Promise<void>; result: Promise<string[]> } {
  const child = fork(WORKER, [JSON.stringify({ IDFile, IDInit, IDIncr, count: PER_PROCESS })], {
    execArgv: ['--conditions=@isosession/source', '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk) => { stderr += String(chunk); });
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => { onReady = resolve; });
  const result = new Promise<string[]>((resolve, reject) => {
    child.on('message', (message: unknown) => {
      if (message === 'ready') onReady();
      else if (message && typeof message === 'object' && 'ids' in message) resolve((message as { ids: string[] }).ids);
      else reject(new Error(`worker failed: ${(message as { error?: string }).error}`));
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${code} before answering: ${stderr}`)));
  });
  return { child, ready, result };
}

describe('id:incr across processes', () => {
  it(`S82: ${PROCESSES} processes making incr ids at once get distinct ids, none skipped`, async () => {
    const IDFile = join(dir, 'ids', 'last-id');
    const workers = Array.from({ length: PROCESSES }, () => start(IDFile));
    await Promise.all(workers.map((worker) => worker.ready));
    for (const worker of workers) worker.child.send('go');
    const all = (await Promise.all(workers.map((worker) => worker.result))).flat();

    const total = PROCESSES * PER_PROCESS;
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    const expected = Array.from({ length: total }, (_, i) => String(IDInit + IDIncr * (i + 1)));
    expect([...all].sort((a, b) => Number(a) - Number(b))).toEqual(expected);
    expect((await readFile(IDFile, 'utf8')).trim()).toBe(expected.at(-1));
    // Each process saw its own ids in increasing order.
    for (const worker of workers) {
      const ids = (await worker.result).map(Number);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  }, 120_000);
});
