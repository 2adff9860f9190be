import { registerDriver } from '@isosession/server';
import type { Driver, DsnArgs } from '@isosession/server';
import { getDriverFactory } from './registry.js';
import type { WriteCounts } from './catalog.js';

/**
 * Registers `driver:counted`: the driver named by dsnArgs.Inner, counting what it writes.
 * An update whose merge asks to store counts as a data write (a compare-and-swap retry
 * counts again: these are attempts); a touch counts as a touch. Reads are not counted.
 */
export function registerCountingDriver(counts: WriteCounts): void {
  registerDriver('counted', async (args: DsnArgs): Promise<Driver> => {
    const { Inner, ...rest } = args;
    const inner = await getDriverFactory(String(Inner))(rest);
    const driver: Driver = {
      retrieve: (id) => inner.retrieve(id),
      store: (id, data, meta) => {
        counts.dataWrites++;
        return inner.store(id, data, meta);
      },
      remove: (id) => {
        counts.dataWrites++;
        return inner.remove(id);
      },
      traverse: (visit) => inner.traverse(visit),
    };
    if (inner.update) {
      const update = inner.update.bind(inner);
      driver.update = (id, merge) => update(id, (current) => {
        const result = merge(current);
        if (result.action !== 'keep') counts.dataWrites++;
        return result;
      });
    }
    if (inner.touch) {
      const touch = inner.touch.bind(inner);
      driver.touch = (id, meta) => {
        counts.touches++;
        return touch(id, meta);
      };
    }
    if (inner.close) driver.close = inner.close.bind(inner);
    return driver;
  });
}
