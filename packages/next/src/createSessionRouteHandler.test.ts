import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { z } from 'zod';
import { createSessionRouter, defineSessionParams } from '@isosession/trpc';
import { createSessionRouteHandler } from './createSessionRouteHandler.js';

const params = defineSessionParams({
  theme: { schema: z.enum(['light', 'dark']), default: 'light', writable: true },
});

describe('createSessionRouteHandler', () => {
  it('serves the router under its endpoint: get answers the defaults without storing, set creates the session and sets its cookie', async () => {
    const router = createSessionRouter({ dsn: 'driver:memory', dsnArgs: { Namespace: `route-${randomUUID()}` }, params });
    const handler = createSessionRouteHandler(router, { endpoint: '/api/session' });
    const got = await handler(new Request('http://shop.test/api/session/get'));
    expect(got.status).toBe(200);
    expect(got.headers.get('set-cookie')).toBeNull();
    const first = superjson.deserialize<{ tag: string; params: { theme: string } }>((await got.json()).result.data);
    expect(first.params.theme).toBe('light');
    const write = (cookie?: string) =>
      handler(
        new Request('http://shop.test/api/session/set', {
          method: 'POST',
          headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/json', origin: 'http://shop.test', host: 'shop.test' },
          body: JSON.stringify(superjson.serialize({ name: 'theme', value: 'dark' })),
        }),
      );
    const set = await write();
    expect(set.status).toBe(200);
    const cookie = set.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^CGISESSID=[0-9a-f]{32};.*HttpOnly; SameSite=Lax/);
    const second = superjson.deserialize<{ tag: string; params: { theme: string } }>((await set.json()).result.data);
    expect(second.params.theme).toBe('dark');
    const again = superjson.deserialize<{ tag: string; params: { theme: string } }>((await (await write(cookie.split(';')[0])).json()).result.data);
    expect(again).toMatchObject({ tag: second.tag, params: { theme: 'dark' } });
  });

  it('ipMatch: the remoteAddr option binds a session to the client address; its cookie from another address gets the defaults', async () => {
    const router = createSessionRouter({ dsn: 'driver:memory', dsnArgs: { Namespace: `route-${randomUUID()}` }, sessionParams: { ipMatch: true }, params });
    const handler = createSessionRouteHandler(router, { endpoint: '/api/session', remoteAddr: (request) => request.headers.get('x-test-client') ?? undefined });
    const set = await handler(
      new Request('http://shop.test/api/session/set', {
        method: 'POST',
        headers: { 'x-test-client': '10.0.0.1', 'content-type': 'application/json', origin: 'http://shop.test', host: 'shop.test' },
        body: JSON.stringify(superjson.serialize({ name: 'theme', value: 'dark' })),
      }),
    );
    const cookie = (set.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const read = async (client: string) =>
      superjson.deserialize<{ params: { theme: string } }>((await (await handler(new Request('http://shop.test/api/session/get', { headers: { cookie, 'x-test-client': client } }))).json()).result.data);
    expect((await read('10.0.0.1')).params.theme).toBe('dark');
    expect((await read('10.6.6.6')).params.theme).toBe('light');
  });

  it('a 200 MB chunked body is refused with 413 after reading about 100 kB (it used to be buffered whole)', async () => {
    const router = createSessionRouter({ dsn: 'driver:memory', dsnArgs: { Namespace: `route-${randomUUID()}` }, params });
    const handler = createSessionRouteHandler(router, { endpoint: '/api/session' });
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ >= 3200) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const response = await handler(
      new Request('http://shop.test/api/session/set', { method: 'POST', headers: { 'content-type': 'application/json', host: 'shop.test' }, body, duplex: 'half' } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect(pulled * chunk.byteLength).toBeLessThan(300_000);
  });
});
