import { describe, expect, it } from 'vitest';
import type { Driver, StoredRecord } from '../types.js';
import { withUpdate } from './withUpdate.js';

function bareDriver(): Driver & { rows: Map<string, StoredRecord>; label: string } {
  const rows = new Map<string, StoredRecord>();
  return {
    rows,
    label: 'bare',
    retrieve: async (id) => rows.get(id) ?? null,
    store: async (id, data) => void rows.set(id, data),
    remove: async (id) => void rows.delete(id),
    traverse: async (visit) => { for (const id of rows.keys()) await visit(id); },
  };
}

describe('withUpdate', () => {
  it('keeps a driver that has update as it is', () => {
    const driver = { ...bareDriver(), update: async () => {} };
    expect(withUpdate(driver)).toBe(driver);
  });

  it('gives a driver without update the retrieve → merge → store / remove / keep fallback, the rest of the driver still reachable', async () => {
    const driver = bareDriver();
    const filled = withUpdate(driver);
    await filled.update('a', (current) => (current === null ? { action: 'store', data: 'one', meta: { atime: 1 } } : { action: 'keep' }));
    expect(driver.rows.get('a')).toBe('one');
    await filled.update('a', (current) => ({ action: 'store', data: `${String(current)}+two`, meta: { atime: 2 } }));
    expect(driver.rows.get('a')).toBe('one+two');
    await filled.update('a', () => ({ action: 'keep' }));
    expect(driver.rows.get('a')).toBe('one+two');
    await filled.update('a', () => ({ action: 'remove' }));
    expect(driver.rows.has('a')).toBe(false);
    expect((filled as typeof filled & { label: string }).label).toBe('bare');
    expect(await filled.retrieve('a')).toBeNull();
  });
});
