// A session router served over real HTTP, in its own Node process: the hook tests run in
// happy-dom, whose Request/Response/Headers are a browser's (they drop Cookie and Set-Cookie
// on purpose), so the server side must live where the globals are Node's. Driven over IPC by
// liveSession.ts. Run with: node --import tsx --conditions=@isosession/source liveServer.ts
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { Session } from '@isosession/server';
import { createSessionContext } from '../../../trpc/src/createSessionContext.js';
import { createMemorySessionBus } from '../../../trpc/src/SessionBus.js';
import { serveFetch } from '@isosession/test-support/serveFetch';
import type { FetchServer } from '@isosession/test-support/serveFetch';
import { createTestRouter, tempStore } from '../../../trpc/src/testing/testRouter.js';

export type LiveCommand =
  | { op: 'listen' }
  | { op: 'setLatency'; ms: number }
  | { op: 'requests' }
  | { op: 'param'; tag: string; name: string }
  | { op: 'isEmpty'; tag: string }
  | { op: 'set'; tag: string; name: string; value: unknown }
  | { op: 'close' };

const store = tempStore();
const dsn = 'driver:file;serializer:superjson';
const router = createTestRouter({ dsn, dsnArgs: store.dsnArgs, bus: createMemorySessionBus() });
const servers: FetchServer[] = [];
let latency = 0;

const callerFor = (id: string) =>
  router.createCaller(createSessionContext({ req: new Request('http://server.test/trpc', { headers: { cookie: `CGISESSID=${id}` } }) }));

/** The stored session whose snapshots carry `tag` (the page never sees the id itself). */
async function idOf(tag: string): Promise<string | undefined> {
  let found: string | undefined;
  await Session.find(dsn, (session) => {
    if (session.tag() === tag) found = session.id();
  }, store.dsnArgs);
  return found;
}

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
    case 'param': {
      const id = await idOf(command.tag);
      return id === undefined ? undefined : (await Session.load(dsn, id, store.dsnArgs)).param(command.name);
    }
    case 'isEmpty':
      return (await idOf(command.tag)) === undefined;
    case 'set': {
      const id = await idOf(command.tag);
      if (id === undefined) throw new Error(`no stored session has tag ${command.tag}`);
      // Another device / a server action: goes through the router, so watchers hear of it.
      await callerFor(id).set({ name: command.name, value: command.value } as never);
      return null;
    }
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
