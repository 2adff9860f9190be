import { randomBytes } from 'node:crypto';
import { createMemoryDriver, registerDriver } from '@isosession/server';
import type { Driver, DsnArgs, Merge } from '@isosession/server';

export interface DriverCall {
  op: 'retrieve' | 'store' | 'remove' | 'traverse' | 'touch' | 'update:store' | 'update:remove' | 'update:keep';
  id?: string;
}

export interface RecordingDriver {
  /** The DSN that selects this driver, e.g. `driver:rec_ab12`. */
  dsn: string;
  dsnArgs: DsnArgs;
  calls: DriverCall[];
  /** Calls that changed the store (store, remove, touch, an update that stored or removed). */
  writes(): DriverCall[];
  /** Operations that throw `new Error('<op> failed')` while listed. */
  failOn: Set<string>;
}

const WRITES = new Set(['store', 'remove', 'touch', 'update:store', 'update:remove']);

/**
 * A memory store behind a freshly registered driver name that records every call, for tests
 * that must prove what a flush did or did not write (S48, S50, S51, S57). `minimal` leaves out
 * update/touch: the four-method driver of DESIGN's Driver interface.
 */
export function recordingDriver(options: { minimal?: boolean } = {}): RecordingDriver {
  const name = `rec_${randomBytes(6).toString('hex')}`;
  const inner = createMemoryDriver({ Namespace: name });
  const calls: DriverCall[] = [];
  const failOn = new Set<string>();
  const check = (op: string) => {
    if (failOn.has(op)) throw new Error(`${op} failed`);
  };
  const driver: Driver = {
    async retrieve(id) {
      calls.push({ op: 'retrieve', id });
      check('retrieve');
      return inner.retrieve(id);
    },
    async store(id, data, meta) {
      calls.push({ op: 'store', id });
      check('store');
      return inner.store(id, data, meta);
    },
    async remove(id) {
      calls.push({ op: 'remove', id });
      check('remove');
      return inner.remove(id);
    },
    async traverse(visit) {
      calls.push({ op: 'traverse' });
      check('traverse');
      return inner.traverse(visit);
    },
  };
  if (!options.minimal) {
    driver.update = async (id, merge: Merge) => {
      check('update');
      await inner.update!(id, (current) => {
        const result = merge(current);
        calls.push({ op: `update:${result.action}`, id });
        return result;
      });
    };
    driver.touch = async (id, meta) => {
      calls.push({ op: 'touch', id });
      check('touch');
      return inner.touch!(id, meta);
    };
  }
  registerDriver(name, () => driver);
  return {
    dsn: `driver:${name}`,
    dsnArgs: {},
    calls,
    writes: () => calls.filter((call) => WRITES.has(call.op)),
    failOn,
  };
}
