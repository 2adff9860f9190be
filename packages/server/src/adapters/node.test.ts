import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { withNodeSession } from '@isosession/server/node';
import type { NodeSessionOptions } from '@isosession/server/node';
import { Session } from '../Session.js';
import { runAdapterSuite } from '../testing/adapterSuite.js';
import { demoApp } from '../testing/demoApp.js';
import { call } from '@isosession/test-support/httpClient';
import { serveNode } from '@isosession/test-support/serveNode';
import type { RunningServer } from '@isosession/test-support/serveNode';
import '../testing/outageDriver.js';

function respond(res: ServerResponse, url: URL, session: Session): void {
  const result = demoApp(url, session);
  if (result.redirect) {
    res.writeHead(302, { location: result.redirect });
    res.end();
    return;
  }
  res.writeHead(result.status, result.headers);
  if (!result.chunks) {
    res.end(result.body);
    return;
  }
  const [head, ...rest] = result.chunks;
  res.write(head);
  setTimeout(() => {
    for (const chunk of rest) res.write(chunk);
    res.end();
  }, 10);
}

function demoServer(options: NodeSessionOptions): Promise<RunningServer> {
  return serveNode(withNodeSession((req, res, session) => respond(res, new URL(req.url ?? '/', 'http://localhost'), session), options));
}

runAdapterSuite({ name: 'withNodeSession (node:http)', start: (options) => demoServer(options) });

describe('withNodeSession specifics', () => {
  const servers: RunningServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const dsnArgs = () => ({ Namespace: `node-${randomBytes(6).toString('hex')}` });

  it('a body whose Content-Length is over maxBodyBytes is answered 413 before the session loads or the listener runs', async () => {
    let ran = 0;
    const server = await serveNode(withNodeSession((_req, res) => {
      ran += 1;
      res.end('ok');
    }, { dsn: 'driver:memory', dsnArgs: dsnArgs() }));
    servers.push(server);
    const big = await fetch(`${server.url}/`, { method: 'POST', body: new Uint8Array(200_001) });
    expect(big.status).toBe(413);
    expect(await big.text()).toMatch(/over 100000 bytes/);
    expect(big.headers.getSetCookie()).toEqual([]);
    expect(ran).toBe(0);
    expect((await fetch(`${server.url}/`, { method: 'POST', body: 'small' })).status).toBe(200);
  });

  it('a param over the size limit (SessionError TOO_LARGE) is answered 413 by default, with nothing stored', async () => {
    const args = dsnArgs();
    const server = await serveNode(withNodeSession((_req, res, session) => {
      session.param('note', 'x'.repeat(70_000));
      res.end('stored');
    }, { dsn: 'driver:memory', dsnArgs: args }));
    servers.push(server);
    const response = await call(`${server.url}/`);
    expect(response.status).toBe(413);
    expect(response.setCookies).toEqual([]);
    const ids: string[] = [];
    await Session.find('driver:memory', (s) => void ids.push(s.id() as string), args);
    expect(ids).toEqual([]);
  });

  it('a streamed response gets the cookie in its headers and its whole body', async () => {
    const server = await demoServer({ dsn: 'driver:memory', dsnArgs: dsnArgs() });
    servers.push(server);
    const response = await call(`${server.url}/stream`);
    expect(response.body).toBe('{"part":1,"part2":2}');
    expect(response.cookie()?.value).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a listener that throws before responding gets a 500 and nothing is flushed', async () => {
    const args = dsnArgs();
    let id: string | undefined;
    const server = await serveNode(withNodeSession(async (_req, _res, session) => {
      session.param('x', 1);
      id = session.id();
      throw new Error('listener bug');
    }, { dsn: 'driver:memory', dsnArgs: args }));
    servers.push(server);
    const response = await call(`${server.url}/`);
    expect(response.status).toBe(500);
    expect(response.setCookies).toEqual([]);
    expect((await Session.load('driver:memory', id!, args)).isEmpty()).toBe(true);
  });

  it('a listener that throws after ending its response keeps that response; the error becomes a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const server = await serveNode(withNodeSession(async (_req, res, session) => {
        session.param('x', 1);
        res.end('done');
        throw new Error('late bug');
      }, { dsn: 'driver:memory', dsnArgs: dsnArgs() }));
      servers.push(server);
      const response = await call(`${server.url}/`);
      expect(response.status).toBe(200);
      expect(response.body).toBe('done');
      expect(response.cookie()?.value).toMatch(/^[0-9a-f]{32}$/);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.message)).toContainEqual(expect.stringContaining('late bug'));
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('onError decides the answer to a store outage', async () => {
    const seen: string[] = [];
    const server = await serveNode(withNodeSession((_req, res, session) => {
      session.param('seen', true);
      res.end('ok');
    }, {
      dsn: 'driver:outage',
      dsnArgs: { ...dsnArgs(), State: { fail: 'flush' } },
      onError: (error, _req, res) => {
        seen.push((error as { code: string }).code);
        res.writeHead(502, { 'retry-after': '1' });
        res.end('try later');
      },
    }));
    servers.push(server);
    const response = await call(`${server.url}/`);
    expect(response.status).toBe(502);
    expect(response.body).toBe('try later');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(seen).toEqual(['STORE_UNAVAILABLE']);
  });
});
