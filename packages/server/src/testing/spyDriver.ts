import { randomBytes } from 'node:crypto';
import { registerDriver } from '../registry.js';
import { createMemoryDriver } from '../drivers/memory.js';
import type { Driver, DsnArgs } from '../types.js';

export interface SpyCall {
  op: 'retrieve' | 'store' | 'remove' | 'update' | 'touch' | 'traverse';
  id: string;
}

/** What a spy store was asked for, in order. */
export interface SpyRecorder {
  calls: SpyCall[];
  ids(): string[];
}

// `driver:spy`: the memory driver, recording every id it is asked for, so a test can prove
// that a claim never reached the store. Each test passes its own recorder in dsnArgs.Spy.
registerDriver('spy', (args: DsnArgs): Driver => {
  const recorder = args.Spy as SpyRecorder;
  const inner = createMemoryDriver({ Namespace: args.Namespace });
  const record = (op: SpyCall['op'], id: string) => recorder.calls.push({ op, id });
  return {
    retrieve: (id) => (record('retrieve', id), inner.retrieve(id)),
    store: (id, data, meta) => (record('store', id), inner.store(id, data, meta)),
    remove: (id) => (record('remove', id), inner.remove(id)),
    traverse: (visit) => (record('traverse', ''), inner.traverse(visit)),
    update: (id, merge) => (record('update', id), inner.update!(id, merge)),
    touch: (id, meta) => (record('touch', id), inner.touch!(id, meta)),
  };
});

/** dsnArgs for `driver:spy` with a fresh namespace and recorder. */
export function spyStore(): { dsn: string; dsnArgs: DsnArgs; recorder: SpyRecorder } {
  const recorder: SpyRecorder = { calls: [], ids: () => recorder.calls.filter((c) => c.op !== 'traverse').map((c) => c.id) };
  return { dsn: 'driver:spy', dsnArgs: { Namespace: `spy-${randomBytes(8).toString('hex')}`, Spy: recorder }, recorder };
}
