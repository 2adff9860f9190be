import { randomBytes } from 'node:crypto';
import { expect, test } from '@playwright/test';
import type { BrowserContext, Page } from '@playwright/test';
import { Session, createFileDriver } from '@isosession/server';

// A cart write in flight while the user logs in (or out) in the same browser: the write left
// with the cookie that the login's regenerate() then replaced. The server must refuse it as
// stale, with no Set-Cookie (a fresh session's cookie would log the user out and orphan the
// logged-in session), and the browser's mirror must send it once more with the newer cookie.
// Every interleaving, at every latency of the demo's knob, ten times each: none may fail.

const DSN = 'driver:file;serializer:json;id:md5';
const COOKIE = 'CGISESSID';
const LATENCIES = [0, 100, 300] as const;
const RUNS = 10;

test.describe.configure({ mode: 'parallel' });

/**
 * Every 409 the session router answers in this test: none may carry a Set-Cookie. Their count
 * is recorded (annotation "stale answers"), to show which runs met the race.
 */
const staleAnswers = new WeakMap<BrowserContext, { count: number; withCookie: string[] }>();

test.beforeEach(async ({ context }) => {
  const seen = { count: 0, withCookie: [] as string[] };
  staleAnswers.set(context, seen);
  context.on('response', (response) => {
    if (response.status() !== 409 || !response.url().includes('/api/session/')) return;
    seen.count += 1;
    void response.allHeaders().then((headers) => {
      if (headers['set-cookie']) seen.withCookie.push(`${response.url()}: ${headers['set-cookie']}`);
    });
  });
});

test.afterEach(async ({ context }) => {
  const seen = staleAnswers.get(context);
  test.info().annotations.push({ type: 'stale answers', description: String(seen?.count ?? 0) });
  expect(seen?.withCookie ?? [], 'a 409 answer set a cookie').toEqual([]);
});

function storeArgs() {
  const dir = process.env.E2E_DATA_DIR;
  if (!dir) throw new Error('E2E_DATA_DIR is not set: run through playwright.config.ts (npm run e2e)');
  return { Directory: dir };
}

function userName(): string {
  return `erin-${randomBytes(3).toString('hex')}`;
}

/** A stored session the browser already holds (what an earlier visit left), with a cart line. */
async function seedSession(context: BrowserContext, params: Record<string, unknown> = {}): Promise<string> {
  const session = await Session.new(DSN, null, storeArgs());
  session.param({ cart: [{ sku: 'mug', price: 1200 }], ...params });
  session.expire('2h');
  await session.flush();
  const id = session.id()!;
  const { baseURL } = test.info().project.use;
  await context.addCookies([{ name: COOKIE, value: id, url: baseURL! }]);
  return id;
}

async function open(page: Page, latency: number): Promise<void> {
  await page.goto(`/?latency=${latency}`);
  // The inspector's countdown ticks only once React has hydrated: clicks reach the handlers.
  await expect(page.getByTestId('session-expires')).not.toHaveText('…');
}

async function cookieId(context: BrowserContext): Promise<string> {
  const cookie = (await context.cookies()).find((c) => c.name === COOKIE);
  if (!cookie) throw new Error(`the browser has no ${COOKIE} cookie`);
  return cookie.value;
}

async function storedParams(id: string): Promise<Record<string, unknown> | null> {
  const session = await Session.load(DSN, id, storeArgs());
  if (session.isEmpty()) return null;
  return Object.fromEntries(session.param().map((name) => [name, session.param(name)]));
}

function skus(params: Record<string, unknown> | null): string[] {
  return ((params?.cart as { sku: string }[] | undefined) ?? []).map((line) => line.sku).sort();
}

/** What the browser holds once every request settled: its cookie's session, stored. */
async function settledSession(page: Page, context: BrowserContext): Promise<{ id: string; params: Record<string, unknown> }> {
  await expect(page.getByTestId('cart-state')).toHaveText(/saved/);
  await expect(page.getByTestId('cart-error')).toHaveCount(0);
  const id = await cookieId(context);
  const params = await storedParams(id);
  expect(params, `the browser's cookie names no stored session (${id})`).not.toBeNull();
  return { id, params: params! };
}

