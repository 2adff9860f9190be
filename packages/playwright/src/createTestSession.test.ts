import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from '@playwright/test';
import type { Browser, BrowserContext } from '@playwright/test';
import { Session } from '@isosession/server';
import type { DsnArgs, SessionParams } from '@isosession/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable, SERVICE_URLS } from '@isosession/test-support/services';
import { onMysql, onPostgresql, randomTableName } from '../../server/src/testing/sqlTables.js';
import { resolveChromium, unpackSparticuzChromium, unpackSparticuzLibraries } from '../../../e2e/support/resolveChromium.js';
import { createTestSession } from './createTestSession.js';
import type { IsosessionTestOptions } from './types.js';

// Each store the fixtures support, with a tiny app that reads its session the way an app does
// (Session.new on the request), so "the app sees the seeded session" is checked by a server,
// not assumed. One config signs its ids and hashes them in the store.

const root = path.resolve(import.meta.dirname, '../../..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'isosession-playwright-'));
const pgTable = randomTableName('pw');
const myTable = randomTableName('pw');
const redisPrefix = `isosession-pw-${randomTableName('r')}:`;

interface Store { name: string; dsn: string; dsnArgs: DsnArgs; sessionParams?: SessionParams; available?: () => Promise<boolean> }

const stores: Store[] = [
  { name: 'file', dsn: 'driver:file;serializer:json;id:md5', dsnArgs: { Directory: scratch } },
  {
    name: 'file, signed and hashed ids, own cookie name',
    dsn: 'driver:file;serializer:json;id:md5',
    dsnArgs: { Directory: scratch },
    sessionParams: { name: 'shop_sid', secret: 'a test secret that is long enough!!', hashIds: true },
  },
  { name: 'sqlite', dsn: 'driver:sqlite;serializer:json', dsnArgs: { DataSource: path.join(scratch, 'sessions.db') } },
  { name: 'postgresql', dsn: 'driver:postgresql', dsnArgs: { DataSource: SERVICE_URLS.postgresql, TableName: pgTable }, available: () => serviceAvailable('postgresql') },
  { name: 'mysql', dsn: 'driver:mysql', dsnArgs: { DataSource: SERVICE_URLS.mysql, TableName: myTable }, available: () => serviceAvailable('mysql') },
  { name: 'redis', dsn: 'driver:redis', dsnArgs: { Url: SERVICE_URLS.redis, Prefix: redisPrefix }, available: () => serviceAvailable('redis') },
];

let browser: Browser;

beforeAll(async () => {
  const found = resolveChromium({ env: process.env, playwrightPath: () => chromium.executablePath(), unpackNpmChromium: () => unpackSparticuzChromium(root) });
  const libs = found.source === 'npm' ? unpackSparticuzLibraries(root) : undefined;
  browser = await chromium.launch({
    executablePath: found.executablePath,
    args: ['--no-sandbox', '--disable-gpu'],
    ...(libs ? { env: { ...process.env, LD_LIBRARY_PATH: libs } } : {}),
  });
});

afterAll(async () => {
  await browser?.close();
  rmSync(scratch, { recursive: true, force: true });
  if (await serviceAvailable('postgresql')) await onPostgresql((q) => q(`DROP TABLE IF EXISTS ${pgTable}`));
  if (await serviceAvailable('mysql')) await onMysql((q) => q(`DROP TABLE IF EXISTS ${myTable}`));
});

/** An app that answers with the user of the request's session (and "new" when it had none). */
function startApp(config: IsosessionTestOptions): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const session = await Session.load(config.dsn, req, config.dsnArgs, config.sessionParams);
    res.setHeader('content-type', 'text/html');
    res.end(session.isEmpty() ? '<p id="user">none</p>' : `<p id="user">${String(session.param('user'))}</p>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    resolve({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server });
  }));
}

for (const store of stores) {
  describe.runIf(await (store.available?.() ?? Promise.resolve(true)))(`createTestSession (${store.name})`, () => {
    const config: IsosessionTestOptions = { dsn: store.dsn, dsnArgs: store.dsnArgs, sessionParams: store.sessionParams };
    let context: BrowserContext;
    let app: { url: string; server: Server };
    beforeAll(async () => {
      app = await startApp(config);
    });
    afterAll(() => new Promise<void>((resolve) => app.server.close(() => resolve())));

    async function fresh() {
      await context?.close();
      context = await browser.newContext();
      return createTestSession(context, config, app.url);
    }

    it('seed() stores a session the app reads from the cookie it puts in the context', async () => {
      const session = await fresh();
      expect(await session.isStored()).toBe(false);
      expect(await session.params()).toBeNull();
      const id = await session.seed({ user: 'alice', loggedIn: true, account: { plan: 'pro' } }, { expire: '+1h', paramExpire: { loggedIn: '10m' } });
      const page = await context.newPage();
      await page.goto(app.url);
      expect(await page.textContent('#user')).toBe('alice');
      expect(await session.params()).toEqual({ user: 'alice', loggedIn: true, account: { plan: 'pro' } });
      expect(await session.param('account')).toEqual({ plan: 'pro' });
      expect(await session.id()).toBe(id);
      const cookie = (await context.cookies()).find((c) => c.name === (store.sessionParams?.name ?? 'CGISESSID'));
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', domain: '127.0.0.1', path: '/' });
      if (store.sessionParams?.secret) expect(cookie?.value).not.toBe(id);
      else expect(cookie?.value).toBe(id);
    });

    it('expireParam() removes one param now, expire() the whole session now', async () => {
      const session = await fresh();
      await session.seed({ user: 'bob', loggedIn: true });
      await session.expireParam('loggedIn');
      expect(await session.params()).toEqual({ user: 'bob' });
      await session.expire();
      expect(await session.isStored()).toBe(false);
      const page = await context.newPage();
      await page.goto(app.url);
      expect(await page.textContent('#user')).toBe('none');
    });

    it('update() changes the stored session the way server code does, merging with other writes', async () => {
      const session = await fresh();
      await session.seed({ user: 'carol', cart: [] });
      const published: Array<{ id: string; version: number }> = [];
      const withBus = createTestSession(context, { ...config, bus: { publish: (c) => void published.push(c) } }, app.url);
      await withBus.update((s) => void s.param('cart', ['sku-1']));
      expect(await session.params()).toEqual({ user: 'carol', cart: ['sku-1'] });
      expect(published).toEqual([{ id: await session.id(), version: expect.any(Number) }]);
    });

    it('cleanup() deletes what seed() created; a test without a session is told how to get one', async () => {
      const session = await fresh();
      await session.seed({ user: 'dave' });
      await session.cleanup();
      expect(await session.isStored()).toBe(false);
      await expect(session.update(() => {})).rejects.toThrow(/names no live stored session/);
      const empty = await fresh();
      await expect(empty.expire()).rejects.toThrow(/has no .* cookie: seed\(\) a session/);
    });
  });
}

describe.runIf(await serviceAvailable('redis'))('createTestSession with the app\'s Redis bus', () => {
  it('update() announces the change on the bus another process\'s watch streams listen on', async () => {
    const { createRedisSessionBus } = await import('@isosession/trpc');
    const channelPrefix = `${redisPrefix}bus:`;
    const appBus = createRedisSessionBus({ url: SERVICE_URLS.redis, channelPrefix });
    const testBus = createRedisSessionBus({ url: SERVICE_URLS.redis, channelPrefix });
    const context = await browser.newContext();
    try {
      const config: IsosessionTestOptions = { dsn: 'driver:file;serializer:json', dsnArgs: { Directory: scratch }, bus: testBus };
      const session = createTestSession(context, config, 'http://127.0.0.1:9');
      const id = await session.seed({ theme: 'light' });
      const heard: Array<{ id: string; version: number }> = [];
      const unsubscribe = appBus.subscribe(id, (change) => void heard.push(change));
      // The subscription is made asynchronously: publish until the app's side hears one.
      await expect.poll(async () => {
        await session.update((s) => void s.param('theme', 'dark'));
        return heard.length;
      }, { timeout: 10_000 }).toBeGreaterThan(0);
      unsubscribe();
      expect(heard[0]).toMatchObject({ id, version: expect.any(Number) });
      expect(await session.param('theme')).toBe('dark');
    } finally {
      await context.close();
      await appBus.close();
      await testBus.close();
    }
  });
});
