import { randomBytes } from 'node:crypto';
import { clearMemoryStore } from './memory.js';
import { runDriverContract } from '../testing/driverContract.js';

const namespaces: string[] = [];

runDriverContract({
  name: 'memory',
  dsn: 'driver:memory',
  dsnArgs() {
    const namespace = `contract-${randomBytes(6).toString('hex')}`;
    namespaces.push(namespace);
    return { Namespace: namespace };
  },
  async cleanup() {
    for (const namespace of namespaces) clearMemoryStore(namespace);
  },
});
