import { registerDriver } from '../registry.js';
import { createMemoryDriver } from '../drivers/memory.js';
import type { Driver, DsnArgs } from '../types.js';

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
}

/**
 * `driver:outage`: the memory driver whose store goes away. `Fail: 'load'` refuses every call;
 * `Fail: 'flush'` answers reads but refuses writes (the store died mid-request). The switch is
 * read on every call, so a test can flip `dsnArgs.State.fail` between requests.
 */
registerDriver('outage', (args: DsnArgs): Driver => {
  const state = args.State as { fail: 'none' | 'load' | 'flush' };
  const inner = createMemoryDriver({ Namespace: args.Namespace });
  const guard = <T>(kind: 'read' | 'write', call: () => Promise<T>): Promise<T> => {
    if (state.fail === 'load' || (state.fail === 'flush' && kind === 'write')) return Promise.reject(refused());
    return call();
  };
  return {
    retrieve: (id) => guard('read', () => inner.retrieve(id)),
    store: (id, data, meta) => guard('write', () => inner.store(id, data, meta)),
    remove: (id) => guard('write', () => inner.remove(id)),
    traverse: (visit) => guard('read', () => inner.traverse(visit)),
    update: (id, merge) => guard('write', () => inner.update!(id, merge)),
    touch: (id, meta) => guard('write', () => inner.touch!(id, meta)),
  };
});
