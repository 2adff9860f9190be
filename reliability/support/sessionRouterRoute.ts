import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { DsnArgs } from '@isosession/server';
import { createNodeSessionContext, createPostgresSessionBus, createRedisSessionBus } from '@isosession/trpc';
import type { ClosableSessionBus } from '@isosession/trpc';
import { createTestRouter } from '@isosession/test-support/contracts';

/** Which bus carries `watch` changes between the app server processes. */
export type BusConfig = { kind: 'redis'; url: string | string[] } | { kind: 'postgresql'; url: string; channel: string };

/**
 * The session router (get / set / watch over SSE) at `/trpc/…`, on the app's store, with a
 * bus shared by every app server process: a `set` through one process reaches `watch`
 * streams served by another.
 */
export function sessionRouterRoute(dsn: string, dsnArgs: DsnArgs, busConfig: BusConfig): { handle(req: IncomingMessage, res: ServerResponse): void; close(): Promise<void> } {
  const bus: ClosableSessionBus = busConfig.kind === 'redis' ? createRedisSessionBus({ url: busConfig.url }) : createPostgresSessionBus({ url: busConfig.url, channel: busConfig.channel });
  const handler = createHTTPHandler({
    router: createTestRouter({ dsn, dsnArgs, bus }),
    basePath: '/trpc/',
    createContext: createNodeSessionContext,
  });
  return { handle: (req, res) => handler(req, res), close: () => bus.close() };
}
