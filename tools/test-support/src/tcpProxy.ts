import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A TCP proxy on a random local port in front of a shared service, so an outage can be
 * staged without touching the service itself (which other tests use at the same time).
 */
export interface TcpProxy {
  port: number;
  /** The service is gone: open connections are cut and new ones refused (ECONNREFUSED). */
  down(): Promise<void>;
  /** The service stops answering: connections stay open (and new ones are accepted) but no byte passes. */
  blackhole(): void;
  /** Back to normal, on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let silent = false;
  let server: Server | undefined;
  let port = 0;

  function track(socket: Socket): void {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  function listen(): Promise<void> {
    server = createServer((client) => {
      track(client);
      if (silent) return; // accepted, never answered
      const upstream = createConnection({ host: targetHost, port: targetPort });
      track(upstream);
      client.on('data', (chunk) => {
        if (!silent) upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (!silent) client.write(chunk);
      });
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    return new Promise((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => {
        const address = server!.address();
        if (typeof address === 'object' && address) port = address.port;
        resolve();
      });
    });
  }

  function cut(): Promise<void> {
    for (const socket of sockets) socket.destroy();
    const closing = server;
    server = undefined;
    return new Promise((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
  }

  await listen();
  return {
    get port() {
      return port;
    },
    down: cut,
    blackhole() {
      silent = true;
    },
    async up() {
      silent = false;
      if (!server) await listen();
    },
    close: cut,
  };
}
