import { describe, expect, it } from 'vitest';
import { takeWarnings } from '@isosession/test-support/capturedWarnings';
import { createMemorySessionBus, publishSessionChange } from './SessionBus.js';
import type { SessionBus, SessionChange } from './SessionBus.js';

describe('publishSessionChange', () => {
  it('delivers to the bus', () => {
    const bus = createMemorySessionBus();
    const heard: SessionChange[] = [];
    bus.subscribe('a'.repeat(32), (change) => heard.push(change));
    publishSessionChange(bus, { id: 'a'.repeat(32), version: 3 });
    expect(heard).toEqual([{ id: 'a'.repeat(32), version: 3 }]);
  });

  it('never fails the caller: a bus that throws or rejects becomes one ISOSESSION_BUS warning each', async () => {
    const throwing: SessionBus = { publish: () => { throw new Error('bus down'); }, subscribe: () => () => {} };
    const rejecting: SessionBus = { publish: () => Promise.reject(new Error('no route to host')), subscribe: () => () => {} };
    expect(() => publishSessionChange(throwing, { id: 'b', version: 1 })).not.toThrow();
    expect(() => publishSessionChange(rejecting, { id: 'b', version: 1 })).not.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await takeWarnings('ISOSESSION_BUS')).map((warning) => warning.message)).toEqual([
      'isosession: publishing a session change failed: bus down',
      'isosession: publishing a session change failed: no route to host',
    ]);
  });

  it('does nothing without a bus', () => {
    expect(() => publishSessionChange(undefined, { id: 'c', version: 1 })).not.toThrow();
  });
});
