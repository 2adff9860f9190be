import { randomBytes } from 'node:crypto';
import { clearMemoryStore } from './memory.js';
import { runConcurrencyContract } from '../testing/concurrencyContract.js';

const namespaces: string[] = [];

// The memory store lives in one process: its writers are concurrent async tasks.
runConcurrencyContract({
  name: 'memory',
  dsn: 'driver:memory',
  inProcess: true,
  dsnArgs() {
    const namespace = `concurrency-${randomBytes(6).toString('hex')}`;
    namespaces.push(namespace);
    return { Namespace: namespace };
  },
  async cleanup() {
    for (const namespace of namespaces) clearMemoryStore(namespace);
  },
});
