import type { Driver, Merge } from '../types.js';

/** A driver as Session and the CLI use it: `update` is always there. */
export type UpdatableDriver = Driver & { update(id: string, merge: Merge): Promise<void> };

/**
 * Fills a missing `update` with the documented fallback — retrieve, merge, then store or
 * remove — once, when the driver is resolved, so that no caller branches on whether a driver
 * has one. The fallback is correct for one writer at a time only (a driver with only
 * retrieve, store, remove and traverse works, S80; concurrency needs a real `update`).
 * The driver's own methods and fields stay reachable (the result inherits from it).
 */
export function withUpdate(driver: Driver): UpdatableDriver {
  if (typeof driver.update === 'function') return driver as UpdatableDriver;
  const filled = Object.create(driver) as UpdatableDriver;
  filled.update = async (id, merge) => {
    const result = merge(await driver.retrieve(id));
    if (result.action === 'store') await driver.store(id, result.data, result.meta);
    else if (result.action === 'remove') await driver.remove(id);
  };
  return filled;
}
