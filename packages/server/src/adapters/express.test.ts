import { randomBytes } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { isosession } from '@isosession/server/express';
import type { AdapterOptions, RequestWithSession } from '@isosession/server/express';
import { runAdapterSuite } from '../testing/adapterSuite.js';
import { demoApp } from '../testing/demoApp.js';
import { call } from '@isosession/test-support/httpClient';
import { serveNode } from '@isosession/test-support/serveNode';
import type { RunningServer } from '@isosession/test-support/serveNode';
import '../testing/outageDriver.js';

function demoServer(options: AdapterOptions, configure?: (app: express.Express) => void): Promise<RunningServer> {
  const app = express();
  app.use(isosession(options));
  configure?.(app);
  app.use((req: Request, res: Response) => {
    const result = demoApp(new URL(req.url, 'http://localhost'), (req as unknown as RequestWithSession).session);
    if (result.redirect) return res.redirect(302, result.redirect);
    res.status(result.status).set(result.headers);
    if (!result.chunks) return res.send(result.body);
    // Streamed: the first write would send the headers; the session is flushed first.
    const [head, ...rest] = result.chunks;
    res.write(head);
    setTimeout(() => {
      for (const chunk of rest) res.write(chunk);
      res.end();
    }, 10);
  });
  // No error handler: Express's default one answers with err.status (503 for a store outage).
  return serveNode(app);
}

runAdapterSuite({ name: 'isosession (Express middleware)', start: (options) => demoServer(options) });

describe('isosession (Express) specifics', () => {
  const servers: RunningServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const memory = (): AdapterOptions => ({ dsn: 'driver:memory', dsnArgs: { Namespace: `express-${randomBytes(6).toString('hex')}` } });

  it('a streamed response gets the cookie in its headers and its whole body', async () => {
    const server = await demoServer(memory());
    servers.push(server);
    const response = await call(`${server.url}/stream`);
    expect(response.body).toBe('{"part":1,"part2":2}');
    expect(response.cookie()?.value).toMatch(/^[0-9a-f]{32}$/);
    const again = await call(`${server.url}/count`, { cookie: `CGISESSID=${response.cookie()!.value}` });
    expect(again.json()).toMatchObject({ n: 2 });
  });

  it('writeHead() with its own Set-Cookie keeps both cookies', async () => {
    const app = express();
    app.use(isosession(memory()));
    app.get('/', (req, res) => {
      (req as unknown as RequestWithSession).session.param('seen', true);
      res.writeHead(201, 'Made', { 'Set-Cookie': ['theme=dark; Path=/'], 'X-Mine': 'yes' });
      res.end('made');
    });
    const server = await serveNode(app);
    servers.push(server);
    const response = await call(`${server.url}/`);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-mine')).toBe('yes');
    expect(response.setCookies.map((c) => c.split('=')[0]).sort()).toEqual(['CGISESSID', 'theme']);
  });

  it('a store outage reaches the error handler as next(err) with code and status', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.use(isosession({ dsn: 'driver:outage', dsnArgs: { Namespace: `express-${randomBytes(6).toString('hex')}`, State: { fail: 'flush' } } }));
    app.get('/', (req, res) => {
      (req as unknown as RequestWithSession).session.param('x', 1);
      res.setHeader('X-Handler', 'ran');
      res.send('saved!');
    });
    app.use((error: { code?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(error);
      res.status(error.status ?? 500).json({ code: error.code });
    });
    const server = await serveNode(app);
    servers.push(server);
    const response = await call(`${server.url}/`);
    expect(response.status).toBe(503);
    expect(response.json()).toEqual({ code: 'STORE_UNAVAILABLE' });
    expect(response.headers.get('x-handler')).toBeNull();
    expect(seen).toHaveLength(1);
  });
});