/** The name is typed first, so that the two clicks of a race follow each other closely. */
async function typeName(page: Page, user: string): Promise<void> {
  await page.getByTestId('login-name').fill(user);
}

/** What a new request with the browser's cookies (a reload) is served: the router's snapshot. */
async function served(context: BrowserContext): Promise<Record<string, unknown>> {
  const response = await context.request.get('/api/session/get');
  expect(response.status()).toBe(200);
  const body = (await response.json()) as { result: { data: { json: { params: Record<string, unknown> } } } };
  return body.result.data.json.params;
}

/** Logged in as `user` with `cart`, in the page, in the store, and for the next request. */
async function expectLoggedIn(page: Page, context: BrowserContext, before: string, user: string, cart: string[]): Promise<void> {
  await expect(page.getByTestId('user')).toHaveText(`Signed in as ${user}`);
  await expect(page.getByTestId('cart-count')).toHaveText(String(cart.length));
  const { id, params } = await settledSession(page, context);
  expect(id).not.toBe(before);
  expect(params).toMatchObject({ user, loggedIn: true });
  expect(skus(params)).toEqual([...cart].sort());
  // The old id is gone and no other session was minted for this browser.
  expect(await createFileDriver(storeArgs()).retrieve(before)).toBeNull();
  const next = await served(context);
  expect(next.user).toBe(user);
  expect(skus(next)).toEqual([...cart].sort());
  expect(await cookieId(context)).toBe(id);
}

for (const latency of LATENCIES) {
  for (let run = 1; run <= RUNS; run++) {
    const title = (what: string) => `${what} at ${latency} ms latency (run ${run} of ${RUNS})`;

    test(title('write-then-login: the write lands on the logged-in session'), async ({ page, context }) => {
      const before = await seedSession(context);
      await open(page, latency);
      const user = userName();
      await typeName(page, user);
      await page.getByTestId('add-tee').click();
      await page.getByTestId('login').click();
      await expectLoggedIn(page, context, before, user, ['mug', 'tee']);
    });

    test(title('login-then-write: the write sent before the new cookie arrived lands too'), async ({ page, context }) => {
      const before = await seedSession(context);
      await open(page, latency);
      const user = userName();
      await typeName(page, user);
      await page.getByTestId('login').click();
      await page.getByTestId('add-cap').click();
      await expectLoggedIn(page, context, before, user, ['mug', 'cap']);
    });

    test(title('write-then-logout: logged out for good, the write kept'), async ({ page, context }) => {
      const user = userName();
      const before = await seedSession(context, { user, loggedIn: true });
      await open(page, latency);
      await expect(page.getByTestId('user')).toHaveText(`Signed in as ${user}`);
      await page.getByTestId('add-stickers').click();
      await page.getByTestId('logout').click();
      await expect(page.getByTestId('login')).toBeVisible();
      await expect(page.getByTestId('cart-count')).toHaveText('2');
      const { id, params } = await settledSession(page, context);
      expect(id).not.toBe(before);
      expect(params.user ?? null).toBeNull();
      expect(params.loggedIn ?? null).toBeNull();
      expect(skus(params)).toEqual(['mug', 'stickers']);
      const next = await served(context);
      expect(next.user ?? null).toBeNull();
      expect(skus(next)).toEqual(['mug', 'stickers']);
      expect(await cookieId(context)).toBe(id);
    });

    test(title('two tabs: one logs in while the other writes; both end logged in with the write'), async ({ context }) => {
      const before = await seedSession(context);
      const first = await context.newPage();
      const second = await context.newPage();
      await open(first, latency);
      await open(second, latency);
      const user = userName();
      await typeName(first, user);
      await second.getByTestId('add-tee').click();
      await first.getByTestId('login').click();
      await expect(second.getByTestId('user')).toHaveText(`Signed in as ${user}`);
      await expect(second.getByTestId('cart-state')).toHaveText(/saved/);
      await expect(second.getByTestId('cart-error')).toHaveCount(0);
      await expectLoggedIn(first, context, before, user, ['mug', 'tee']);
      await expect(second.getByTestId('cart-count')).toHaveText('2');
    });
  }
}
