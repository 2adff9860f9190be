import { Session } from '../index.js';
import type { DsnArgs } from '../types.js';

/** One worker's share of a concurrency test; JSON so that a child process can be handed it. */
export type ConcurrencyTask =
  | { kind: 'params'; dsn: string; dsnArgs: DsnArgs; id: string; worker: number; count: number }
  | { kind: 'counter'; dsn: string; dsnArgs: DsnArgs; id: string; worker: number; count: number };

/** The value worker `worker` writes as its `index`-th param: checked afterwards. */
export function paramValue(worker: number, index: number): string {
  return `value ${worker}/${index}`;
}

/**
 * Runs a task: `params` does count × (load → param(`p<worker>_<i>`) → flush) on one shared
 * session, as that many requests would; `counter` adds 1 to its `counter` param count times
 * through `Session.update`.
 */
export async function runConcurrencyTask(task: ConcurrencyTask): Promise<void> {
  const { dsn, dsnArgs, id, worker, count } = task;
  for (let i = 0; i < count; i++) {
    if (task.kind === 'params') {
      const session = await Session.load(dsn, id, dsnArgs);
      if (session.isEmpty()) throw new Error(`worker ${worker}: session ${id} vanished at flush ${i}`);
      session.param(`p${worker}_${i}`, paramValue(worker, i));
      await session.flush();
    } else {
      await Session.update(id, (session) => {
        session.param('counter', ((session.param('counter') as number | undefined) ?? 0) + 1);
      }, { dsn, dsnArgs });
    }
  }
}
