import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFetchEventSource } from '@isosession/test-support/fetchEventSource';
import type { TestRouter } from '../../../trpc/src/testing/testRouter.js';
import { createSessionClient } from '../createSessionClient.js';
import type { SessionTrpcClient } from '../createTrpcTransport.js';
import type { LiveCommand } from './liveServer.js';

export type { TestRouter };

/** The real session router in a child process (see liveServer.ts), driven from the test. */
export async function startLiveServer() {
  // A path, not `new URL(...)`: under happy-dom, URL is the page's class, not Node's.
  const child: ChildProcess = fork(join(dirname(fileURLToPath(import.meta.url)), 'liveServer.ts'), [], {
    execArgv: ['--import', 'tsx', '--conditions=@isosession/source'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let seq = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`liveServer exited with ${code}`)));
    child.on('message', (message: { ready?: boolean; seq?: number; result?: unknown; error?: string }) => {
      if (message.ready) return resolve();
      const pending = waiting.get(message.seq!);
      waiting.delete(message.seq!);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message.result);
    });
  });
  child.removeAllListeners('exit');
  const send = <T>(command: LiveCommand): Promise<T> =>
    new Promise((resolve, reject) => {
      waiting.set(++seq, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ seq, command });
    });

  return {
    /**
     * A fresh origin served by the same router and store, with happy-dom pointed at it: the
     * page's fetch is then same-origin and keeps the HttpOnly cookie like a browser. (The jar
     * is shared by all pages: cookies ignore ports.)
     */
    async newPage() {
      const origin = await send<string>({ op: 'listen' });
      (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(`${origin}/`);
      const streamed: string[] = [];
      const EventSource = createFetchEventSource((input, init) => fetch(input, init), streamed);
      /** A tRPC client of the router, for `<SessionProvider client>` and for setting up. */
      const client = (): SessionTrpcClient => createSessionClient({ url: `${origin}/trpc`, EventSource });
      /** `<SessionProvider {...connection}>`: the url mode (plain fetch + EventSource). */
      const connection = { url: `${origin}/trpc`, EventSource };
      return { origin, client, connection, streamed };
    },
    setLatency: (ms: number) => send<null>({ op: 'setLatency', ms }),
    /** Paths of the requests the newest page's server handled, e.g. `/trpc/set`. */
    requests: () => send<string[]>({ op: 'requests' }),
    /** A stored param of the session a snapshot's `tag` names, read as server code would. */
    param: (tag: string, name: string) => send<unknown>({ op: 'param', tag, name }),
    isEmpty: (tag: string) => send<boolean>({ op: 'isEmpty', tag }),
    /** Changes the session `tag` names from elsewhere (another device, a server action). */
    set: (tag: string, name: string, value: unknown) => send<null>({ op: 'set', tag, name, value }),
    async close() {
      await send<null>({ op: 'close' }).catch(() => null);
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
    },
  };
}

export type LiveServer = Awaited<ReturnType<typeof startLiveServer>>;
export type LivePage = Awaited<ReturnType<LiveServer['newPage']>>;
