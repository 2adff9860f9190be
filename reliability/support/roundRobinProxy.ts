import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that hands each new connection to the next backend port in turn:
 * no stickiness, nothing HTTP-aware (a load balancer in its simplest form). A backend that
 * refuses the connection (killed, restarting) is skipped for that connection, as a load
 * balancer's health check would; nothing has been sent to it, so trying the next is safe.
 */
export interface RoundRobinProxy {
  base: string;
  /** Connections handed to each backend so far, by its index. */
  handed: number[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backendPorts: number[]): Promise<RoundRobinProxy> {
  const handed = backendPorts.map(() => 0);
  const open = new Set<Socket>();
  let next = 0;
  const server = createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => {});
    client.pause();
    const tryBackend = (attempt: number) => {
      if (attempt >= backendPorts.length) {
        client.destroy();
        return;
      }
      const index = next++ % backendPorts.length;
      const upstream = connect(backendPorts[index]!, '127.0.0.1');
      let connected = false;
      upstream.once('error', () => {
        if (!connected) tryBackend(attempt + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        handed[index]!++;
        open.add(upstream);
        upstream.once('close', () => {
          open.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
