import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session } from '@isosession/server';
import type { DsnArgs, SessionParams } from '@isosession/server';
import { withNodeSession } from '@isosession/server/node';
import { sessionRouterRoute } from './sessionRouterRoute.js';
import type { BusConfig } from './sessionRouterRoute.js';

// The server under test in the load and fault scenarios, in its own process (so it can be
// measured, paused and SIGKILLed). argv[2] is an AppConfig as JSON. Routes:
//   /new[?pad=n]                   a new session (param born = 1, pad: n bytes), its cookie set
//   /op?kind=set&name=p&value=7    param(p, 7)        kind=clear: clear(p)
//   /op?kind=expire&name=p&value=s expire(p, s)
//   /dump                          { params, expires } of the cookie's session
//   /stats?gc=1                    { rss, heapUsed } of this process (after a full GC)
//   /trpc/…                        with `bus`: the session router (get, set, watch over SSE)
// It prints "ready <port>" when listening, and exits when its stdin closes.

export type AppConfig =
  | { kind: 'isosession'; dsn: string; dsnArgs: DsnArgs; sessionParams?: SessionParams; port?: number; bus?: BusConfig }
  | { kind: 'express-redis'; url: string; prefix: string; port?: number }
  | { kind: 'express-file'; directory: string; port?: number };

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function isosessionListener(config: Extract<AppConfig, { kind: 'isosession' }>): Listener {
  return withNodeSession((req, res, session) => {
    const url = new URL(req.url ?? '/', 'http://app');
    const name = url.searchParams.get('name') ?? '';
    const value = Number(url.searchParams.get('value'));
    switch (url.pathname) {
      case '/new':
        session.param('born', 1);
        // A large param makes every flush rewrite that much: a wider window for a SIGKILL.
        if (url.searchParams.has('pad')) session.param('pad', 'x'.repeat(Number(url.searchParams.get('pad'))));
        return send(res, 200, { id: session.id() });
      case '/op': {
        const kind = url.searchParams.get('kind');
        if (kind === 'set') session.param(name, value);
        else if (kind === 'clear') session.clear(name);
        else if (kind === 'expire') session.expire(name, value);
        else return send(res, 400, { error: `unknown kind ${kind}` });
        return send(res, 200, { ok: true, id: session.id() });
      }
      case '/dump': {
        const params = Object.fromEntries(session.param().map((key) => [key, session.param(key)]));
        const expires = (session.dataref()._SESSION_EXPIRE_LIST ?? {}) as Record<string, number>;
        return send(res, 200, { id: session.id(), isNew: session.isNew(), params, expires });
      }
      default:
        return send(res, 404, { error: 'no such route' });
    }
  }, { dsn: config.dsn, dsnArgs: config.dsnArgs, sessionParams: config.sessionParams });
}

async function expressStore(config: Extract<AppConfig, { kind: 'express-redis' | 'express-file' }>, session: typeof import('express-session')) {
  if (config.kind === 'express-file') {
    const { default: createFileStore } = await import('session-file-store');
    return new (createFileStore(session))({ path: config.directory, reapInterval: -1, logFn: () => {} });
  }
  const { RedisStore } = await import('connect-redis');
  const { createClient } = await import('redis');
  const client = createClient({ url: config.url });
  client.on('error', () => {});
  await client.connect();
  return new RedisStore({ client, prefix: config.prefix });
}

async function expressListener(config: Extract<AppConfig, { kind: 'express-redis' | 'express-file' }>): Promise<Listener> {
  const { default: session } = await import('express-session');
  // As the stores' READMEs set them up.
  const middleware = session({ secret: 'isosession reliability battery', resave: false, saveUninitialized: false, store: await expressStore(config, session) });
  return (req, res) => {
    middleware(req as never, res as never, (error?: unknown) => {
      if (error) return send(res, 500, { error: String(error) });
      const data = (req as unknown as { session: Record<string, unknown> & { id: string } }).session;
      const url = new URL(req.url ?? '/', 'http://app');
      const name = url.searchParams.get('name') ?? '';
      switch (url.pathname) {
        case '/new':
          data.born = 1;
          return send(res, 200, { id: data.id });
        case '/op':
          if (url.searchParams.get('kind') === 'set') data[name] = Number(url.searchParams.get('value'));
          else if (url.searchParams.get('kind') === 'clear') delete data[name];
          else return send(res, 400, { error: 'express-session has no per-param expiry' });
          return send(res, 200, { ok: true, id: data.id });
        case '/dump': {
          const params = Object.fromEntries(Object.entries(data).filter(([key]) => key !== 'cookie'));
          return send(res, 200, { id: data.id, isNew: false, params, expires: {} });
        }
        default:
          return send(res, 404, { error: 'no such route' });
      }
    });
  };
}

const config = JSON.parse(process.argv[2] ?? '{}') as AppConfig;
const app = config.kind === 'isosession' ? isosessionListener(config) : await expressListener(config);
const router = config.kind === 'isosession' && config.bus ? sessionRouterRoute(config.dsn, config.dsnArgs, config.bus) : undefined;
const server = createServer((req, res) => {
  if (router && req.url?.startsWith('/trpc/')) return router.handle(req, res);
  if (req.url?.startsWith('/stats')) {
    if (req.url.includes('gc=1')) (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    return send(res, 200, { rss, heapUsed });
  }
  app(req, res);
});
server.keepAliveTimeout = 30_000;
server.listen(config.port ?? 0, '127.0.0.1', () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close();
  void Promise.all([router?.close(), Session.closeAll()]).finally(() => process.exit(0));
});
process.stdin.resume();
