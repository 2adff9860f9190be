import { expect, test } from './support/test.js';
import type { Page } from '@playwright/test';
import { nonce } from './support/nonce.js';
import { hydrated } from './support/page.js';

// Scenarios only the session fixture makes possible: a test that starts logged in, a login
// that lapses while the page is open, and server-side changes reaching an open page.

/** Marks the document: the mark is gone if the page reloads. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __noReload: boolean }).__noReload = true;
  });
}

async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload === true);
}

test('a test starts logged in: the header shows the seeded user, the server holds the private record', async ({ page, session }) => {
  const user = `alice-${nonce()}`;
  await session.seed({ user, loggedIn: true, account: { email: `${user}@example.test` } }, { expire: '+1h', paramExpire: { loggedIn: '10m' } });
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('user')).toHaveText(`Signed in as ${user}`);
  await expect(page.getByTestId('param-expires-loggedIn')).toHaveText(/^\d+:\d\d$/);
  await expect(page.getByTestId('session-params')).not.toContainText('account');
  expect(await session.params()).toMatchObject({ user, loggedIn: true, account: { email: `${user}@example.test` } });

  // Logging out through the UI regenerates the id: the fixture follows the browser's cookie.
  const seededId = await session.id();
  await page.getByTestId('logout').click();
  await expect(page.getByTestId('login')).toBeVisible();
  await expect.poll(() => session.id()).not.toBe(seededId);
  expect(await session.param('loggedIn')).toBeUndefined();
});

test('a login that lapses while the page is open: the header follows on time, without a reload', async ({ page, session }) => {
  const user = `bob-${nonce()}`;
  await session.seed({ user, loggedIn: true }, { expire: '+1h', paramExpire: { loggedIn: '4s' } });
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('user')).toHaveText(`Signed in as ${user}`);
  await markDocument(page);
  await expect(page.getByTestId('login')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('user')).toHaveCount(0);
  expect(await sameDocument(page)).toBe(true);
  expect(await session.param('loggedIn')).toBeUndefined();
  expect(await session.param('user')).toBe(user);
});

test('server-side changes (update, expireParam) reach the open page without a reload', async ({ page, session }) => {
  const user = `carol-${nonce()}`;
  await session.seed({ user, loggedIn: true, theme: 'light' }, { expire: '+1h' });
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('theme-toggle')).toHaveText('☾ Dark');
  await markDocument(page);

  // The demo's bus lives inside its server process; the page learns of a change made
  // elsewhere on its next fetch, which a window focus triggers (the provider refreshes on focus).
  await session.update((s) => void s.param('theme', 'dark'));
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(page.getByTestId('theme-toggle')).toHaveText('☀ Light');
  await expect(page.getByTestId('user')).toHaveText(`Signed in as ${user}`);

  await session.expireParam('loggedIn');
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(page.getByTestId('login')).toBeVisible();
  expect(await sameDocument(page)).toBe(true);
  expect(await session.params()).toMatchObject({ user, theme: 'dark' });
  expect(await session.param('loggedIn')).toBeUndefined();
});

test('a session expired now is gone for the page: the next visit starts a fresh one', async ({ page, session }) => {
  await session.seed({ user: `dave-${nonce()}`, loggedIn: true }, { expire: '+1h' });
  const seededId = await session.id();
  await session.expire();
  expect(await session.isStored()).toBe(false);
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('login')).toBeVisible();
  await expect.poll(() => session.id()).not.toBe(seededId);
  expect(await session.param('user')).toBeUndefined();
});
