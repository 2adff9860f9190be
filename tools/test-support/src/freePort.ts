import { createServer } from 'node:net';

/**
 * A TCP port nobody listens on right now (the OS picks it): for test servers, Redis and
 * Sentinel instances, examples and the demo under test. The one copy the suites share.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
