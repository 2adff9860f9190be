import { AxeBuilder } from '@axe-core/playwright';
import { cartSaved, hydrated, themeSaved } from './support/page.js';
import { expect, test } from './support/test.js';

// The demo as a newcomer judges it: on a phone, with a screen reader, with a slow network.

for (const path of ['/', '/admin']) {
  test(`${path}: no serious or critical accessibility violation (axe-core)`, async ({ page }) => {
    await page.goto(path);
    if (path === '/') await hydrated(page);
    const { violations } = await new AxeBuilder({ page }).analyze();
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((node) => node.target.join(' ')).join(', ')})`)).toEqual([]);
  });
}

test('at 375 px nothing runs off the screen, and the page has its h1', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto('/');
  await hydrated(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Shop');
});

test('every button says what it does: "Add Session mug to cart", "Remove Session mug from cart"; the name field has a visible label', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await expect(page.getByTestId('cart-empty')).toHaveText(/cart is empty/);
  await page.getByRole('button', { name: 'Add Session mug to cart', exact: true }).click();
  await expect(page.getByTestId('cart-empty')).toHaveCount(0);
  await cartSaved(page);
  await expect(page.getByRole('button', { name: 'Remove Session mug from cart', exact: true })).toBeVisible();
  await expect(page.getByText('Name', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Name')).toHaveAttribute('name', 'user');
});

test('a refused offer shows its name, never its bare code, until it is rolled back', async ({ page }) => {
  await page.goto('/?latency=300');
  await hydrated(page);
  await page.getByTestId('add-stale-vhs').click();
  // In the optimistic cart for the length of the round trip.
  await expect(page.getByTestId('cart-line')).toHaveText(/VHS rewinder \(discontinued\)/);
  await expect(page.getByTestId('cart-error')).toBeVisible();
  await expect(page.getByTestId('cart-line')).toHaveCount(0);
});

test('a refused login keeps what was typed; log out shows that it is working', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  await page.getByTestId('login-name').fill('not a valid name!');
  await page.getByTestId('login').click();
  await expect(page.getByRole('alert').filter({ hasText: 'Pick a name' })).toBeVisible();
  await expect(page.getByTestId('login-name')).toHaveValue('not a valid name!');

  await page.getByTestId('login-name').fill('erin');
  await page.getByTestId('login').click();
  await expect(page.getByTestId('user')).toHaveText('Signed in as erin');
  // Slow the action down so its pending state is observable.
  await page.route('**/*', async (route) => {
    if (route.request().method() === 'POST' && route.request().headers()['next-action']) await new Promise((resolve) => setTimeout(resolve, 400));
    await route.continue();
  });
  await page.getByTestId('logout').click();
  await expect(page.getByTestId('logout')).toHaveText('Logging out…');
  await expect(page.getByTestId('logout')).toBeDisabled();
  await expect(page.getByTestId('login')).toBeVisible();
});

test('the theme switches at once (optimistic) and is stored', async ({ page, session }) => {
  await page.goto('/?latency=300');
  await hydrated(page);
  await page.getByTestId('theme-toggle').click();
  // Well before the 300 ms round trip is over.
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark', { timeout: 150 });
  await themeSaved(page);
  expect(await session.param('theme')).toBe('dark');
});

test('/favicon.ico is served, and /admin never shows the session fallback', async ({ page, request }) => {
  const icon = await request.get('/favicon.ico');
  expect(icon.status()).toBe(200);
  expect(icon.headers()['content-type']).toMatch(/icon/);
  const admin = await page.goto('/admin');
  // What the server rendered (the fallback's text also rides in the RSC payload's scripts).
  const rendered = ((await admin?.text()) ?? '').replace(/<script[\s\S]*?<\/script>/g, '');
  expect(rendered).toContain('<h1>Sessions</h1>');
  expect(rendered).not.toContain('Starting a session');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sessions');
});
