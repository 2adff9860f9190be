import { createServer } from 'node:http';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `listener` on 127.0.0.1, port 0. */
export function serveNode(listener: RequestListener): Promise<RunningServer> {
  // Larger than Node's 16 KB default, so that huge Cookie headers reach the session code.
  const server = createServer({ maxHeaderSize: 64 * 1024 }, listener);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
