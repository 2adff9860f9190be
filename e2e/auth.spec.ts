import { createTestSession } from '@isosession/playwright';
import type { Page } from '@playwright/test';
import { startDemoServer } from './support/demoServer.js';
import { nonce } from './support/nonce.js';
import { cartSaved, hydrated } from './support/page.js';
import { isStored, sessionId, tagOf } from './support/store.js';
import { expect, test } from './support/test.js';

// Login and logout are server actions: regenerate() gives the session a new id (the cookie
// changes), and the header, fed by the hooks, shows the change without a reload.

async function logIn(page: Page, user: string): Promise<void> {
  await page.getByTestId('login-name').fill(user);
  await page.getByTestId('login').click();
  await expect(page.getByTestId('user')).toHaveText(`Signed in as ${user}`);
}

/** Marks the document: the mark is gone if the page reloads. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __noReload: boolean }).__noReload = true;
  });
}

async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
}

test('login changes the session id and shows the user without a reload; logout clears it', async ({ page, context, session }) => {
  const user = `alice-${nonce()}`;
  await page.goto('/');
  await hydrated(page);
  await page.getByTestId('add-mug').click();
  await cartSaved(page);
  const before = await sessionId(context);
  await markDocument(page);

  await logIn(page, user);
  const after = await sessionId(context);
  expect(after).not.toBe(before);
  expect(await sameDocument(page)).toBe(true);
  await expect(page.getByTestId('session-tag')).toHaveText(`${(await tagOf(after)).slice(0, 8)}…`);
  await expect(page.getByTestId('param-expires-loggedIn')).toHaveText(/^\d+:\d\d$/);

  // The old id is gone from the store; the new one has the user, the login, the cart, and
  // the private account record, which the inspector never shows.
  expect(await isStored(before)).toBe(false);
  const stored = await session.params();
  expect(stored).toMatchObject({ user, loggedIn: true, cart: [{ sku: 'mug', price: 1200 }], account: { email: `${user}@example.test` } });
  await expect(page.getByTestId('session-params')).toContainText(`"user": "${user}"`);
  await expect(page.getByTestId('session-params')).not.toContainText('account');

  await page.getByTestId('logout').click();
  await expect(page.getByTestId('login')).toBeVisible();
  await expect(page.getByTestId('user')).toHaveCount(0);
  const loggedOut = await sessionId(context);
  expect(loggedOut).not.toBe(after);
  expect(await sameDocument(page)).toBe(true);
  const afterLogout = await session.params();
  expect(afterLogout).toEqual({ cart: [{ sku: 'mug', price: 1200 }] });
  expect(await isStored(after)).toBe(false);
});

test('an invalid name is refused by the server action, with a message', async ({ page, context, session }) => {
  await page.goto('/');
  await hydrated(page);
  await page.getByTestId('add-mug').click();
  await cartSaved(page);
  const before = await sessionId(context);
  await page.getByTestId('login-name').fill('no spaces allowed');
  await page.getByTestId('login').click();
  await expect(page.getByRole('alert').filter({ hasText: 'Pick a name' })).toBeVisible();
  expect(await sessionId(context)).toBe(before);
  const stored = await session.params();
  expect(stored).toMatchObject({ cart: [{ sku: 'mug', price: 1200 }] });
  expect(stored).not.toHaveProperty('loggedIn');
});

test('loggedIn expires after its idle time (DEMO_LOGIN_TTL=3s) and the header follows without a reload', async ({ browser, isosession }) => {
  const server = await startDemoServer({ env: { DEMO_LOGIN_TTL: '3s' } });
  const context = await browser.newContext({ baseURL: server.url });
  const session = createTestSession(context, isosession, server.url);
  try {
    const page = await context.newPage();
    const user = `bob-${nonce()}`;
    await page.goto('/');
    await hydrated(page);
    await page.getByTestId('add-stickers').click();
    await cartSaved(page);
    await markDocument(page);
    await logIn(page, user);

    // Nothing touches the session now: the hooks refresh on their own once the login lapses.
    await expect(page.getByTestId('login')).toBeVisible({ timeout: 20_000 });
    await expect(page.getByTestId('user')).toHaveCount(0);
    expect(await sameDocument(page)).toBe(true);

    // The login param is gone from the store; the session and its cart live on.
    const stored = await session.params();
    expect(stored).not.toHaveProperty('loggedIn');
    expect(stored).toMatchObject({ user, cart: [{ sku: 'stickers', price: 400 }] });
  } finally {
    await context.close();
    await server.stop();
  }
});
