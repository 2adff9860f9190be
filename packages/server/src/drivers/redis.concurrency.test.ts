import { describe } from 'vitest';
import { Redis } from 'ioredis';
import { SERVICE_URLS, serviceAvailable } from '@isosession/test-support/services';
import { deleteKeys, randomPrefix } from '@isosession/test-support/redisServer';
import { runConcurrencyContract } from '../testing/concurrencyContract.js';

const prefixes: string[] = [];

describe.runIf(await serviceAvailable('redis'))('redis', () => {
  runConcurrencyContract({
    name: 'redis',
    dsn: 'driver:redis',
    dsnArgs() {
      const prefix = randomPrefix('concurrency');
      prefixes.push(prefix);
      return { Url: SERVICE_URLS.redis, Prefix: prefix };
    },
    async cleanup() {
      const client = new Redis(SERVICE_URLS.redis);
      try {
        for (const prefix of prefixes) await deleteKeys(client, prefix);
      } finally {
        client.disconnect();
      }
    },
  });
});
