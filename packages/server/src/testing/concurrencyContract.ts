import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Session, SessionError } from '../index.js';
import type { DsnArgs } from '../index.js';
import { paramValue, runConcurrencyTask } from './concurrencyTasks.js';
import type { ConcurrencyTask } from './concurrencyTasks.js';

export interface ConcurrencyContractOptions {
  /** Shown in the describe titles. */
  name: string;
  /** The DSN naming the driver, e.g. "driver:file". */
  dsn: string;
  /** A fresh isolated store per call; JSON-serializable, as child processes open the same store. */
  dsnArgs: () => DsnArgs | Promise<DsnArgs>;
  /** Runs once after the suite (drop tables, remove temp dirs). */
  cleanup?: () => Promise<void>;
  /** Concurrent writers. @default 8 */
  processes?: number;
  /** Flushes (and counter increments) per writer. @default 200 */
  flushesPerProcess?: number;
  /**
   * Writers are concurrent async tasks in this process instead of OS processes: for stores
   * that live in one process (memory). @default false
   */
  inProcess?: boolean;
}

const WORKER = fileURLToPath(new URL('./concurrencyWorker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function runInChild(task: ConcurrencyTask): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@isosession/source', '--import', 'tsx', WORKER, JSON.stringify(task)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`concurrency worker ${task.worker} (${task.kind}) exited with ${signal ?? code}:\n${stderr}`));
    });
  });
}

/**
 * The no-lost-update guarantees for one driver: many writers flushing one session,
 * a counter through `Session.update`, no resurrection of a deleted or regenerated session (GONE),
 * and S54's per-param merge. The writers are OS processes unless `inProcess`.
 */
export function runConcurrencyContract(options: ConcurrencyContractOptions): void {
  const { name, dsn } = options;
  const workers = options.processes ?? 8;
  const count = options.flushesPerProcess ?? 200;
  const run = options.inProcess ? runConcurrencyTask : runInChild;
  const how = options.inProcess ? 'async tasks' : 'processes';

  afterEach(async () => {
    await Session.closeAll();
  });
  if (options.cleanup) afterAll(options.cleanup);

  async function stored(args: DsnArgs, values: Record<string, unknown> = {}): Promise<string> {
    const s = await Session.new(dsn, null, args);
    s.param(values);
    await s.flush();
    return s.id()!;
  }

  describe(`${name} concurrency contract`, () => {
    it(`S54: ${workers} ${how} × ${count} load → param → flush on one session lose no param`, async () => {
      const args = await options.dsnArgs();
      const id = await stored(args, { owner: 'test' });
      await Promise.all(Array.from({ length: workers }, (_, worker) => run({ kind: 'params', dsn, dsnArgs: args, id, worker, count })));
      const s = await Session.load(dsn, id, args);
      const missing: string[] = [];
      for (let worker = 0; worker < workers; worker++) {
        for (let i = 0; i < count; i++) {
          if (s.param(`p${worker}_${i}`) !== paramValue(worker, i)) missing.push(`p${worker}_${i}`);
        }
      }
      expect({ lost: missing.length, firstLost: missing.slice(0, 10) }).toEqual({ lost: 0, firstLost: [] });
      expect(s.param('owner')).toBe('test');
      expect(s.param()).toHaveLength(workers * count + 1);
    }, 120_000);

    it(`Session.update from ${workers} ${how} × ${count} increments ends at exactly ${workers * count}`, async () => {
      const args = await options.dsnArgs();
      const id = await stored(args, { counter: 0 });
      await Promise.all(Array.from({ length: workers }, (_, worker) => run({ kind: 'counter', dsn, dsnArgs: args, id, worker, count })));
      expect((await Session.load(dsn, id, args)).param('counter')).toBe(workers * count);
    }, 120_000);

    it('a session deleted by another request is not resurrected by a later flush (GONE)', async () => {
      const args = await options.dsnArgs();
      const id = await stored(args, { user: 'ann' });
      const a = await Session.load(dsn, id, args);
      const b = await Session.load(dsn, id, args);
      b.delete();
      await b.flush();
      a.param('cart', [1]);
      const error = await a.flush().then(() => undefined, (reason: unknown) => reason);
      expect(error).toBeInstanceOf(SessionError);
      expect((error as SessionError).code).toBe('GONE');
      await expect(a.driver().retrieve(id)).resolves.toBeNull();
      expect((await Session.load(dsn, id, args)).isEmpty()).toBe(true);
    });

    it('a request that only read a session deleted meanwhile does not bring it back', async () => {
      const args = await options.dsnArgs();
      const id = await stored(args, { user: 'ann' });
      const reader = await Session.load(dsn, id, args);
      const logout = await Session.load(dsn, id, args);
      logout.delete();
      await logout.flush();
      // The reader's flush only moves atime; whether it reports GONE or not, nothing is stored.
      await reader.flush().catch((error: unknown) => {
        expect((error as SessionError).code).toBe('GONE');
      });
      await expect(reader.driver().retrieve(id)).resolves.toBeNull();
    });

    it('a session regenerated by another request: the stale flush is GONE, the new id keeps its data', async () => {
      const args = await options.dsnArgs();
      const id = await stored(args, { user: 'ann' });
      const a = await Session.load(dsn, id, args);
      const b = await Session.load(dsn, id, args);
      b.regenerate();
      b.param('role', 'admin');
      await b.flush();
      const newId = b.id()!;
      a.param('cart', [1]);
      const error = await a.flush().then(() => undefined, (reason: unknown) => reason);
      expect((error as SessionError | undefined)?.code).toBe('GONE');
      await expect(a.driver().retrieve(id)).resolves.toBeNull();
      const moved = await Session.load(dsn, newId, args);
      expect(moved.param('user')).toBe('ann');
      expect(moved.param('role')).toBe('admin');
      expect(moved.param('cart')).toBeUndefined();
    });

    for (const order of ['a then b', 'b then a'] as const) {
      it(`S54: two sessions of one id changing different params both survive (${order})`, async () => {
        const args = await options.dsnArgs();
        const id = await stored(args, { shared: 'original' });
        const a = await Session.load(dsn, id, args);
        const b = await Session.load(dsn, id, args);
        a.param('fromA', 1);
        b.param('fromB', 2);
        b.clear('shared');
        const [first, second] = order === 'a then b' ? [a, b] : [b, a];
        await first.flush();
        await second.flush();
        const after = await Session.load(dsn, id, args);
        expect(Object.fromEntries(after.param().map((key) => [key, after.param(key)]))).toEqual({ fromA: 1, fromB: 2 });
      });

      it(`S54: two sessions of one id setting the same param: the later flush wins (${order})`, async () => {
        const args = await options.dsnArgs();
        const id = await stored(args, { color: 'red' });
        const a = await Session.load(dsn, id, args);
        const b = await Session.load(dsn, id, args);
        a.param('color', 'from a');
        b.param('color', 'from b');
        const [first, second, winner] = order === 'a then b' ? [a, b, 'from b'] : [b, a, 'from a'];
        await first.flush();
        await second.flush();
        expect((await Session.load(dsn, id, args)).param('color')).toBe(winner);
      });
    }
  });
}
