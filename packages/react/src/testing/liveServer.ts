// A session router served over real HTTP, in its own Node process: the hook tests run in
// happy-dom, whose Request/Response/Headers are a browser's (they drop Cookie and Set-Cookie
// on purpose), so the server side must live where the globals are Node's. Driven over IPC by
// liveSession.ts. Run with: node --import tsx --conditions=@isosession/source liveServer.ts
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { Session } from '@isosession/server';
import { createSessionContext } from '../../../trpc/src/createSessionContext.js';
import { createMemorySessionBus } from '../../../trpc/src/SessionBus.js';
import { serveFetch } from '../../../trpc/src/testing/serveFetch.js';
import type { FetchServer } from '../../../trpc/src/testing/serveFetch.js';
import { createTestRouter, tempStore } from '../../../trpc/src/testing/testRouter.js';

export type LiveCommand =
  | { op: 'listen' }
  | { op: 'setLatency'; ms: number }
  | { op: 'requests' }
  | { op: 'param'; id: string; name: string }
  | { op: 'isEmpty'; id: string }
  | { op: 'set'; id: string; name: string; value: unknown }
  | { op: 'close' };

const store = tempStore();
const dsn = 'driver:file;serializer:superjson';
const router = createTestRouter({ dsn, dsnArgs: store.dsnArgs, bus: createMemorySessionBus() });
const servers: FetchServer[] = [];
let latency = 0;

const callerFor = (id: string) =>
  router.createCaller(createSessionContext({ req: new Request('http://server.test/trpc', { headers: { cookie: `CGISESSID=${id}` } }) }));

async function run(command: LiveCommand): Promise<unknown> {
  switch (command.op) {
    case 'listen': {
      // A new port is a new origin: a fresh cookie jar in the page.
      const server = await serveFetch((req) => fetchRequestHandler({ endpoint: '/trpc', req, router, createContext: createSessionContext }));
      server.setLatency(latency);
      servers.push(server);
      return server.origin;
    }
    case 'setLatency':
      latency = command.ms;
      for (const server of servers) server.setLatency(command.ms);
      return null;
    case 'requests':
      return servers.at(-1)?.requests ?? [];
    case 'param':
      return (await Session.load(dsn, command.id, store.dsnArgs)).param(command.name);
    case 'isEmpty':
      return (await Session.load(dsn, command.id, store.dsnArgs)).isEmpty();
    case 'set':
      // Another device / a server action: goes through the router, so watchers hear of it.
      await callerFor(command.id).set({ name: command.name, value: command.value } as never);
      return null;
    case 'close':
      await Promise.all(servers.map((server) => server.close()));
      store.remove();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (message: { seq: number; command: LiveCommand }) => {
  run(message.command).then(
    (result) => process.send?.({ seq: message.seq, result }),
    (error: unknown) => process.send?.({ seq: message.seq, error: String(error) }),
  );
});
process.send?.({ ready: true });
