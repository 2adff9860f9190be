import { createTestSession } from '@isosession/playwright';
import { cartSaved, hydrated } from './support/page.js';
import { isStored, sessionId, tagOf } from './support/store.js';
import { expect, test } from './support/test.js';

test('admin lists sessions, purges the expired ones, and a purged tab recovers to a fresh session', async ({ browser, isosession, baseURL }) => {
  const shopper = await browser.newContext();
  // The shopper's own context (not the test's): its session, as the server sees it.
  const shopperSession = createTestSession(shopper, isosession, baseURL);
  const admin = await browser.newContext();
  try {
    const shop = await shopper.newPage();
    await shop.goto('/');
    await hydrated(shop);
    await shop.getByTestId('add-mug').click();
    await cartSaved(shop);
    const id = await sessionId(shopper);
    const short = (await tagOf(id)).slice(0, 8);

    const page = await admin.newPage();
    await page.goto('/admin');
    const row = page.locator(`[data-testid="session-row"][data-session="${short}"]`);
    await expect(row).toHaveAttribute('data-expired', 'no');
    await expect(row).toContainText(/\d+ B/);
    expect(Number(await page.getByTestId('session-count').textContent())).toBeGreaterThanOrEqual(1);
    // Viewing pages stores nothing: the admin's own visit made no session and got no cookie.
    expect((await admin.cookies()).some((cookie) => cookie.name === 'CGISESSID')).toBe(false);

    // Server code shortens the shopper's idle expiry; a second later it has lapsed.
    await shopperSession.update((s) => s.expire('1s'));
    await expect
      .poll(
        async () => {
          await page.reload();
          return row.getAttribute('data-expired');
        },
        { timeout: 15_000 },
      )
      .toBe('yes');
    // Listing does not purge: the expired session is still stored until the button is pressed.
    expect(await isStored(id)).toBe(true);

    await page.getByTestId('purge').click();
    await expect(page.getByTestId('purge-result')).toHaveText(/Purged [1-9]\d* expired session/);
    await expect(row).toHaveCount(0);
    expect(await isStored(id)).toBe(false);

    // The shopper's tab hears of it and moves to a fresh, empty session without a reload; it is
    // stored (with a new id and cookie) at the first write, not before.
    await expect(shop.getByTestId('session-tag')).not.toHaveText(`${short}…`, { timeout: 15_000 });
    await expect(shop.getByTestId('cart-count')).toHaveText('0');
    await shop.getByTestId('add-mug').click();
    await cartSaved(shop);
    const fresh = await sessionId(shopper);
    expect(fresh).not.toBe(id);
    await expect(shop.getByTestId('session-tag')).toHaveText(`${(await tagOf(fresh)).slice(0, 8)}…`);
    expect(await shopperSession.params()).not.toBeNull();
  } finally {
    await shopper.close();
    await admin.close();
  }
});
