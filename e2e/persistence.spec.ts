import { createTestSession } from '@isosession/playwright';
import { expect, test } from './support/test.js';
import type { Page } from '@playwright/test';
import { startDemoServer } from './support/demoServer.js';
import { cartSaved, hydrated, themeSaved } from './support/page.js';
import { sessionId } from './support/store.js';

// The session outlives the page: a reload, a new page, and a restart of the server keep the
// cart and the theme, and the theme is in the server's HTML (no flash of the wrong one).

async function fillCartAndGoDark(page: Page): Promise<void> {
  await hydrated(page);
  await page.getByTestId('add-mug').click();
  await page.getByTestId('add-cap').click();
  await cartSaved(page);
  await page.getByTestId('theme-toggle').click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await themeSaved(page);
}

async function expectKept(page: Page, html: string): Promise<void> {
  // In the HTML as the server sent it, before any script ran.
  expect(html).toMatch(/<html[^>]*data-theme="dark"/);
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('cart-count')).toHaveText('2');
}

test('reload and a new page keep the cart and the theme, rendered by the server', async ({ page, context, session }) => {
  await page.goto('/');
  await fillCartAndGoDark(page);
  const id = await sessionId(context);
  expect(await session.params()).toMatchObject({ theme: 'dark', cart: [{ sku: 'mug' }, { sku: 'cap' }] });

  const reloaded = await page.reload();
  await expectKept(page, (await reloaded?.text()) ?? '');

  const second = await context.newPage();
  const opened = await second.goto('/admin');
  expect(await opened?.text()).toMatch(/<html[^>]*data-theme="dark"/);
  const home = await second.goto('/');
  await expectKept(second, (await home?.text()) ?? '');
  expect(await sessionId(context)).toBe(id);
});

test('a restart of the demo server keeps the cart and the theme', async ({ browser, isosession }) => {
  let server = await startDemoServer();
  const context = await browser.newContext({ baseURL: server.url });
  const session = createTestSession(context, isosession, server.url);
  try {
    const page = await context.newPage();
    await page.goto('/');
    await fillCartAndGoDark(page);
    const id = await sessionId(context);

    await server.stop();
    server = await startDemoServer({ port: server.port });

    const reloaded = await page.reload();
    await expectKept(page, (await reloaded?.text()) ?? '');
    expect(await sessionId(context)).toBe(id);
    expect(await session.params()).toMatchObject({ theme: 'dark', cart: [{ sku: 'mug' }, { sku: 'cap' }] });
  } finally {
    await context.close();
    await server.stop();
  }
});
